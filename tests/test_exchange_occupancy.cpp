// docs/model.md §6 Tier 1 item 1: with q frozen, exchange sweeps sample the
// product measure, P(i in a) = W_ia / (1 + sum_b W_ib) with
// W_ia = (1/M) e^{-(f_i(q_a) - mu)/T}. Chi-square over all (neuron, network)
// cells, with standard errors from batch means (the sweeps are a Markov chain).
#include <gtest/gtest.h>

#include <cmath>

#include "gcnn/ensemble.hpp"
#include "gcnn/exchange_sweep.hpp"
#include "test_util.hpp"

namespace {
using namespace gcnn;

TEST(ExchangeSweep, FrozenOccupanciesMatchTheProductMeasure) {
  Comm comm;
  const auto cfg = test::config({{"model.M", "5"}, {"model.rho", "6"}, {"model.mu", "-0.4"}, {"model.T", "0.9"},
                                 {"model.sigma_w", "1.0"}, {"model.sigma_c", "0.6"}, {"learning.mode", "frozen"},
                                 {"init.q_width", "1.2"}, {"run.seed", "314"}});
  Ensemble e(cfg, comm);
  ExchangeSweep sweep(e, cfg);
  const int64_t M = cfg.M, R = cfg.R();

  // q of every network, and the exact occupation probabilities.
  std::vector<double> q(static_cast<size_t>(M), 0.0);
  for (int64_t la = 0; la < e.n_local(); ++la) q[static_cast<size_t>(e.a_lo() + la)] = e.q(la)[0];
  comm.sum(q.data(), q.size());
  std::vector<double> P(static_cast<size_t>(R * M));
  for (int64_t i = 0; i < R; ++i) {
    const auto p = draw_neuron_params(e.rng(), static_cast<uint64_t>(i), cfg.sigma_w, cfg.sigma_c);
    double sumW = 0;
    std::vector<double> W(static_cast<size_t>(M));
    for (int64_t a = 0; a < M; ++a) {
      const double f = neuron_free_energy(p.c + static_cast<double>(p.w[0]) * q[a], cfg.T);
      W[a] = std::exp(-(f - cfg.mu) / cfg.T) / static_cast<double>(M);
      sumW += W[a];
    }
    for (int64_t a = 0; a < M; ++a) P[i * M + a] = W[a] / (1 + sumW);
  }

  const int burn = 200, batches = 40, per_batch = 250;
  for (int s = 0; s < burn; ++s) sweep.run(e, static_cast<uint64_t>(s + 1));
  std::vector<double> batch_occ(static_cast<size_t>(batches) * R * M, 0.0);
  for (int b = 0; b < batches; ++b)
    for (int s = 0; s < per_batch; ++s) {
      sweep.run(e, static_cast<uint64_t>(burn + b * per_batch + s + 1));
      for (int64_t la = 0; la < e.n_local(); ++la)
        for (int64_t j = e.begin(la); j < e.end(la); ++j)
          batch_occ[(static_cast<size_t>(b) * R + e.active().id[j]) * M + e.a_lo() + la] += 1.0 / per_batch;
    }
  comm.sum(batch_occ.data(), batch_occ.size());

  double chi2 = 0, dof = 0, worst = 0;
  for (int64_t c = 0; c < R * M; ++c) {
    std::vector<double> x(batches);
    for (int b = 0; b < batches; ++b) x[b] = batch_occ[static_cast<size_t>(b) * R * M + c];
    const auto me = test::batch_means(x);
    const double se = std::max(me.err, 1e-4);  // cells that never move have zero spread
    const double z = (me.mean - P[c]) / se;
    chi2 += z * z;
    dof += 1;
    worst = std::max(worst, std::fabs(z));
  }
  const double p = test::chi2_pvalue(chi2, dof);
  if (comm.root())
    std::printf("occupancy chi2 = %.1f for %g cells, p-value %.3g, worst |z| %.2f\n", chi2, dof, p, worst);
  EXPECT_GT(p, 1e-4) << "chi2 = " << chi2 << " over " << dof << " cells";
  e.check_conservation();
}

}  // namespace
