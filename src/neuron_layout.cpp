#include "gcnn/neuron_layout.hpp"

#include <algorithm>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "gcnn/mover_exchange.hpp"

namespace gcnn {

#if defined(__AVX512F__) && defined(__AVX512VL__) && defined(__AVX512BW__)
#define GCNN_AVX512_SPLIT 1
#else
#define GCNN_AVX512_SPLIT 0
#endif

bool NeuronLayout::has_avx512_split() { return GCNN_AVX512_SPLIT != 0; }

NeuronLayout::NeuronLayout(const Ensemble& e)
    : K_(e.config().K), P_(e.comm().size()), me_(e.comm().rank()), a_lo_(e.a_lo()), n_local_(e.n_local()) {
  const size_t nb = static_cast<size_t>(P_) + 1;
  bin_hist_.assign(4 * nb, 0);
  bin_base_.assign(nb, nullptr);
  bin_fill_.assign(nb, 0);
  bin_travels_.assign(nb, 1);
  bin_travels_[static_cast<size_t>(me_)] = 0;
  bin_travels_[static_cast<size_t>(P_)] = 0;
  join_count_.assign(static_cast<size_t>(n_local_), 0);
  join_start_.assign(static_cast<size_t>(n_local_) + 1, 0);
}

double NeuronLayout::scratch_bytes() const {
  auto cap = [](const auto& v) { return static_cast<double>(v.capacity() * sizeof(v[0])); };
  return cap(joiners_) + cap(jkey_) + cap(jtmp_) + cap(jrank_) + cap(jdst_) + cap(sdst_) + cap(jord_) +
         cap(join_count_) + cap(join_start_);
}

void NeuronLayout::route_proposers(NeuronBlock& res, const int64_t* target, const int* dest, MoverExchange& ex) {
  switch (K_) {
    case 1: route<1>(res, target, dest, ex); break;
    case 2: route<2>(res, target, dest, ex); break;
    default: route<3>(res, target, dest, ex); break;
  }
}

// Bin sizes first (four interleaved histograms break the store-to-load chain
// on the few counters), then one branch-free pass writes every proposer's id
// to the cursor of its bin (the remote ones into the send buffer; bins me and
// P into a dummy slot that never advances), every one as a full joiner to the
// joiners' cursor, which only bin me advances, and every one to the
// reservoir's compaction cursor, which only bin P advances. With random
// destinations a branch here would mispredict half the time.
template <int K>
void NeuronLayout::route(NeuronBlock& res, const int64_t* tg, const int* bin, MoverExchange& ex) {
  const size_t nres = res.size();
  const int P = P_, me = me_;
  const size_t nb = static_cast<size_t>(P) + 1;
  std::fill(bin_hist_.begin(), bin_hist_.end(), 0);
  int64_t* h = bin_hist_.data();
  size_t r = 0;
  for (; r + 4 <= nres; r += 4)
    for (size_t u = 0; u < 4; ++u) ++h[u * nb + static_cast<size_t>(bin[r + u])];
  for (; r < nres; ++r) ++h[bin[r]];
  int64_t* count = h;
  for (size_t b = 0; b < nb; ++b) count[b] += h[nb + b] + h[2 * nb + b] + h[3 * nb + b];
  ex.prepare_send(count);
  const size_t local_joiners = static_cast<size_t>(count[me]);
  joiners_.resize(local_joiners + 1);  // + 1: the slot a non-joiner is written to last
  int64_t dummy[1];
  int64_t** base = bin_base_.data();
  int64_t* fill = bin_fill_.data();
  const uint8_t* travels = bin_travels_.data();
  for (int p = 0; p < P; ++p) { base[p] = ex.slot(p); fill[p] = 0; }
  base[me] = dummy;
  base[P] = dummy;
  fill[P] = 0;
  const int64_t* id = res.id.data();
  const float* c = res.c.data();
  const float* w[K];
  for (int k = 0; k < K; ++k) w[k] = res.w[k].data();
  // the same columns, written by the compaction (never ahead of the reads)
  int64_t* rid = res.id.data();
  float* rc = res.c.data();
  float* rw[K];
  for (int k = 0; k < K; ++k) rw[k] = res.w[k].data();
  Mover* jn = joiners_.data();
  size_t kept = 0, nj = 0;
  for (size_t i = 0; i < nres; ++i) {
    const int b = bin[i];
    base[b][fill[b]] = id[i];
    fill[b] += travels[b];
    Mover& m = jn[nj];
    m.a = tg[i];
    m.id = id[i];
    for (int k = 0; k < K; ++k) m.p.w[k] = w[k][i];
    m.p.c = c[i];
    nj += b == me;
    // in-place compaction: kept <= i
    rid[kept] = id[i];
    for (int k = 0; k < K; ++k) rw[k][kept] = w[k][i];
    rc[kept] = c[i];
    kept += b == P;
  }
  joiners_.resize(local_joiners);
  kept_ = kept;
}

void NeuronLayout::place_arrivals(NeuronBlock& res, const Buffer<Mover>& arrivals, const uint8_t* joins,
                                  int64_t leaving) {
  // kSlack: rebuild() may write that many slots past the last leaver.
  res.resize(kept_ + arrivals.size() + static_cast<size_t>(leaving) + kSlack);
  size_t nrn = kept_;
  // Branch-free: each arrival is written both as a joiner and into the
  // reservoir, and only the cursor its join test selects advances.
  size_t nj = joiners_.size();
  joiners_.resize(nj + arrivals.size() + 1);
  Mover* jn = joiners_.data();
  for (size_t r = 0; r < arrivals.size(); ++r) {
    const Mover& m = arrivals[r];
    const uint8_t ok = joins[r];
    jn[nj] = m;
    res.set(nrn, m.id, m.p);
    nj += ok;
    nrn += 1 - ok;
  }
  joiners_.resize(nj);
  res.resize(nrn + static_cast<size_t>(leaving) + kSlack);  // leavers are appended by rebuild()
}

// Joiners grouped by network, in the CSR order of join_start_. They arrive
// in random networks, and a one-pass scatter (or a gather through an index)
// costs a cache miss per joiner once they outgrow the cache. So: a stable
// two-pass radix partition, first into buckets of 2^shift consecutive
// networks (a hundred or so sequential write streams), then, bucket by
// bucket, into the networks, with the bucket's ~128 KB resident in L2.
void NeuronLayout::group_joiners(Buffer<Mover>& staging) {
  const int64_t n = n_local_, a0 = a_lo_;
  const size_t nj = joiners_.size();
  std::fill(join_count_.begin(), join_count_.end(), 0);
  const Mover* jn = joiners_.data();
  for (size_t r = 0; r < nj; ++r) ++join_count_[static_cast<size_t>(jn[r].a - a0)];
  join_start_[0] = 0;
  for (int64_t la = 0; la < n; ++la) join_start_[la + 1] = join_start_[la] + join_count_[la];
  if (nj == 0) return;
  int shift = 0;
  while ((static_cast<int64_t>(nj) << (shift + 1)) <= 4096 * n) ++shift;  // ~4096 movers (128 KB) per bucket
  const int64_t nb = ((n - 1) >> shift) + 1;
  staging.resize(nj);
  Mover* st = staging.data();
  int64_t* fill = join_count_.data();  // reused as fill pointers
  for (int64_t b = 0; b < nb; ++b) fill[b] = join_start_[b << shift];
  for (size_t r = 0; r < nj; ++r) st[fill[(jn[r].a - a0) >> shift]++] = jn[r];
  for (int64_t la = 0; la < n; ++la) fill[la] = join_start_[la];
  Mover* out = joiners_.data();
  for (size_t r = 0; r < nj; ++r) out[fill[st[r].a - a0]++] = st[r];
}

namespace {

// below[k] = number of the ns ids in sid smaller than key[k], for nk <= 64
// keys, padded to 8 NV lanes with INT64_MAX (whose counts are ignored). With
// NV fixed the counts live in registers across the loop over sid: no
// horizontal sum, no store-to-load chain.
template <int NV>
void count_below(const int64_t* key, const int64_t* sid, int64_t ns, int64_t* below) {
  int64_t r[8 * NV] = {};
  for (int64_t i = 0; i < ns; ++i) {
    const int64_t x = sid[i];
#pragma omp simd
    for (int k = 0; k < 8 * NV; ++k) r[k] += x < key[k];
  }
  for (int k = 0; k < 8 * NV; ++k) below[k] = r[k];
}
// key must have room for 64 entries; entries nk.. are overwritten.
void count_below(int64_t* key, int64_t nk, const int64_t* sid, int64_t ns, int64_t* below) {
  const int64_t nv = (nk + 7) / 8;
  for (int64_t k = nk; k < 8 * nv; ++k) key[k] = INT64_MAX;
  switch (nv) {
    case 0: break;
    case 1: count_below<1>(key, sid, ns, below); break;
    case 2: count_below<2>(key, sid, ns, below); break;
    case 3: count_below<3>(key, sid, ns, below); break;
    case 4: count_below<4>(key, sid, ns, below); break;
    case 5: count_below<5>(key, sid, ns, below); break;
    case 6: count_below<6>(key, sid, ns, below); break;
    case 7: count_below<7>(key, sid, ns, below); break;
    default: count_below<8>(key, sid, ns, below); break;
  }
}

// The rank of each joiner of a group in id order: ord[r] is the group index
// of the r-th smallest id, key[r] that id, key[nj] a sentinel. On the Vector
// path a group of up to 64 joiners (tens, typically) is ranked by counting
// smaller ids (branch-free, vectorised), which beats any comparison sort;
// larger groups (far-from-equilibrium transients) and the Scalar path use
// std::sort.
template <LayoutPath Path>
void order_group(const Mover* g, int64_t nj, int64_t* key, int64_t* tmp, int64_t* rank, uint32_t* ord) {
  for (int64_t k = 0; k < nj; ++k) tmp[k] = g[k].id;
  if (Path == LayoutPath::Vector && nj <= 64) {
    count_below(tmp, nj, tmp, nj, rank);  // ids are distinct: rank[k] is k's place
    for (int64_t k = 0; k < nj; ++k) ord[rank[k]] = static_cast<uint32_t>(k);
  } else {
    for (int64_t k = 0; k < nj; ++k) ord[k] = static_cast<uint32_t>(k);
    std::sort(ord, ord + nj, [tmp](uint32_t x, uint32_t y) { return tmp[x] < tmp[y]; });
  }
  for (int64_t r = 0; r < nj; ++r) key[r] = tmp[ord[r]];
  key[nj] = INT64_MAX;
}

// Final positions of nj <= 64 sorted joiner ids key[] and ns sorted stayer
// ids sid[] in their merged order, without the merge's serial chain of
// dependent compares: joiner r goes to r + (stayers below it); stayer i to
// i + (joiners below it), and a joiner is below stayer i exactly when at most
// i stayers are below the joiner, so a histogram of the first counts and a
// prefix sum give the second. key[] must have room for 64 entries.
void merge_positions_by_counting(int64_t* key, int64_t nj, const int64_t* sid, int64_t ns, int64_t* jdst,
                                 int64_t* sdst) {
  count_below(key, nj, sid, ns, jdst);
  for (int64_t i = 0; i <= ns; ++i) sdst[i] = 0;
  for (int64_t r = 0; r < nj; ++r) {
    ++sdst[jdst[r]];  // jdst[r] <= ns; the count at ns precedes no stayer
    jdst[r] += r;
  }
  int64_t before = 0;
  for (int64_t i = 0; i < ns; ++i) {
    before += sdst[i];
    sdst[i] = i + before;
  }
  key[nj] = INT64_MAX;
}

// The same positions by a merge of the two sorted lists (both end in an
// INT64_MAX sentinel), branch-free: both positions are written every step,
// and only the cursor of the smaller id advances.
void merge_positions_by_merging(const int64_t* key, int64_t nj, const int64_t* sid, int64_t ns, int64_t* jdst,
                                int64_t* sdst) {
  for (int64_t t = 0, k = 0, i = 0; t < nj + ns; ++t) {
    const int64_t tj = key[k] < sid[i];
    jdst[k] = t;
    sdst[i] = t;
    k += tj;
    i += 1 - tj;
  }
}

// Neuron columns (id, w_0..w_{K-1}, c) to read from or write into.
template <int K>
struct Src {
  const int64_t* id;
  const float* const* w;
  const float* c;
};
template <int K>
struct Dst {
  int64_t* id;
  float* const* w;
  float* c;
};

// Splits the active neurons [j0, j1) by their leave flags: stayers are
// written at `s`, leavers at `r`, in order, and both cursors advance. On the
// Vector path with AVX-512, eight neurons at a time are compressed in
// registers and stored as whole vectors (one store per column instead of one
// per neuron and column, and no cursor chain per neuron); such a store may
// write up to kSlack - 1 slots past a cursor, which the caller provides. The
// scalar loop writes every neuron to both outputs and advances one cursor.
template <int K, LayoutPath Path>
inline void split(int64_t j0, int64_t j1, const Src<K>& a, const uint8_t* leave, const Dst<K>& st, int64_t& s,
                  const Dst<K>& rs, int64_t& r) {
  int64_t j = j0;
#if GCNN_AVX512_SPLIT
  if constexpr (Path == LayoutPath::Vector) {
    for (; j + 8 <= j1; j += 8) {
      const __m128i lb = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(leave + j));
      const __mmask8 go = static_cast<__mmask8>(_mm_test_epi8_mask(lb, lb));
      const __mmask8 stay = static_cast<__mmask8>(~go);
      const __m512i id = _mm512_loadu_si512(a.id + j);
      _mm512_storeu_si512(st.id + s, _mm512_maskz_compress_epi64(stay, id));
      _mm512_storeu_si512(rs.id + r, _mm512_maskz_compress_epi64(go, id));
      for (int k = 0; k < K; ++k) {
        const __m256 w = _mm256_loadu_ps(a.w[k] + j);
        _mm256_storeu_ps(st.w[k] + s, _mm256_maskz_compress_ps(stay, w));
        _mm256_storeu_ps(rs.w[k] + r, _mm256_maskz_compress_ps(go, w));
      }
      const __m256 c = _mm256_loadu_ps(a.c + j);
      _mm256_storeu_ps(st.c + s, _mm256_maskz_compress_ps(stay, c));
      _mm256_storeu_ps(rs.c + r, _mm256_maskz_compress_ps(go, c));
      const int ngo = __builtin_popcount(go);
      s += 8 - ngo;
      r += ngo;
    }
  }
#endif
  for (; j < j1; ++j) {
    const int64_t v = a.id[j];
    st.id[s] = v;
    rs.id[r] = v;
    for (int k = 0; k < K; ++k) { st.w[k][s] = a.w[k][j]; rs.w[k][r] = a.w[k][j]; }
    st.c[s] = a.c[j];
    rs.c[r] = a.c[j];
    s += 1 - leave[j];
    r += leave[j];
  }
}

}  // namespace

void NeuronLayout::rebuild(Ensemble& e, const uint8_t* leave, int64_t leaving) {
  const bool vec = path_ == LayoutPath::Vector;
  switch (K_) {
    case 1: vec ? rebuild_networks<1, LayoutPath::Vector>(e, leave, leaving)
                : rebuild_networks<1, LayoutPath::Scalar>(e, leave, leaving); break;
    case 2: vec ? rebuild_networks<2, LayoutPath::Vector>(e, leave, leaving)
                : rebuild_networks<2, LayoutPath::Scalar>(e, leave, leaving); break;
    default: vec ? rebuild_networks<3, LayoutPath::Vector>(e, leave, leaving)
                 : rebuild_networks<3, LayoutPath::Scalar>(e, leave, leaving); break;
  }
  NeuronBlock& res = e.reservoir();
  res.resize(res.size() - kSlack);
  e.swap_active();
}

// New layout, per network, without data-dependent branches:
//  1. split(): the stayers go, in order, to the tail of the network's new
//     range, the leavers to the reservoir's next free slots;
//  2. the final position of each stayer and joiner in id order (by counting
//     for up to 64 joiners on the Vector path, else by merging);
//  3. the stayers move forward to their positions (never past an unmoved
//     one), and the joiners are written into the gaps.
// Pass 1 may write up to kSlack - 1 slots past the range (into the next
// network's, which is written later, or into the spare slots at the end),
// and the merge puts a sentinel in the first of them.
template <int K, LayoutPath Path>
void NeuronLayout::rebuild_networks(Ensemble& e, const uint8_t* leave, int64_t leaving) {
  const NeuronBlock& act = e.active();
  NeuronBlock& na = e.next_active();
  NeuronBlock& res = e.reservoir();
  const std::vector<int64_t>& off = e.offsets();
  std::vector<int64_t>& noff = e.next_offsets();
  const int64_t n = n_local_;

  noff[0] = 0;
  int64_t most_active = 0, most_joiners = 0;
  for (int64_t la = 0; la < n; ++la) {
    int64_t go = 0;
#pragma omp simd reduction(+ : go)
    for (int64_t j = off[la]; j < off[la + 1]; ++j) go += leave[j];
    const int64_t nj = join_start_[la + 1] - join_start_[la];
    noff[la + 1] = noff[la] + (off[la + 1] - off[la] - go) + nj;
    most_active = std::max(most_active, off[la + 1] - off[la]);
    most_joiners = std::max(most_joiners, nj);
  }
  na.resize(static_cast<size_t>(noff[n]) + kSlack);
  for (auto* v : {&sdst_, &jdst_}) v->resize(static_cast<size_t>(std::max({most_active, most_joiners, int64_t{64}})) + 1);
  for (auto* v : {&jkey_, &jtmp_, &jrank_}) v->resize(static_cast<size_t>(std::max<int64_t>(most_joiners, 64)) + 1);
  jord_.resize(static_cast<size_t>(most_joiners) + 1);

  const int64_t* aid = act.id.data();
  const float* ac = act.c.data();
  const float* aw[K];
  float* nw[K];
  float* rw[K];
  for (int k = 0; k < K; ++k) { aw[k] = act.w[k].data(); nw[k] = na.w[k].data(); rw[k] = res.w[k].data(); }
  int64_t* nid = na.id.data();
  float* nc = na.c.data();
  int64_t* rid = res.id.data();
  float* rc = res.c.data();
  int64_t* key = jkey_.data();
  uint32_t* ord = jord_.data();
  int64_t* sdst = sdst_.data();
  int64_t* jdst = jdst_.data();
  int64_t rpos = static_cast<int64_t>(res.size() - kSlack) - leaving;
  const Src<K> src{aid, aw, ac};
  for (int64_t la = 0; la < n; ++la) {
    const int64_t jb = join_start_[la], nj = join_start_[la + 1] - jb, base = noff[la];
    const Mover* jg = joiners_.data() + jb;
    order_group<Path>(jg, nj, key, jtmp_.data(), jrank_.data(), ord);
    int64_t s = base + nj;  // stayers go to the tail of the range
    split<K, Path>(off[la], off[la + 1], src, leave, Dst<K>{nid, nw, nc}, s, Dst<K>{rid, rw, rc}, rpos);
    if (nj == 0) continue;  // the stayers are in place
    const int64_t ns = s - base - nj;
    int64_t* sid = nid + base + nj;
    sid[ns] = INT64_MAX;
    if (Path == LayoutPath::Vector && nj <= 64)
      merge_positions_by_counting(key, nj, sid, ns, jdst, sdst);
    else
      merge_positions_by_merging(key, nj, sid, ns, jdst, sdst);
    for (int64_t i = 0; i < ns; ++i) {
      const int64_t d = base + sdst[i], from = base + nj + i;
      nid[d] = nid[from];
      for (int k = 0; k < K; ++k) nw[k][d] = nw[k][from];
      nc[d] = nc[from];
    }
    for (int64_t r = 0; r < nj; ++r) {
      const Mover& m = jg[ord[r]];
      const int64_t d = base + jdst[r];
      nid[d] = m.id;
      for (int k = 0; k < K; ++k) nw[k][d] = m.p.w[k];
      nc[d] = m.p.c;
    }
  }
  na.resize(static_cast<size_t>(noff[n]));
}

}  // namespace gcnn
