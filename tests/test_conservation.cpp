// MODEL.md §2 invariant: every neuron is in exactly one place at every step,
// across ranks; within a network neurons are kept in canonical (id) order.
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
    ExchangeSweep sweep(e);
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

}  // namespace
