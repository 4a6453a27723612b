// docs/model.md §7: the per-network state after S steps is bitwise identical for
// any number of ranks. The same run is repeated on sub-communicators of
// 1, 2, ..., P ranks inside one job and the state digests are compared.
#include <gtest/gtest.h>

#include "gcnn/boundary_loss.hpp"
#include "gcnn/digest.hpp"
#include "gcnn/ensemble.hpp"
#include "gcnn/exchange_sweep.hpp"
#include "gcnn/learning_step.hpp"
#include "test_util.hpp"

namespace {
using namespace gcnn;

StateDigest run_on(const Config& cfg, MPI_Comm raw, uint64_t steps) {
  Comm comm(raw);
  Ensemble e(cfg, comm);
  auto loss = make_boundary_loss(cfg);
  auto learn = make_learning_step(cfg, *loss);
  ExchangeSweep sweep(e, cfg);
  for (uint64_t s = 0; s < steps; ++s) {
    learn->advance(e, s);
    e.set_step(s + 1);
    if ((s + 1) % static_cast<uint64_t>(cfg.exchange_every) == 0) sweep.run(e, s + 1);
  }
  return compute_digest(e);
}

TEST(RankInvariance, DigestIsIndependentOfTheRankCount) {
  Comm world;
  for (const char* mode : {"mean", "sampled", "mala"})
    for (const char* K : {"1", "3"}) {
      const auto cfg = test::config({{"model.M", "23"}, {"model.rho", "7"}, {"model.K", K}, {"model.mu", "-0.3"},
                                     {"learning.mode", mode}, {"learning.eta", "0.01"}, {"exchange.every", "2"},
                                     {"run.seed", "4242"}});
      std::vector<std::string> digests;
      for (int p = 1; p <= world.size(); ++p) {
        MPI_Comm sub;
        MPI_Comm_split(world.raw(), world.rank() < p ? 0 : MPI_UNDEFINED, world.rank(), &sub);
        std::string d;
        if (sub != MPI_COMM_NULL) {
          d = run_on(cfg, sub, 60).text();
          MPI_Comm_free(&sub);
        }
        world.bcast(d, 0);
        digests.push_back(d);
      }
      for (size_t p = 1; p < digests.size(); ++p)
        EXPECT_EQ(digests[p], digests[0]) << mode << " K=" << K << ": " << p + 1 << " ranks vs 1";
    }
}

}  // namespace
