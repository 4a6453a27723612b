#include "gcnn/exchange_sweep.hpp"

#include <algorithm>
#include <cmath>

#include "gcnn/fastmath.hpp"

namespace gcnn {

ExchangeSweep::ExchangeSweep(const Ensemble& e) {
  const Config& c = e.config();
  inv_T_ = 1.0 / c.T;
  exp_minus_mu_T_ = std::exp(-c.mu / c.T);
  const int P = e.comm().size();
  for (auto* v : {&send_counts_, &recv_counts_, &send_displs_, &recv_displs_, &fill_}) v->assign(P, 0);
  join_count_.assign(static_cast<size_t>(e.n_local()), 0);
  join_start_.assign(static_cast<size_t>(e.n_local()) + 1, 0);
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
  }
  counters_.leave_proposed += nact;
  counters_.leave_accepted += left;
  leaving_ = left;
}

// Join test on the owner of m.a: u * e^{-mu/T} < 2cosh(z/T), i.e.
// u < e^{-(f - mu)/T}, with u from word 2 of the neuron's draw (words 0-1
// chose a). This is the right-hand side, 2cosh(z/T).
double ExchangeSweep::join_weight(const Ensemble& e, const Mover& m) const {
  const double* q = e.q(m.a - e.a_lo());
  double z = m.p.c;
  for (int k = 0; k < e.config().K; ++k) z += static_cast<double>(m.p.w[k]) * q[k];
  return fm::two_cosh(z * inv_T_);
}

void ExchangeSweep::run(Ensemble& e, uint64_t step) {
  const int K = e.config().K;
  const int P = e.comm().size();
  const int me = e.comm().rank();
  const Blocks& nets = e.network_blocks();
  const uint64_t M = static_cast<uint64_t>(e.config().M);
  double t = MPI_Wtime();
  auto lap = [&t](double& acc) {
    const double now = MPI_Wtime();
    acc += now - t;
    t = now;
  };

  switch (K) {
    case 1: decide_leaves<1>(e, step); break;
    case 2: decide_leaves<2>(e, step); break;
    default: decide_leaves<3>(e, step); break;
  }
  lap(timing_.leave);
  auto accept = [&](const Mover& m) {
    const auto r = e.rng().draw(Purpose::Exchange, step, static_cast<uint64_t>(m.id));
    return CounterRng::u01_32(r.v[2]) * exp_minus_mu_T_ < join_weight(e, m);
  };

  // Reservoir proposals: choose the target network (one draw per neuron),
  // decide local ones here and route the rest to the owner of the target.
  NeuronBlock& res = e.reservoir();
  const size_t nres = res.size();
  target_.resize(nres);
  dest_.resize(nres);
  keep_.resize(nres);
  {
    // Vectorised: a = floor(u M) with a 53-bit u (bias < M 2^-53), the join
    // uniform from word 2 of the same draw and, for targets on this rank, the
    // join test itself (q_a gathered).
    const CounterRng& rng = e.rng();
    const int64_t* id = res.id.data();
    int64_t* tg = target_.data();
    uint8_t* kp = keep_.data();
    const double Md = static_cast<double>(M);
    const int64_t Mmax = static_cast<int64_t>(M) - 1;
    const int64_t a_lo = e.a_lo(), n_loc = e.n_local();
    const double* qa = e.q(0);
    const float* c = res.c.data();
    const float* w0 = res.w[0].data();
    const float* w1 = K > 1 ? res.w[1].data() : w0;
    const float* w2 = K > 2 ? res.w[2].data() : w0;
    const double invT = inv_T_, emu = exp_minus_mu_T_;
#pragma omp simd
    for (size_t r = 0; r < nres; ++r) {
      const auto x = rng.draw(Purpose::Exchange, step, static_cast<uint64_t>(id[r]));
      const uint64_t bits = ((static_cast<uint64_t>(x.v[1]) << 32) | x.v[0]) >> 11;
      int64_t a = static_cast<int64_t>(static_cast<double>(bits) * 0x1p-53 * Md);
      a = a < Mmax ? a : Mmax;
      tg[r] = a;
      const int64_t la = a - a_lo;
      const bool local = la >= 0 && la < n_loc;
      const int64_t li = local ? la : 0;
      double z = c[r] + static_cast<double>(w0[r]) * qa[li * K];
      if (K > 1) z += static_cast<double>(w1[r]) * qa[li * K + (K > 1 ? 1 : 0)];
      if (K > 2) z += static_cast<double>(w2[r]) * qa[li * K + (K > 2 ? 2 : 0)];
      // keep = 2: local and accepted; 1: local and rejected; 0: remote
      const bool acc = CounterRng::u01_32(x.v[2]) * emu < fm::two_cosh(z * invT);
      kp[r] = static_cast<uint8_t>(local ? (acc ? 2 : 1) : 0);
    }
  }
  // Owner of each target from the table of block starts (no division).
  block_lo_.resize(static_cast<size_t>(P) + 1);
  for (int p = 0; p <= P; ++p) block_lo_[p] = nets.lo(p);
  const double ranks_per_net = static_cast<double>(P) / static_cast<double>(M);
  std::fill(send_counts_.begin(), send_counts_.end(), 0);
  joiners_.clear();
  for (size_t r = 0; r < nres; ++r) {
    if (keep_[r]) {  // target on this rank, already decided
      dest_[r] = me;
      if (keep_[r] == 2) {
        joiners_.push_back(Mover{target_[r], res.id[r], res.params(r)});
        keep_[r] = 0;
      }
      continue;
    }
    const int64_t a = target_[r];
    int d = std::min(P - 1, static_cast<int>(static_cast<double>(a) * ranks_per_net));
    while (block_lo_[d] > a) --d;
    while (block_lo_[d + 1] <= a) ++d;
    dest_[r] = d;
    ++send_counts_[d];
  }
  counters_.join_proposed += static_cast<int64_t>(nres);
  int ns = 0;
  for (int p = 0; p < P; ++p) { send_displs_[p] = ns; ns += send_counts_[p]; }
  send_.resize(static_cast<size_t>(ns));
  std::copy(send_displs_.begin(), send_displs_.end(), fill_.begin());
  size_t kept = 0;
  for (size_t r = 0; r < nres; ++r) {
    const int d = dest_[r];
    if (d != me) {
      send_[static_cast<size_t>(fill_[d]++)] = Mover{target_[r], res.id[r], res.params(r)};
    } else if (keep_[r]) {
      res.copy(kept++, res, r);  // in-place compaction: kept <= r
    }
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
  for (int p = 0; p < P; ++p) {
    send_counts_[p] *= sz;
    recv_counts_[p] *= sz;
    send_displs_[p] *= sz;
    recv_displs_[p] *= sz;
  }
  mpi_check(MPI_Alltoallv(send_.data(), send_counts_.data(), send_displs_.data(), MPI_BYTE, recv_.data(),
                          recv_counts_.data(), recv_displs_.data(), MPI_BYTE, e.comm().raw()),
            "MPI_Alltoallv(exchange movers)");
  counters_.moved_bytes += static_cast<int64_t>(ns) * sz;
  lap(timing_.communicate);

  // Arriving proposals; rejected ones join this rank's reservoir.
  res.resize(kept + recv_.size() + static_cast<size_t>(leaving_));
  size_t nrn = kept;
  for (const Mover& m : recv_) {
    if (accept(m)) joiners_.push_back(m);
    else res.set(nrn++, m.id, m.p);
  }
  counters_.join_accepted += static_cast<int64_t>(joiners_.size());
  res.resize(nrn + static_cast<size_t>(leaving_));  // leavers are appended by rebuild()
  sort_joiners(e);
  switch (K) {
    case 1: rebuild<1>(e); break;
    case 2: rebuild<2>(e); break;
    default: rebuild<3>(e); break;
  }
  e.swap_active();
  lap(timing_.rebuild);
  e.check_conservation();
}

// Joiners into `sorted_`, grouped by network (counting sort, O(J)) and in id
// order within a network.
void ExchangeSweep::sort_joiners(const Ensemble& e) {
  const int64_t n = e.n_local(), a0 = e.a_lo();
  std::fill(join_count_.begin(), join_count_.end(), 0);
  for (const Mover& m : joiners_) ++join_count_[static_cast<size_t>(m.a - a0)];
  join_start_[0] = 0;
  for (int64_t la = 0; la < n; ++la) join_start_[la + 1] = join_start_[la] + join_count_[la];
  sorted_.resize(joiners_.size());
  for (int64_t la = 0; la < n; ++la) join_count_[la] = join_start_[la];  // reuse as fill pointers
  for (const Mover& m : joiners_) sorted_[static_cast<size_t>(join_count_[static_cast<size_t>(m.a - a0)]++)] = m;
  for (int64_t la = 0; la < n; ++la) {
    Mover* b = sorted_.data() + join_start_[la];
    Mover* en = sorted_.data() + join_start_[la + 1];
    std::sort(b, en, [](const Mover& x, const Mover& y) { return x.id < y.id; });
  }
}

// New layout: per network, stayers (already in id order) merged with the
// sorted joiners; leavers appended to the reservoir. Raw pointers and K as a
// template parameter keep this a streaming copy.
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
  for (int64_t la = 0; la < n; ++la) {
    int64_t go = 0;
    for (int64_t j = off[la]; j < off[la + 1]; ++j) go += leave[j];
    noff[la + 1] = noff[la] + (off[la + 1] - off[la] - go) + (join_start_[la + 1] - join_start_[la]);
  }
  na.resize(static_cast<size_t>(noff[n]));

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
  int64_t rpos = static_cast<int64_t>(res.size()) - leaving_;
  const Mover* jn = sorted_.data();
  for (int64_t la = 0; la < n; ++la) {
    int64_t out = noff[la];
    int64_t j = off[la];
    const int64_t je = off[la + 1];
    int64_t jj = join_start_[la];
    const int64_t jje = join_start_[la + 1];
    for (; j < je; ++j) {
      if (leave[j]) {
        rid[rpos] = aid[j];
        for (int k = 0; k < K; ++k) rw[k][rpos] = aw[k][j];
        rc[rpos++] = ac[j];
        continue;
      }
      for (; jj < jje && jn[jj].id < aid[j]; ++jj, ++out) {
        nid[out] = jn[jj].id;
        for (int k = 0; k < K; ++k) nw[k][out] = jn[jj].p.w[k];
        nc[out] = jn[jj].p.c;
      }
      nid[out] = aid[j];
      for (int k = 0; k < K; ++k) nw[k][out] = aw[k][j];
      nc[out++] = ac[j];
    }
    for (; jj < jje; ++jj, ++out) {
      nid[out] = jn[jj].id;
      for (int k = 0; k < K; ++k) nw[k][out] = jn[jj].p.w[k];
      nc[out] = jn[jj].p.c;
    }
  }
}

}  // namespace gcnn
