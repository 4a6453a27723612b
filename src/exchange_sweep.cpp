#include "gcnn/exchange_sweep.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "gcnn/fastmath.hpp"

namespace gcnn {

ExchangeSweep::ExchangeSweep(const Ensemble& e, const ModelParams& c) {
  inv_T_ = 1.0 / c.T;
  exp_minus_mu_T_ = std::exp(-c.mu / c.T);
  const int P = e.comm().size();
  for (auto* v : {&send_counts_, &recv_counts_, &send_displs_, &recv_displs_}) v->assign(P, 0);
  bin_hist_.assign(4 * (static_cast<size_t>(P) + 1), 0);
  bin_base_.assign(static_cast<size_t>(P) + 1, nullptr);
  bin_fill_.assign(static_cast<size_t>(P) + 1, 0);
  join_count_.assign(static_cast<size_t>(e.n_local()), 0);
  join_start_.assign(static_cast<size_t>(e.n_local()) + 1, 0);
  // propose() finds a network's owner rank in double arithmetic, exact
  // while (M + 1) P < 2^53; and the closed form must match the blocks.
  if (static_cast<double>(c.M + 1) * P >= 0x1p53)
    throw std::runtime_error("exchange sweep: M * ranks must be below 2^53");
  for (int p = 0; p < P; ++p)
    if (e.network_blocks().lo(p) != (static_cast<__int128>(c.M) * p) / P)
      throw std::logic_error("exchange sweep: network blocks are not lo(d) = floor(d M / P)");
}

double ExchangeSweep::scratch_bytes() const {
  auto cap = [](const auto& v) { return static_cast<double>(v.capacity() * sizeof(v[0])); };
  return cap(leave_) + cap(arrived_ok_) + cap(target_) + cap(dest_) + cap(send_) + cap(recv_) + cap(joiners_) +
         cap(jkey_) + cap(jtmp_) + cap(jrank_) + cap(jdst_) + cap(sdst_) + cap(jord_) +
         cap(chunk_) + cap(join_count_) + cap(join_start_);
}

// Leave test for every active neuron: u * 2cosh(z/T) < e^{-mu/T}
// is u < e^{(f - mu)/T}. The uniform is keyed by the neuron's own id.
//
// Two passes over L1-sized chunks: the fields y_j = z_j/T per network (cheap
// arithmetic), then one flat loop for the Philox draw and the two exp. A
// network holds only tens of neurons, and vectorising per network would leave
// the expensive part in scalar loop tails.
template <int K>
void ExchangeSweep::decide_leaves(Ensemble& e, uint64_t step) {
  const NeuronBlock& act = e.active();
  const int64_t nact = static_cast<int64_t>(act.size());
  leave_.resize(act.size());
  const FieldView<K> fv(act);
  const int64_t* id = act.id.data();
  uint8_t* leave = leave_.data();
  double* y = chunk_.data();
  const CounterRng& rng = e.rng();
  const double invT = inv_T_, emu = exp_minus_mu_T_;
  int64_t left = 0, la = 0;
  for (int64_t s = 0; s < nact; s += kChunk) {
    const int64_t cend = std::min(nact, s + kChunk);
    while (e.end(la) <= s) ++la;
    for (int64_t a = la; a < e.n_local() && e.begin(a) < cend; ++a) {
      double q[K];
      for (int k = 0; k < K; ++k) q[k] = e.q(a)[k];
      const int64_t b = std::max(s, e.begin(a)), en = std::min(cend, e.end(a));
#pragma omp simd
      for (int64_t j = b; j < en; ++j) y[j - s] = fv.field(j, q) * invT;
    }
    int64_t go_count = 0;
#pragma omp simd reduction(+ : go_count)
    for (int64_t j = s; j < cend; ++j) {
      const double u = CounterRng::u01_32(rng.draw(Purpose::Exchange, step, static_cast<uint64_t>(id[j])).v[0]);
      const int go = u * fm::two_cosh(y[j - s]) < emu;
      leave[j] = static_cast<uint8_t>(go);
      go_count += go;
    }
    left += go_count;
    if (pending_ != MPI_REQUEST_NULL) {  // let the proposers' all-to-all progress
      int done = 0;
      mpi_check(MPI_Test(&pending_, &done, MPI_STATUS_IGNORE), "MPI_Test(exchange movers)");
    }
  }
  counters_.leave_proposed += nact;
  counters_.leave_accepted += left;
  leaving_ = left;
}

// Reservoir proposals, one flat vectorised loop: the target a = floor(u M)
// from a 53-bit u (bias < M 2^-53), its owner rank in closed form, and for
// targets on this rank the join test itself (q_a gathered). Each proposer
// gets a bin: its owner rank d if remote, this rank if local and accepted
// (a joiner), P if local and rejected (it stays). Then one branch-free pass
// writes every proposer to the cursor of its bin (the remote ones into the
// send buffer, the joiners into joiners_, bin P into a dummy slot) and every
// one to the reservoir's compaction cursor, which only bin P advances. With
// random destinations a branch here would mispredict half the time.
template <int K>
void ExchangeSweep::propose(Ensemble& e, uint64_t step) {
  NeuronBlock& res = e.reservoir();
  const size_t nres = res.size();
  target_.resize(nres);
  dest_.resize(nres);
  const CounterRng& rng = e.rng();
  const int64_t* id = res.id.data();
  const float* c = res.c.data();
  const float* w[K];
  for (int k = 0; k < K; ++k) w[k] = res.w[k].data();
  // the same columns, written by the compaction (never ahead of the reads)
  int64_t* rid = res.id.data();
  float* rc = res.c.data();
  float* rw[K];
  for (int k = 0; k < K; ++k) rw[k] = res.w[k].data();
  int64_t* tg = target_.data();
  int* bin = dest_.data();
  const int P = e.comm().size(), me = e.comm().rank();
  const int64_t M = e.config().M, a_lo = e.a_lo();
  const double Md = static_cast<double>(M);
  const double* qa = e.q(0);
  const double invT = inv_T_, emu = exp_minus_mu_T_;
#pragma omp simd
  for (size_t r = 0; r < nres; ++r) {
    const auto x = rng.draw(Purpose::Exchange, step, static_cast<uint64_t>(id[r]));
    const uint64_t bits = ((static_cast<uint64_t>(x.v[1]) << 32) | x.v[0]) >> 11;
    int64_t a = static_cast<int64_t>(static_cast<double>(bits) * 0x1p-53 * Md);
    a = a < M - 1 ? a : M - 1;
    tg[r] = a;
    // Owner: with lo(d) = floor(dM/P), the largest d with lo(d) <= a is
    // floor(N/M), N = (a+1)P - 1. The double quotient floors to the same
    // integer: a non-integer N/M lies at least 1/M from the integers, and
    // the division's rounding error is below N/M 2^-53 < 1/M (N < 2^53 is
    // checked in the constructor). No gather of block bounds is needed.
    int64_t d = static_cast<int64_t>(static_cast<double>((a + 1) * P - 1) / Md);
    d = d < P - 1 ? d : P - 1;
    const bool local = d == me;
    const int64_t la = local ? a - a_lo : 0;
    double z = c[r];
    for (int k = 0; k < K; ++k) z += static_cast<double>(w[k][r]) * qa[la * K + k];
    const bool acc = CounterRng::u01_32(x.v[2]) * emu < fm::two_cosh(z * invT);
    bin[r] = static_cast<int>(local && !acc ? P : d);
  }
  // Bin sizes; four interleaved histograms break the store-to-load chain on
  // the few counters.
  const size_t nb = static_cast<size_t>(P) + 1;
  std::fill(bin_hist_.begin(), bin_hist_.end(), 0);
  int64_t* h = bin_hist_.data();
  size_t r = 0;
  for (; r + 4 <= nres; r += 4)
    for (size_t u = 0; u < 4; ++u) ++h[u * nb + static_cast<size_t>(bin[r + u])];
  for (; r < nres; ++r) ++h[bin[r]];
  int64_t* count = h;
  for (size_t b = 0; b < nb; ++b) count[b] += h[nb + b] + h[2 * nb + b] + h[3 * nb + b];
  int ns = 0;
  for (int p = 0; p < P; ++p) {
    send_counts_[p] = p == me ? 0 : static_cast<int>(count[p]);
    send_displs_[p] = ns;
    ns += send_counts_[p];
  }
  send_.resize(static_cast<size_t>(ns));
  joiners_.resize(static_cast<size_t>(count[me]));  // the local joiners; arrivals are appended in run()
  Mover dummy[1];
  Mover** base = bin_base_.data();
  int64_t* fill = bin_fill_.data();
  for (int p = 0; p < P; ++p) { base[p] = send_.data() + send_displs_[p]; fill[p] = 0; }
  base[me] = joiners_.data();
  base[P] = dummy;
  fill[P] = 0;
  size_t kept = 0;
  for (size_t i = 0; i < nres; ++i) {
    const int b = bin[i];
    Mover& m = base[b][fill[b]];
    m.a = tg[i];
    m.id = id[i];
    for (int k = 0; k < K; ++k) m.p.w[k] = w[k][i];
    m.p.c = c[i];
    fill[b] += b != P;
    // in-place compaction: kept <= i
    rid[kept] = id[i];
    for (int k = 0; k < K; ++k) rw[k][kept] = w[k][i];
    rc[kept] = c[i];
    kept += b == P;
  }
  kept_ = kept;
  counters_.join_proposed += static_cast<int64_t>(nres);
}

// Join test for proposers that arrived from other ranks, vectorised over the
// arrivals; the uniform is word 2 of the neuron's own draw (words 0-1 chose a).
template <int K>
void ExchangeSweep::decide_arrivals(const Ensemble& e, uint64_t step) {
  const size_t n = recv_.size();
  arrived_ok_.resize(n);
  const Mover* m = recv_.data();
  uint8_t* ok = arrived_ok_.data();
  const CounterRng& rng = e.rng();
  const double* qa = e.q(0);
  const int64_t a_lo = e.a_lo();
  const double invT = inv_T_, emu = exp_minus_mu_T_;
#pragma omp simd
  for (size_t r = 0; r < n; ++r) {
    const auto x = rng.draw(Purpose::Exchange, step, static_cast<uint64_t>(m[r].id));
    const int64_t la = m[r].a - a_lo;
    double z = m[r].p.c;
    for (int k = 0; k < K; ++k) z += static_cast<double>(m[r].p.w[k]) * qa[la * K + k];
    ok[r] = CounterRng::u01_32(x.v[2]) * emu < fm::two_cosh(z * invT);
  }
}

void ExchangeSweep::run(Ensemble& e, uint64_t step) {
  const int K = e.config().K;
  const int P = e.comm().size();
  double t = MPI_Wtime();
  auto lap = [&t](double& acc) {
    const double now = MPI_Wtime();
    acc += now - t;
    t = now;
  };

  // The proposals go first, so that their all-to-all can travel while the
  // leave tests run (the two touch different neurons and draws).
  switch (K) {
    case 1: propose<1>(e, step); break;
    case 2: propose<2>(e, step); break;
    default: propose<3>(e, step); break;
  }
  lap(timing_.propose);

  // One all-to-all of the proposers (counts first, then the payload).
  mpi_check(MPI_Alltoall(send_counts_.data(), 1, MPI_INT, recv_counts_.data(), 1, MPI_INT, e.comm().raw()),
            "MPI_Alltoall(exchange counts)");
  int nr = 0;
  for (int p = 0; p < P; ++p) { recv_displs_[p] = nr; nr += recv_counts_[p]; }
  recv_.resize(static_cast<size_t>(nr));
  static_assert(sizeof(Mover) % 8 == 0);
  const int sz = static_cast<int>(sizeof(Mover));
  int ns = 0;
  for (int p = 0; p < P; ++p) {
    ns += send_counts_[p];
    send_counts_[p] *= sz;
    recv_counts_[p] *= sz;
    send_displs_[p] *= sz;
    recv_displs_[p] *= sz;
  }
  mpi_check(MPI_Ialltoallv(send_.data(), send_counts_.data(), send_displs_.data(), MPI_BYTE, recv_.data(),
                           recv_counts_.data(), recv_displs_.data(), MPI_BYTE, e.comm().raw(), &pending_),
            "MPI_Ialltoallv(exchange movers)");
  counters_.moved_bytes += static_cast<int64_t>(ns) * sz;
  lap(timing_.communicate);

  switch (K) {
    case 1: decide_leaves<1>(e, step); break;
    case 2: decide_leaves<2>(e, step); break;
    default: decide_leaves<3>(e, step); break;
  }
  lap(timing_.leave);
  mpi_check(MPI_Wait(&pending_, MPI_STATUS_IGNORE), "MPI_Wait(exchange movers)");
  lap(timing_.communicate);

  // Arriving proposals; rejected ones join this rank's reservoir.
  switch (K) {
    case 1: decide_arrivals<1>(e, step); break;
    case 2: decide_arrivals<2>(e, step); break;
    default: decide_arrivals<3>(e, step); break;
  }
  NeuronBlock& res = e.reservoir();
  // kSlack: rebuild() may write that many slots past the last leaver.
  res.resize(kept_ + recv_.size() + static_cast<size_t>(leaving_) + kSlack);
  size_t nrn = kept_;
  {
    // Branch-free: each arrival is written both as a joiner and into the
    // reservoir, and only the cursor its join test selects advances.
    size_t nj = joiners_.size();
    joiners_.resize(nj + recv_.size() + 1);
    Mover* jn = joiners_.data();
    for (size_t r = 0; r < recv_.size(); ++r) {
      const Mover& m = recv_[r];
      const uint8_t ok = arrived_ok_[r];
      jn[nj] = m;
      res.set(nrn, m.id, m.p);
      nj += ok;
      nrn += 1 - ok;
    }
    joiners_.resize(nj);
  }
  counters_.join_accepted += static_cast<int64_t>(joiners_.size());
  res.resize(nrn + static_cast<size_t>(leaving_) + kSlack);  // leavers are appended by rebuild()
  group_joiners(e);
  lap(timing_.arrive);
  switch (K) {
    case 1: rebuild<1>(e); break;
    case 2: rebuild<2>(e); break;
    default: rebuild<3>(e); break;
  }
  res.resize(res.size() - kSlack);
  e.swap_active();
  lap(timing_.rebuild);
  e.check_conservation();
}

// Joiners grouped by network, in the CSR order of join_start_. They arrive
// in random networks, and a one-pass scatter (or a gather through an index)
// costs a cache miss per joiner once they outgrow the cache. So: a stable
// two-pass radix partition, first into buckets of 2^shift consecutive
// networks (a hundred or so sequential write streams), then, bucket by
// bucket, into the networks, with the bucket's ~128 KB resident in L2.
void ExchangeSweep::group_joiners(const Ensemble& e) {
  const int64_t n = e.n_local(), a0 = e.a_lo();
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
  // Pass 1 stages into the send buffer: the all-to-all has completed, and
  // joiners outnumber the remote proposers, so this costs no extra memory.
  send_.resize(nj);
  Mover* st = send_.data();
  int64_t* fill = join_count_.data();  // reused as fill pointers
  for (int64_t b = 0; b < nb; ++b) fill[b] = join_start_[b << shift];
  for (size_t r = 0; r < nj; ++r) st[fill[(jn[r].a - a0) >> shift]++] = jn[r];
  for (int64_t la = 0; la < n; ++la) fill[la] = join_start_[la];
  Mover* out = joiners_.data();
  for (size_t r = 0; r < nj; ++r) out[fill[st[r].a - a0]++] = st[r];
}

// below[k] = number of the ns ids in sid smaller than key[k], for nk <= 64
// keys, padded to 8 NV lanes with INT64_MAX (whose counts are ignored). With
// NV fixed the counts live in registers across the loop over sid: no
// horizontal sum, no store-to-load chain.
template <int NV>
static void count_below(const int64_t* key, const int64_t* sid, int64_t ns, int64_t* below) {
  int64_t r[8 * NV] = {};
  for (int64_t i = 0; i < ns; ++i) {
    const int64_t x = sid[i];
#pragma omp simd
    for (int k = 0; k < 8 * NV; ++k) r[k] += x < key[k];
  }
  for (int k = 0; k < 8 * NV; ++k) below[k] = r[k];
}
// key must have room for 64 entries; entries nk.. are overwritten.
static void count_below(int64_t* key, int64_t nk, const int64_t* sid, int64_t ns, int64_t* below) {
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
// of the r-th smallest id, key[r] that id, key[nj] a sentinel. A group holds
// tens of joiners, where counting smaller ids (branch-free, vectorised)
// beats any comparison sort; groups of more than 64 (far-from-equilibrium
// transients) use std::sort.
static void order_group(const Mover* g, int64_t nj, int64_t* key, int64_t* tmp, int64_t* rank, uint32_t* ord) {
  for (int64_t k = 0; k < nj; ++k) tmp[k] = g[k].id;
  if (nj <= 64) {
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
static void merge_positions(int64_t* key, int64_t nj, const int64_t* sid, int64_t ns, int64_t* jdst, int64_t* sdst) {
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
// written at `s`, leavers at `r`, in order, and both cursors advance. Where
// AVX-512 is available, eight neurons at a time are compressed in registers
// and stored as whole vectors (one store per column instead of one per
// neuron and column, and no cursor chain per neuron); such a store may write
// up to kSlack - 1 slots past a cursor, which the caller provides. The
// scalar path writes every neuron to both outputs and advances one cursor.
// Both paths give the same layout.
template <int K>
inline void split(int64_t j0, int64_t j1, const Src<K>& a, const uint8_t* leave, const Dst<K>& st, int64_t& s,
                  const Dst<K>& rs, int64_t& r) {
  int64_t j = j0;
#if defined(__AVX512F__) && defined(__AVX512VL__) && defined(__AVX512BW__)
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

// New layout, per network, without data-dependent branches:
//  1. split(): the stayers go, in order, to the tail of the network's new
//     range, the leavers to the reservoir's next free slots;
//  2. the final position of each stayer and joiner in id order: by counting
//     (merge_positions) for up to 64 joiners, else by a branch-free merge
//     (both positions are written every step, and only the cursor of the
//     smaller id advances);
//  3. the stayers move forward to their positions (never past an unmoved
//     one), and the joiners are written into the gaps.
// Pass 1 may write up to kSlack - 1 slots past the range (into the next
// network's, which is written later, or into the spare slots at the end),
// and the merge puts a sentinel in the first of them.
template <int K>
void ExchangeSweep::rebuild(Ensemble& e) {
  const NeuronBlock& act = e.active();
  NeuronBlock& na = e.next_active();
  NeuronBlock& res = e.reservoir();
  const std::vector<int64_t>& off = e.offsets();
  std::vector<int64_t>& noff = e.next_offsets();
  const int64_t n = e.n_local();
  const uint8_t* leave = leave_.data();

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
  int64_t rpos = static_cast<int64_t>(res.size() - kSlack) - leaving_;
  const Src<K> src{aid, aw, ac};
  for (int64_t la = 0; la < n; ++la) {
    const int64_t jb = join_start_[la], nj = join_start_[la + 1] - jb, base = noff[la];
    const Mover* jg = joiners_.data() + jb;
    order_group(jg, nj, key, jtmp_.data(), jrank_.data(), ord);
    int64_t s = base + nj;  // stayers go to the tail of the range
    split<K>(off[la], off[la + 1], src, leave, Dst<K>{nid, nw, nc}, s, Dst<K>{rid, rw, rc}, rpos);
    if (nj == 0) continue;  // the stayers are in place
    const int64_t ns = s - base - nj;
    int64_t* sid = nid + base + nj;
    sid[ns] = INT64_MAX;
    if (nj <= 64) {
      merge_positions(key, nj, sid, ns, jdst, sdst);
    } else {
      for (int64_t t = 0, k = 0, i = 0; t < nj + ns; ++t) {
        const int64_t tj = key[k] < sid[i];
        jdst[k] = t;
        sdst[i] = t;
        k += tj;
        i += 1 - tj;
      }
    }
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
