// Free-energy identities of docs/model.md §1-2:
//  - grad F_a from the hot loop equals the derivative of F_a;
//  - <dH/dq>_x = dF/dq: the sampled gradient averages to the mean gradient;
//  - Omega for M = 1 equals U - T sum_i ln(1 + e^{-(f_i - mu)/T});
//  - the analytic grad and Laplacian of Omega match finite differences.
#include <gtest/gtest.h>

#include <cmath>

#include "gcnn/boundary_loss.hpp"
#include "gcnn/grand_potential.hpp"
#include "gcnn/learning_step.hpp"
#include "test_util.hpp"

namespace {
using namespace gcnn;

NeuronBlock make_block(int K, int n, uint64_t seed, double sw, double sc) {
  NeuronBlock b(K);
  b.resize(n);
  CounterRng rng(seed);
  for (int i = 0; i < n; ++i) b.set(i, i, draw_neuron_params(rng, i, sw, sc));
  return b;
}

TEST(FreeEnergy, HotLoopGradientIsTheDerivativeOfF) {
  for (int K = 1; K <= 3; ++K) {
    const auto cfg = test::config({{"model.K", std::to_string(K)}, {"model.loss", "harmonic"}, {"model.q0", "0.3"}});
    auto loss = make_boundary_loss(cfg);
    const int n = 37;  // odd: exercises the lane tail
    const auto nb = make_block(K, n, 7, 0.8, 0.5);
    const double T = 0.7;
    double q[3] = {0.4, -0.9, 1.3};
    double g[3] = {0, 0, 0};
    loss->add_gradient(q, g);
    hidden_gradient(K, nb, 0, n, q, T, g);
    for (int k = 0; k < K; ++k) {
      const double h = 1e-5;
      double qp[3] = {q[0], q[1], q[2]}, qm[3] = {q[0], q[1], q[2]};
      qp[k] += h;
      qm[k] -= h;
      const double fd = (set_free_energy(K, nb, 0, n, qp, T, *loss) - set_free_energy(K, nb, 0, n, qm, T, *loss)) / (2 * h);
      EXPECT_NEAR(g[k], fd, 1e-7 * (1 + std::fabs(fd))) << "K=" << K << " k=" << k;
    }
  }
}

TEST(FreeEnergy, SampledGradientAveragesToTheMeanGradient) {
  const int K = 2, n = 64;
  const auto nb = make_block(K, n, 11, 0.6, 0.4);
  const double T = 1.3, q[3] = {0.2, -0.5, 0};
  double gmean[3] = {0, 0, 0};
  hidden_gradient(K, nb, 0, n, q, T, gmean);
  // Var of one draw: sum_i (1 - tanh^2(z_i/T)) w_ik^2 (independent +-1 spins).
  double var[2] = {0, 0};
  for (int j = 0; j < n; ++j) {
    const double z = nb.c[j] + nb.w[0][j] * q[0] + nb.w[1][j] * q[1];
    const double t = std::tanh(z / T);
    for (int k = 0; k < K; ++k) var[k] += (1 - t * t) * nb.w[k][j] * nb.w[k][j];
  }
  const CounterRng rng(99);
  const int draws = 20000;
  double sum[2] = {0, 0};
  for (int s = 0; s < draws; ++s) {
    double g[3] = {0, 0, 0};
    sampled_hidden_gradient(K, nb, 0, n, q, T, g, rng, static_cast<uint64_t>(s));
    for (int k = 0; k < K; ++k) sum[k] += g[k];
  }
  for (int k = 0; k < K; ++k) {
    const double se = std::sqrt(var[k] / draws);
    EXPECT_NEAR(sum[k] / draws, gmean[k], 4 * se) << "k=" << k << " (4 sigma = " << 4 * se << ")";
  }
}

TEST(GrandPotential, SingleNetworkOmegaIsExact) {
  const auto cfg = test::config({{"model.M", "1"}, {"model.rho", "9"}, {"model.mu", "-0.7"}, {"model.T", "0.8"},
                                 {"model.sigma_w", "0.9"}, {"grid.n", "40"}});
  Comm comm;
  GrandPotential gp(cfg, comm);
  auto loss = make_boundary_loss(cfg);
  const Grid grid(cfg);
  const CounterRng rng(cfg.seed);
  for (int64_t g = 0; g < grid.size(); g += 3) {
    double q;
    grid.centre(g, &q);
    double om = loss->value(&q);
    for (int64_t i = 0; i < cfg.R(); ++i) {
      const auto p = draw_neuron_params(rng, static_cast<uint64_t>(i), cfg.sigma_w, cfg.sigma_c);
      const double f = neuron_free_energy(p.c + static_cast<double>(p.w[0]) * q, cfg.T);
      om -= cfg.T * std::log1p(std::exp(-(f - cfg.mu) / cfg.T));
    }
    EXPECT_NEAR(gp.omega()[g], om, 1e-12 * (1 + std::fabs(om)));
  }
  EXPECT_EQ(gp.sector_method(), "exact");
}

TEST(GrandPotential, GradientAndLaplacianMatchFiniteDifferences) {
  for (const char* M : {"1", "50"}) {
    const auto cfg = test::config({{"model.M", M}, {"model.K", "2"}, {"model.rho", "6"}, {"model.mu", "-1"},
                                   {"grid.n", "12"}, {"model.sigma_w", "0.7"}});
    Comm comm;
    GrandPotential gp(cfg, comm);
    const double h = 1e-4;
    const std::vector<double> q0 = {0.3, -0.6};
    std::vector<double> pts = q0;
    for (int k = 0; k < 2; ++k)
      for (int sgn : {1, -1}) {
        auto p = q0;
        p[k] += sgn * h;
        pts.insert(pts.end(), p.begin(), p.end());
      }
    std::vector<double> om(5), gr(10), lap(5);
    gp.evaluate(pts, om.data(), gr.data(), lap.data());
    double fd_lap = 0;
    for (int k = 0; k < 2; ++k) {
      const double fd = (om[1 + 2 * k] - om[2 + 2 * k]) / (2 * h);
      EXPECT_NEAR(gr[k], fd, 1e-6 * (1 + std::fabs(fd))) << "M=" << M << " k=" << k;
      fd_lap += (om[1 + 2 * k] - 2 * om[0] + om[2 + 2 * k]) / (h * h);
    }
    EXPECT_NEAR(lap[0], fd_lap, 1e-4 * (1 + std::fabs(fd_lap))) << "M=" << M;
  }
}

}  // namespace
