// NeuronLayout (neuron_layout.hpp) moves neurons after the exchange rule has
// decided; it must produce one canonical layout whichever path it takes. Two
// copies of the same ensemble are driven through the same steps, one with
// the Vector layout path (production: AVX-512 compression, ordering and
// merging by counting in registers) and one with the Scalar path (one neuron
// at a time, std::sort, a plain merge). After every sweep the layouts must be
// identical bit for bit: every network's N_a, every neuron's id and
// parameters in order, q, and this rank's reservoir in order. A difference
// in layout would also change later trajectories (sums over a network run in
// stored order), so the comparison after several sweeps is strict.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "gcnn/boundary_loss.hpp"
#include "gcnn/ensemble.hpp"
#include "gcnn/exchange_sweep.hpp"
#include "gcnn/learning_step.hpp"
#include "test_util.hpp"

namespace {
using namespace gcnn;

// Bitwise equality of two neuron blocks, neuron by neuron in stored order.
void expect_same_neurons(const NeuronBlock& v, const NeuronBlock& s, int K, const std::string& where) {
  ASSERT_EQ(v.size(), s.size()) << where << ": neuron count";
  for (size_t j = 0; j < v.size(); ++j) {
    ASSERT_EQ(v.id[j], s.id[j]) << where << ": slot " << j;
    for (int k = 0; k < K; ++k)
      ASSERT_EQ(std::memcmp(&v.w[k][j], &s.w[k][j], sizeof(float)), 0) << where << ": w" << k << " of " << v.id[j];
    ASSERT_EQ(std::memcmp(&v.c[j], &s.c[j], sizeof(float)), 0) << where << ": c of " << v.id[j];
  }
}

void expect_same_layout(const Ensemble& v, const Ensemble& s, const std::string& where) {
  const int K = v.config().K;
  ASSERT_EQ(v.n_local(), s.n_local());
  for (int64_t la = 0; la < v.n_local(); ++la) {
    ASSERT_EQ(v.N(la), s.N(la)) << where << ": N_a of network " << v.a_lo() + la;
    ASSERT_EQ(v.begin(la), s.begin(la)) << where << ": offset of network " << v.a_lo() + la;
    ASSERT_EQ(std::memcmp(v.q(la), s.q(la), sizeof(double) * K), 0) << where << ": q of network " << v.a_lo() + la;
  }
  expect_same_neurons(v.active(), s.active(), K, where + ", networks");
  expect_same_neurons(v.reservoir(), s.reservoir(), K, where + ", reservoir");
}

// Runs `steps` learning steps with a sweep after each on two copies, one per
// layout path; mu_at(s) sets the chemical potential of sweep s (a schedule
// that empties and refills the networks forces groups of > 64 joiners).
template <class MuAt>
void compare_paths(const Config& cfg, uint64_t steps, MuAt mu_at, const std::string& name) {
  Comm comm;
  Ensemble ev(cfg, comm), es(cfg, comm);
  auto loss = make_boundary_loss(cfg);
  auto learn_v = make_learning_step(cfg, cfg, *loss), learn_s = make_learning_step(cfg, cfg, *loss);
  int64_t joined = 0, left = 0;
  for (uint64_t s = 0; s < steps; ++s) {
    Config phys = cfg;
    phys.mu = mu_at(s);
    ExchangeSweep sv(ev, phys), ss(es, phys);  // the rule takes mu at construction
    sv.set_layout_path(LayoutPath::Vector);
    ss.set_layout_path(LayoutPath::Scalar);
    learn_v->advance(ev, s);
    learn_s->advance(es, s);
    ev.set_step(s + 1);
    es.set_step(s + 1);
    sv.run(ev, s + 1);
    ss.run(es, s + 1);
    const std::string where = name + " after sweep " + std::to_string(s + 1);
    expect_same_layout(ev, es, where);
    if (testing::Test::HasFatalFailure()) return;
    ASSERT_EQ(sv.counters().join_accepted, ss.counters().join_accepted) << where;
    ASSERT_EQ(sv.counters().leave_accepted, ss.counters().leave_accepted) << where;
    joined += sv.counters().join_accepted;
    left += sv.counters().leave_accepted;
  }
  // The comparison means something only if neurons really moved.
  EXPECT_GT(comm.sum(joined), 0) << name;
  EXPECT_GT(comm.sum(left), 0) << name;
}

TEST(NeuronLayout, VectorAndScalarPathsGiveTheSameLayout) {
  if (Comm().root())
    std::printf("AVX-512 split compiled in: %s\n", NeuronLayout::has_avx512_split() ? "yes" : "no");
  // Networks of ~100 neurons (the eight-neuron compression runs), tens of
  // joiners per network at mu = 0 (ranked and merged by counting), and whole
  // networks' worth at once when mu jumps from -40 to +40 (std::sort and the
  // merge of > 64 joiners on both paths).
  for (const char* K : {"1", "2", "3"}) {
    const auto cfg = test::config({{"model.M", "29"}, {"model.rho", "100"}, {"model.K", K}, {"model.mu", "0"},
                                   {"learning.mode", "mean"}, {"learning.eta", "0.01"}, {"model.loss", "harmonic"}});
    compare_paths(cfg, 16, [](uint64_t s) { return (s / 3) % 4 == 1 ? -40.0 : (s / 3) % 4 == 2 ? 40.0 : 0.0; },
                  std::string("large networks K=") + K);
  }
  // The demo's regime: networks of a few neurons, every learning mode.
  for (const char* mode : {"mean", "sampled", "mala"}) {
    const auto cfg = test::config({{"model.M", "37"}, {"model.rho", "5"}, {"model.K", "2"}, {"model.mu", "0.5"},
                                   {"learning.mode", mode}, {"learning.eta", "0.01"}, {"model.periodic", "true"},
                                   {"model.loss", "none"}, {"grid.lo", "-3"}, {"grid.hi", "3"}});
    compare_paths(cfg, 20, [](uint64_t) { return 0.5; }, std::string("small networks ") + mode);
  }
}

}  // namespace
