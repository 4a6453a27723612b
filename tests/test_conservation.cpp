// docs/model.md §2 invariant: every neuron is in exactly one place at every step,
// across ranks; within a network neurons are kept in canonical (id) order;
// a neuron's parameters travel with it.
#include <gtest/gtest.h>

#include <algorithm>

#include "gcnn/boundary_loss.hpp"
#include "gcnn/ensemble.hpp"
#include "gcnn/exchange_sweep.hpp"
#include "gcnn/learning_step.hpp"
#include "test_util.hpp"

namespace {
using namespace gcnn;

void expect_every_neuron_once(const Ensemble& e, uint64_t step) {
  const Comm& comm = e.comm();
  const int64_t R = e.config().R();
  std::vector<int64_t> seen(static_cast<size_t>(R), 0);
  for (int64_t la = 0; la < e.n_local(); ++la) {
    for (int64_t j = e.begin(la); j < e.end(la); ++j) {
      ++seen[static_cast<size_t>(e.active().id[j])];
      if (j > e.begin(la)) {
        ASSERT_LT(e.active().id[j - 1], e.active().id[j]) << "not in canonical order";
      }
    }
  }
  for (auto id : e.reservoir().id) ++seen[static_cast<size_t>(id)];
  // theta_i is a function of i alone: every copy of a neuron in the sweep's
  // splits, merges and messages must carry it unchanged.
  const auto& c = e.config();
  auto check_params = [&](const NeuronBlock& b, const char* where) {
    for (size_t j = 0; j < b.size(); ++j) {
      const NeuronParams p = draw_neuron_params(e.rng(), static_cast<uint64_t>(b.id[j]), c.sigma_w, c.sigma_c);
      for (int k = 0; k < c.K; ++k) ASSERT_EQ(b.w[k][j], p.w[k]) << where << " neuron " << b.id[j] << " w" << k;
      ASSERT_EQ(b.c[j], p.c) << where << " neuron " << b.id[j] << " c";
    }
  };
  check_params(e.active(), "network");
  check_params(e.reservoir(), "reservoir");
  comm.sum(seen.data(), seen.size());
  for (int64_t i = 0; i < R; ++i) ASSERT_EQ(seen[i], 1) << "neuron " << i << " at step " << step;
}

TEST(Conservation, EveryNeuronInExactlyOnePlaceEveryStep) {
  Comm comm;
  for (const char* mode : {"mean", "sampled", "mala"}) {
    const auto cfg = test::config({{"model.M", "37"}, {"model.rho", "5"}, {"model.K", "2"}, {"model.mu", "0.5"},
                                   {"learning.mode", mode}, {"learning.eta", "0.01"}, {"model.periodic", "true"},
                                   {"model.loss", "none"}, {"grid.lo", "-3"}, {"grid.hi", "3"}});
    Ensemble e(cfg, comm);
    auto loss = make_boundary_loss(cfg);
    auto learn = make_learning_step(cfg, *loss);
    ExchangeSweep sweep(e, cfg);
    expect_every_neuron_once(e, 0);
    for (uint64_t s = 0; s < 150; ++s) {
      learn->advance(e, s);
      e.set_step(s + 1);
      sweep.run(e, s + 1);  // throws std::logic_error if sum N_a + N_res != R
      expect_every_neuron_once(e, s + 1);
      for (int64_t la = 0; la < e.n_local(); ++la)
        for (int k = 0; k < 2; ++k) {
          ASSERT_GE(e.q(la)[k], -3.0);
          ASSERT_LT(e.q(la)[k], 3.0);
        }
    }
    // Exchange really happened in both directions.
    EXPECT_GT(comm.sum(sweep.counters().join_accepted), 0);
    EXPECT_GT(comm.sum(sweep.counters().leave_accepted), 0);
  }
}

// Networks of ~100 neurons, so that the sweep's vectorised paths (eight
// neurons per step in the stayer/leaver split, joiner groups of up to 64
// ranked in registers) and the std::sort path for groups above 64 all run:
// mu far below f empties the networks, mu far above refills them, so whole
// networks' worth of neurons join at once.
TEST(Conservation, LargeNetworksAndMassJoins) {
  Comm comm;
  for (const char* K : {"1", "2", "3"}) {
    const auto cfg = test::config({{"model.M", "29"}, {"model.rho", "100"}, {"model.K", K}, {"model.mu", "0"},
                                   {"learning.mode", "mean"}, {"learning.eta", "0.01"}, {"model.loss", "harmonic"}});
    Ensemble e(cfg, comm);
    auto loss = make_boundary_loss(cfg);
    auto learn = make_learning_step(cfg, *loss);
    for (uint64_t s = 0; s < 24; ++s) {
      // mu = 0, -40, +40, 0, ... in blocks of three sweeps
      Config phys = cfg;
      phys.mu = (s / 3) % 4 == 1 ? -40.0 : (s / 3) % 4 == 2 ? 40.0 : 0.0;
      ExchangeSweep sweep(e, phys);  // mu fixed at construction
      learn->advance(e, s);
      e.set_step(s + 1);
      sweep.run(e, s + 1);
      expect_every_neuron_once(e, s + 1);
      if ((s / 3) % 4 == 1) {
        EXPECT_EQ(comm.sum(static_cast<int64_t>(e.active().size())), 0) << "mu = -40 empties every network";
      }
      if ((s / 3) % 4 == 2) {
        EXPECT_EQ(comm.sum(static_cast<int64_t>(e.reservoir().size())), 0) << "mu = +40 empties the reservoir";
      }
    }
  }
}

}  // namespace
