// Issue 16 item 5: the mean-field grand potential's setup computes 2cosh(y_i)
// on the grid by per-axis factors (no exp per neuron and cell), Omega's
// logarithms per group of neurons, and accelerates the fixed point by
// Anderson mixing. Its Omega and s_i must be the fixed point of docs/model.md
// §4's mean-field equations solved here the direct way (plain iteration, one
// fm::two_cosh and one log1p per neuron and cell), to a stated tolerance.
// Its tables survive a checkpoint round trip bit for bit, and are refused
// for other physics.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "gcnn/boundary_loss.hpp"
#include "gcnn/grand_potential.hpp"
#include "gcnn/grand_potential_tables.hpp"
#include "gcnn/h5.hpp"
#include "test_util.hpp"

namespace {
using namespace gcnn;

// The setup as it was before issue 16: s_i = ((M-1)/M) e^{mu/T} E_p[2cosh y_i],
// Omega = U - T sum_i ln(1 + e^{mu/T} 2cosh(y_i) / (M (1 + s_i))),
// p = e^{-Omega/T_q}/Z on the grid, iterated from s = 0 until ln(1 + s_i)
// moves by less than 1e-12. This rank's id block, sums over ranks.
struct Direct {
  std::vector<double> omega, l1ps;
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
  d.l1ps = l1ps;
  return d;
}

using Kv = std::vector<std::pair<std::string, std::string>>;

// Omega and s_i of the fast setup against the direct ones. Both stop when
// ln(1 + s_i) moves by < 1e-12 per pass. The plain iteration contracts (by at
// most ~0.6 per step in these cases), so its s_i are within 1e-12 * 0.6 / 0.4
// of the fixed point; the mixed one converges faster than that (each pass at
// least as close as a plain one would be from the same input), so the same
// bound holds: |d ln(1 + s_i)| <= 2 * 1.5e-12 between the two solutions
// (tolerance 5e-12 on s). Omega moves by T sigma_i <= T per unit of
// ln(1 + s_i): |dOmega| <= T R 5e-12. The kernels' rounding adds T R (|y| + 8)
// 2.3e-16 < T R 1e-14.
void expect_todays_omega(const Kv& kv) {
  Comm comm;
  const Config c = test::config(kv);
  const GrandPotential gp(c, comm);
  const Direct d = direct_mean_field(c, comm);
  const double tol = c.T * static_cast<double>(c.R()) * (5e-12 + 1e-14);
  double worst = 0, span = 0, worst_s = 0;
  const double mn = *std::min_element(d.omega.begin(), d.omega.end());
  for (size_t g = 0; g < d.omega.size(); ++g) {
    worst = std::max(worst, std::fabs(gp.omega()[g] - d.omega[g]));
    span = std::max(span, d.omega[g] - mn);
  }
  ASSERT_EQ(gp.log1p_s().size(), d.l1ps.size());
  for (size_t i = 0; i < d.l1ps.size(); ++i) worst_s = std::max(worst_s, std::fabs(gp.log1p_s()[i] - d.l1ps[i]));
  worst_s = comm.max(worst_s);
  if (comm.root())
    std::printf("K=%d R=%lld cells=%zu: max |Omega - Omega_direct| = %.2e (tol %.1e, Omega spans %.3g), "
                "max |d ln(1+s_i)| = %.2e (tol 5e-12), passes %d (mixed) vs %d (plain)\n",
                c.K, static_cast<long long>(c.R()), d.omega.size(), worst, tol, span, worst_s, gp.iterations(),
                d.iterations);
  EXPECT_LT(worst, tol);
  EXPECT_LT(worst_s, 5e-12);
  EXPECT_GT(gp.iterations(), 3) << "the back-reaction should need a few iterations";
  EXPECT_LT(d.iterations, 200) << "the direct iteration did not converge";
  // Anderson mixing must save passes over the plain iteration (issue 16 item 5).
  EXPECT_LT(gp.iterations(), d.iterations - 1);
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

// The tables through a checkpoint group: the same physics gets them back bit
// for bit (and a GrandPotential restored from them reports the same Omega,
// p_eq and sector tables); other physics or a file without them gets none,
// with a note; tables of other physics are refused by the constructor.
TEST(GrandPotentialSetup, TablesSurviveACheckpoint) {
  Comm comm;
  const Config c = test::config({{"model.M", "24"}, {"model.rho", "10"}, {"model.K", "2"}, {"model.mu", "-0.5"},
                                 {"grid.n", "12,10"}, {"observables.n_max", "5"}});
  const GrandPotential gp(c, comm);
  std::string path = "/tmp/gcnn_test_gp_tables." + std::to_string(getpid()) + ".h5";
  comm.bcast(path);
  {
    h5::Handle f = h5::create_checked_file(path, comm.raw());
    h5::Handle state = h5::create_group(f, "state");
    write_grand_potential_tables(state, gp.tables(), comm.root());
  }
  std::string note;
  const auto t = read_grand_potential_tables(path, c, comm, &note);
  ASSERT_TRUE(t.has_value()) << note;
  EXPECT_EQ(t->omega, gp.omega());
  EXPECT_EQ(t->log_lambda, gp.log_lambda());
  EXPECT_EQ(t->log_eN, gp.log_eN());
  const GrandPotential back(c, comm, *t);
  EXPECT_TRUE(back.restored());
  EXPECT_EQ(back.p_eq(), gp.p_eq());
  EXPECT_EQ(back.iterations(), gp.iterations());
  EXPECT_EQ(back.residual(), gp.residual());
  EXPECT_EQ(back.predicted_occupancy(), gp.predicted_occupancy());
  EXPECT_EQ(back.sector_method(), gp.sector_method());
  EXPECT_THROW(back.evaluate(std::vector<double>(2, 0.0), nullptr, nullptr, nullptr), std::logic_error);

  Config other = c;  // a quench's physics: mu shifted
  other.mu = -0.75;
  note.clear();
  EXPECT_FALSE(read_grand_potential_tables(path, other, comm, &note).has_value());
  EXPECT_NE(note.find("other physics"), std::string::npos) << note;
  EXPECT_THROW(GrandPotential(other, comm, *t), std::invalid_argument);
  {
    h5::Handle f = h5::create_checked_file(path, comm.raw());
    h5::Handle state = h5::create_group(f, "state");
  }
  note.clear();
  EXPECT_FALSE(read_grand_potential_tables(path, c, comm, &note).has_value());
  EXPECT_NE(note.find("no grand-potential tables"), std::string::npos) << note;
  comm.barrier();
  if (comm.root()) std::remove(path.c_str());
}

}  // namespace
