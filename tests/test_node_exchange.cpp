// The node-aware route of the proposers' exchange (mover_exchange.hpp) must
// deliver exactly what the flat all-to-all delivers, in the same canonical
// order (by source rank, then in the source's send order), on any rank count
// and any ranks-per-node. Pseudo-nodes of k consecutive ranks
// (ExchangeTopology{k}) exercise the two-level route on one machine, with
// uneven nodes where k does not divide P.
//  1. MoverExchange alone: every rank sends a pattern of ids that names
//     (source, destination, index), with counts that vary by pair and
//     include zeros; every rank checks the ids it received one by one.
//  2. ExchangeSweep: two copies of an ensemble, one per route, driven
//     through the same learning steps and sweeps; after every sweep the
//     layouts (networks, q, this rank's reservoir in stored order) are
//     identical bit for bit.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "gcnn/boundary_loss.hpp"
#include "gcnn/ensemble.hpp"
#include "gcnn/exchange_sweep.hpp"
#include "gcnn/learning_step.hpp"
#include "gcnn/mover_exchange.hpp"
#include "test_util.hpp"

namespace {
using namespace gcnn;

// Movers from rank s to rank d in round `round`: varies by pair, zero for
// some pairs (never for all), and never sent to oneself.
int64_t pattern_count(int s, int d, int round) { return s == d ? 0 : (7 * s + 3 * d + round) % 5 * 3; }
int64_t pattern_id(int s, int d, int64_t i) { return (int64_t{s} << 40) | (int64_t{d} << 20) | i; }

TEST(NodeExchange, DeliversTheFlatRoutesArrivalsInCanonicalOrder) {
  Comm comm;
  const int P = comm.size(), me = comm.rank();
  const auto cfg = test::config({{"model.M", "23"}, {"model.rho", "2"}, {"model.K", "1"}});
  Ensemble e(cfg, comm);
  for (int k = 1; k <= P; ++k) {
    MoverExchange ex(e, ExchangeTopology{k});
    ASSERT_TRUE(ex.node_aware()) << "pseudo-nodes force the two-level route";
    ASSERT_EQ(ex.nodes(), (P + k - 1) / k) << k << " ranks per node";
    for (int round = 0; round < 3; ++round) {
      std::vector<int64_t> count(P);
      for (int d = 0; d < P; ++d) count[d] = pattern_count(me, d, round);
      ex.prepare_send(count.data());
      for (int d = 0; d < P; ++d)
        for (int64_t i = 0; i < count[d]; ++i) ex.slot(d)[i] = pattern_id(me, d, i);
      ex.start();
      ex.progress();
      ex.finish();
      std::vector<int64_t> expected;
      for (int s = 0; s < P; ++s)
        for (int64_t i = 0; i < pattern_count(s, me, round); ++i) expected.push_back(pattern_id(s, me, i));
      const Buffer<int64_t>& got = ex.received();
      ASSERT_EQ(got.size(), expected.size()) << k << " ranks per node, round " << round;
      for (size_t r = 0; r < expected.size(); ++r)
        ASSERT_EQ(got[r], expected[r]) << k << " ranks per node, round " << round << ", arrival " << r;
      EXPECT_EQ(ex.sent(), [&] {
        int64_t n = 0;
        for (int64_t c : count) n += c;
        return n;
      }());
    }
  }
}

void expect_same_neurons(const NeuronBlock& a, const NeuronBlock& b, int K, const std::string& where) {
  ASSERT_EQ(a.size(), b.size()) << where << ": neuron count";
  for (size_t j = 0; j < a.size(); ++j) {
    ASSERT_EQ(a.id[j], b.id[j]) << where << ": slot " << j;
    for (int k = 0; k < K; ++k)
      ASSERT_EQ(std::memcmp(&a.w[k][j], &b.w[k][j], sizeof(float)), 0) << where << ": w" << k << " of " << a.id[j];
    ASSERT_EQ(std::memcmp(&a.c[j], &b.c[j], sizeof(float)), 0) << where << ": c of " << a.id[j];
  }
}

TEST(NodeExchange, SweepsGiveTheSameLayoutOnEveryRoute) {
  Comm comm;
  const int P = comm.size();
  const auto cfg = test::config({{"model.M", "41"}, {"model.rho", "6"}, {"model.K", "2"}, {"model.mu", "-2"},
                                 {"learning.mode", "mean"}, {"learning.eta", "0.01"}, {"model.periodic", "true"},
                                 {"model.loss", "none"}, {"grid.lo", "-3"}, {"grid.hi", "3"}});
  // mu = -2 empties the networks at the first sweep and the reservoir then
  // rejects most proposers: rejected arrivals fill the reservoir in arrival
  // order, so its comparison checks the order, not only the set.
  auto loss = make_boundary_loss(cfg);
  for (int k = 1; k < P; ++k) {
    Ensemble ef(cfg, comm), en(cfg, comm);
    auto learn_f = make_learning_step(cfg, cfg, *loss), learn_n = make_learning_step(cfg, cfg, *loss);
    ExchangeSweep flat(ef, cfg, ExchangeTopology{0}), node(en, cfg, ExchangeTopology{k});
    ASSERT_TRUE(node.exchange().node_aware());
    const std::string route = std::to_string(k) + " ranks per node";
    for (uint64_t s = 0; s < 12; ++s) {
      learn_f->advance(ef, s);
      learn_n->advance(en, s);
      ef.set_step(s + 1);
      en.set_step(s + 1);
      flat.run(ef, s + 1);
      node.run(en, s + 1);
      const std::string where = route + ", after sweep " + std::to_string(s + 1);
      ASSERT_EQ(ef.n_local(), en.n_local());
      for (int64_t la = 0; la < ef.n_local(); ++la) {
        ASSERT_EQ(ef.N(la), en.N(la)) << where << ": N_a of network " << ef.a_lo() + la;
        ASSERT_EQ(std::memcmp(ef.q(la), en.q(la), sizeof(double) * cfg.K), 0) << where;
      }
      expect_same_neurons(ef.active(), en.active(), cfg.K, where + ", networks");
      expect_same_neurons(ef.reservoir(), en.reservoir(), cfg.K, where + ", reservoir");
      if (testing::Test::HasFatalFailure()) return;
      ASSERT_EQ(flat.counters().join_accepted, node.counters().join_accepted) << where;
      ASSERT_EQ(flat.counters().moved_bytes, node.counters().moved_bytes) << where;
    }
    // The comparison means something only if proposers really travelled.
    EXPECT_GT(comm.sum(node.counters().moved_bytes), 0) << route;
    EXPECT_GT(comm.sum(node.counters().join_accepted), 0) << route;
  }
}

}  // namespace
