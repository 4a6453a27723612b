// Issue 16 item 5: the mean-field grand potential's setup computes 2cosh(y_i)
// on the grid by per-axis factors (no exp per neuron and cell) and Omega's
// logarithms per group of neurons. Its Omega must be today's: the fixed point
// of docs/model.md §4's mean-field equations solved here the direct way (one
// fm::two_cosh and one log1p per neuron and cell), to a stated tolerance.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "gcnn/boundary_loss.hpp"
#include "gcnn/grand_potential.hpp"
#include "test_util.hpp"

namespace {
using namespace gcnn;

// The setup as it was before issue 16: s_i = ((M-1)/M) e^{mu/T} E_p[2cosh y_i],
// Omega = U - T sum_i ln(1 + e^{mu/T} 2cosh(y_i) / (M (1 + s_i))),
// p = e^{-Omega/T_q}/Z on the grid, iterated from s = 0 until ln(1 + s_i)
// moves by less than 1e-12. This rank's id block, sums over ranks.
struct Direct {
  std::vector<double> omega;
  int iterations = 0;
};
Direct direct_mean_field(const Config& c, const Comm& comm) {
  const Grid grid(c);
  const auto pts = grid.centres();
  const size_t G = static_cast<size_t>(grid.size());
  const int K = c.K;
  const Blocks ids{c.R(), comm.size()};
  const CounterRng rng(c.seed);
  std::vector<NeuronParams> par;
  for (int64_t i = ids.lo(comm.rank()); i < ids.hi(comm.rank()); ++i)
    par.push_back(draw_neuron_params(rng, static_cast<uint64_t>(i), c.sigma_w, c.sigma_c));
  const auto loss = make_boundary_loss(c);
  const double T = c.T, M = static_cast<double>(c.M), emu = std::exp(c.mu / T);
  // 2cosh(y_i(g)) once for all (the problem is small)
  std::vector<double> tc(par.size() * G);
  for (size_t i = 0; i < par.size(); ++i)
    for (size_t g = 0; g < G; ++g) {
      double z = par[i].c;
      for (int k = 0; k < K; ++k) z += static_cast<double>(par[i].w[k]) * pts[g * K + k];
      tc[i * G + g] = fm::two_cosh(z / T);
    }
  std::vector<double> l1ps(par.size(), 0.0), p(G);
  Direct d;
  d.omega.assign(G, 0.0);
  auto update = [&] {
    std::vector<double> om(G, 0.0);
    for (size_t i = 0; i < par.size(); ++i) {
      const double el0 = std::exp(c.mu / T - std::log(M) - l1ps[i]);
      for (size_t g = 0; g < G; ++g) om[g] -= T * std::log1p(el0 * tc[i * G + g]);
    }
    comm.sum(om.data(), G);
    for (size_t g = 0; g < G; ++g) d.omega[g] = om[g] + loss->value(&pts[g * K]);
    const double mn = *std::min_element(d.omega.begin(), d.omega.end());
    double z = 0;
    for (size_t g = 0; g < G; ++g) z += (p[g] = std::exp(-(d.omega[g] - mn) / c.Tq));
    for (double& v : p) v /= z;
  };
  update();
  for (d.iterations = 1; d.iterations <= 200; ++d.iterations) {
    double res = 0;
    for (size_t i = 0; i < par.size(); ++i) {
      double acc = 0;
      for (size_t g = 0; g < G; ++g) acc += p[g] * tc[i * G + g];
      const double v = std::log1p((M - 1.0) / M * emu * acc);
      res = std::max(res, std::fabs(v - l1ps[i]));
      l1ps[i] = v;
    }
    update();
    if (comm.max(res) < 1e-12) break;
  }
  return d;
}

using Kv = std::vector<std::pair<std::string, std::string>>;

// Omega of the fast setup against the direct one. Both stop when ln(1 + s_i)
// moves by < 1e-12 per iteration, and the iteration contracts (by at most
// ~0.6 per step in these cases, <= 50 iterations), so each s_i is within
// 1e-12 / (1 - 0.6) of the fixed point; Omega moves by T sigma_i <= T per
// unit of ln(1 + s_i): |dOmega| <= T R 2.5e-12 * 2 (both solutions). The
// kernels' rounding adds T R (|y| + 8) 2.3e-16 < T R 1e-14.
void expect_todays_omega(const Kv& kv) {
  Comm comm;
  const Config c = test::config(kv);
  const GrandPotential gp(c, comm);
  const Direct d = direct_mean_field(c, comm);
  const double tol = c.T * static_cast<double>(c.R()) * (5e-12 + 1e-14);
  double worst = 0, span = 0;
  const double mn = *std::min_element(d.omega.begin(), d.omega.end());
  for (size_t g = 0; g < d.omega.size(); ++g) {
    worst = std::max(worst, std::fabs(gp.omega()[g] - d.omega[g]));
    span = std::max(span, d.omega[g] - mn);
  }
  if (comm.root())
    std::printf("K=%d R=%lld cells=%zu: max |Omega - Omega_direct| = %.2e (tol %.1e, Omega spans %.3g), "
                "iterations %d vs %d\n",
                c.K, static_cast<long long>(c.R()), d.omega.size(), worst, tol, span, gp.iterations(), d.iterations);
  EXPECT_LT(worst, tol);
  EXPECT_GT(gp.iterations(), 3) << "the back-reaction should need a few iterations";
  EXPECT_LT(d.iterations, 200) << "the direct iteration did not converge";
  EXPECT_NEAR(gp.iterations(), d.iterations, 1);
}

TEST(GrandPotentialSetup, OmegaIsTodaysOmegaK1) {
  expect_todays_omega({{"model.M", "40"}, {"model.rho", "50"}, {"model.K", "1"}, {"model.mu", "-0.5"},
                       {"grid.n", "120"}});
}
TEST(GrandPotentialSetup, OmegaIsTodaysOmegaK2) {
  expect_todays_omega({{"model.M", "24"}, {"model.rho", "40"}, {"model.K", "2"}, {"model.mu", "-0.5"},
                       {"grid.n", "30,40"}});
}
TEST(GrandPotentialSetup, OmegaIsTodaysOmegaK3Periodic) {
  expect_todays_omega({{"model.M", "16"}, {"model.rho", "20"}, {"model.K", "3"}, {"model.mu", "-0.5"},
                       {"grid.n", "10,12,14"}, {"model.periodic", "true"}, {"model.loss", "none"},
                       {"grid.lo", "-2"}, {"grid.hi", "2"}});
}

}  // namespace
