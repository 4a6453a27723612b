#include "gcnn/exchange_sweep.hpp"

#include <algorithm>

#include "gcnn/neuron_model.hpp"

namespace gcnn {

ExchangeSweep::ExchangeSweep(const Ensemble& e, const ModelParams& c, ExchangeTopology route)
    : rule_(c.T, c.mu), movers_(e, route), layout_(e) {}

double ExchangeSweep::scratch_bytes() const {
  auto cap = [](const auto& v) { return static_cast<double>(v.capacity() * sizeof(v[0])); };
  return cap(leave_) + cap(joins_) + cap(target_) + cap(dest_) + cap(chunk_) + cap(arrivals_) + movers_.scratch_bytes() +
         layout_.scratch_bytes();
}

// Reservoir neurons, one flat vectorised loop: each picks its network a
// uniformly; if a lives on this rank the join test is made here (q_a
// gathered), else the neuron travels to a's owner, which makes it. dest[r]
// says where proposer r goes: a's owner rank if remote, this rank if it
// joins here, P if it was rejected here (it stays in the reservoir).
template <int K>
void ExchangeSweep::propose(Ensemble& e, uint64_t step) {
  const NeuronBlock& res = e.reservoir();
  const size_t nres = res.size();
  target_.resize(nres);
  dest_.resize(nres);
  const FieldView<K> fv(res);
  const int64_t* id = res.id.data();
  int64_t* target = target_.data();
  int* dest = dest_.data();
  const CounterRng& rng = e.rng();
  const ExchangeRule rule = rule_;
  const int P = e.comm().size(), me = e.comm().rank(), stays = P;
  const int64_t M = e.config().M, a_lo = e.a_lo();
  const double Md = static_cast<double>(M);
  const double* q = e.q(0);
#pragma omp simd
  for (size_t r = 0; r < nres; ++r) {
    const auto x = ExchangeRule::draw(rng, step, id[r]);
    const int64_t a = ExchangeRule::proposed_network(x, M);
    const int64_t owner = network_owner(a, P, Md);
    const bool here = owner == me;
    const double z = fv.field(static_cast<int64_t>(r), q + (here ? a - a_lo : 0) * K);
    const bool joins = rule.joins(x, z);
    target[r] = a;
    dest[r] = static_cast<int>(here && !joins ? stays : owner);
  }
  counters_.join_proposed += static_cast<int64_t>(nres);
}

// Leave test for every network neuron, its uniform keyed by its own id.
// Two passes over L1-sized chunks: the fields z_j per network (cheap
// arithmetic), then one flat loop for the Philox draw and the two exp. A
// network holds only tens of neurons, and vectorising per network would leave
// the expensive part in scalar loop tails.
template <int K>
void ExchangeSweep::decide_leaves(const Ensemble& e, uint64_t step) {
  const NeuronBlock& act = e.active();
  const int64_t nact = static_cast<int64_t>(act.size());
  leave_.resize(act.size());
  const FieldView<K> fv(act);
  const int64_t* id = act.id.data();
  uint8_t* leave = leave_.data();
  double* z = chunk_.data();
  const CounterRng& rng = e.rng();
  const ExchangeRule rule = rule_;
  int64_t left = 0, la = 0;
  for (int64_t s = 0; s < nact; s += kChunk) {
    const int64_t cend = std::min(nact, s + kChunk);
    while (e.end(la) <= s) ++la;
    for (int64_t a = la; a < e.n_local() && e.begin(a) < cend; ++a) {
      double q[K];
      for (int k = 0; k < K; ++k) q[k] = e.q(a)[k];
      const int64_t b = std::max(s, e.begin(a)), en = std::min(cend, e.end(a));
#pragma omp simd
      for (int64_t j = b; j < en; ++j) z[j - s] = fv.field(j, q);
    }
    int64_t go_count = 0;
#pragma omp simd reduction(+ : go_count)
    for (int64_t j = s; j < cend; ++j) {
      const int go = rule.leaves(ExchangeRule::draw(rng, step, id[j]), z[j - s]);
      leave[j] = static_cast<uint8_t>(go);
      go_count += go;
    }
    left += go_count;
    movers_.progress();  // let the proposers' all-to-all progress
  }
  counters_.leave_proposed += nact;
  counters_.leave_accepted += left;
  leaving_ = left;
}

// The proposers that arrived from other ranks, as ids: each is rebuilt
// (network a, parameters) and its join test made with the same draw and rule
// as for a local target. Three passes: theta(id) in a vector loop
// (draw_neuron_params_fast); the ~1e-3 of ids whose float rounding it cannot
// vouch for through draw_neuron_params itself (libm, scalar), so the bits
// are those the sender held; then one vector loop for the Philox draw, a,
// the field at q_a and the test.
template <int K>
void ExchangeSweep::decide_arrivals(const Ensemble& e, uint64_t step) {
  const Buffer<int64_t>& ids = movers_.received();
  const size_t n = ids.size();
  arrivals_.resize(n);
  joins_.resize(n);
  const int64_t* id = ids.data();
  Mover* m = arrivals_.data();
  uint8_t* joins = joins_.data();
  const CounterRng& rng = e.rng();
  const double sigma_w = e.config().sigma_w, sigma_c = e.config().sigma_c;
  uint8_t* sure = joins;  // scratch until the join tests
  int64_t unsure = 0;
#pragma omp simd reduction(+ : unsure)
  for (size_t r = 0; r < n; ++r) {
    m[r].id = id[r];
    const bool ok = draw_neuron_params_fast(rng, static_cast<uint64_t>(id[r]), sigma_w, sigma_c, m[r].p);
    sure[r] = ok;
    unsure += !ok;
  }
  for (size_t r = 0; unsure > 0 && r < n; ++r)
    if (!sure[r]) {
      m[r].p = draw_neuron_params(rng, static_cast<uint64_t>(id[r]), sigma_w, sigma_c);
      --unsure;
    }
  const ExchangeRule rule = rule_;
  const double* q = e.q(0);
  const int64_t a_lo = e.a_lo(), M = e.config().M;
#pragma omp simd
  for (size_t r = 0; r < n; ++r) {
    const auto x = ExchangeRule::draw(rng, step, id[r]);
    const int64_t a = ExchangeRule::proposed_network(x, M);
    m[r].a = a;
    const double* qa = q + (a - a_lo) * K;
    double z = m[r].p.c;
    for (int k = 0; k < K; ++k) z += static_cast<double>(m[r].p.w[k]) * qa[k];
    joins[r] = rule.joins(x, z);
  }
}

void ExchangeSweep::run(Ensemble& e, uint64_t step) {
  const int K = e.config().K;
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
  layout_.route_proposers(e.reservoir(), target_.data(), dest_.data(), movers_);
  lap(timing_.propose);

  movers_.start();
  counters_.moved_bytes += movers_.sent() * kWireBytes;
  lap(timing_.communicate);

  switch (K) {
    case 1: decide_leaves<1>(e, step); break;
    case 2: decide_leaves<2>(e, step); break;
    default: decide_leaves<3>(e, step); break;
  }
  lap(timing_.leave);
  movers_.finish();
  lap(timing_.communicate);

  switch (K) {
    case 1: decide_arrivals<1>(e, step); break;
    case 2: decide_arrivals<2>(e, step); break;
    default: decide_arrivals<3>(e, step); break;
  }
  layout_.place_arrivals(e.reservoir(), arrivals_, joins_.data(), leaving_);
  counters_.join_accepted += layout_.joiners();
  layout_.group_joiners(arrivals_);  // the arrivals are placed: their buffer is free
  lap(timing_.arrive);

  layout_.rebuild(e, leave_.data(), leaving_);
  lap(timing_.rebuild);
  e.check_conservation();
}

RestartRecord ExchangeSweep::write_restart() const {
  RestartRecord r;
  r.put("join_proposed", counters_.join_proposed);
  r.put("join_accepted", counters_.join_accepted);
  r.put("leave_proposed", counters_.leave_proposed);
  r.put("leave_accepted", counters_.leave_accepted);
  return r;
}

void ExchangeSweep::read_restart(const RestartRecord& r) {
  counters_.join_proposed = r.get("join_proposed");
  counters_.join_accepted = r.get("join_accepted");
  counters_.leave_proposed = r.get("leave_proposed");
  counters_.leave_accepted = r.get("leave_accepted");
}

std::string ExchangeSweep::check_restart(const RestartState& all) {
  std::string why;
  const RestartRecord* rp = find_record(all, "exchange", &why);
  if (!rp) return why;
  const RestartRecord& r = *rp;
  why = check_counts(r, {"join_proposed", "join_accepted", "leave_proposed", "leave_accepted"});
  if (why.empty()) why = check_at_most(r, "join_accepted", r, "join_proposed");
  if (why.empty()) why = check_at_most(r, "leave_accepted", r, "leave_proposed");
  return why;
}

}  // namespace gcnn
