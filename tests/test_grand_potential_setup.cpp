// Issue 16 item 5: the mean-field grand potential's setup computes 2cosh(y_i)
// on the grid by per-axis factors (no exp per neuron and cell), Omega as a
// running product (one logarithm per cell and pass), and accelerates the
// fixed point by Anderson mixing. Its Omega and s_i must be the fixed point of docs/model.md
// §4's mean-field equations solved here the direct way (plain iteration, one
// fm::two_cosh and one log1p per neuron and cell), to a stated tolerance.
// Its kernels (MeanFieldGroup) must agree with cell-by-cell sums at the same
// s_i (Omega, Lambda, the occupied fraction), including group remainders and
// a neuron on the exact path. Its tables survive a checkpoint round trip bit
// for bit, and are refused for other physics.
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

std::vector<NeuronParams> local_neurons(const Config& c, const Comm& comm) {
  const Blocks ids{c.R(), comm.size()};
  const CounterRng rng(c.seed);
  std::vector<NeuronParams> par;
  for (int64_t i = ids.lo(comm.rank()); i < ids.hi(comm.rank()); ++i)
    par.push_back(draw_neuron_params(rng, static_cast<uint64_t>(i), c.sigma_w, c.sigma_c));
  return par;
}
// The bound MeanFieldGroup::max_exponent: (|c| + sum_k max |w_k q_k|)/T over
// the cell centres; above kMaxExponent a neuron takes the exact path.
double max_exponent(const Config& c, const Grid& grid, const NeuronParams& p) {
  double y = std::fabs(static_cast<double>(p.c));
  for (int k = 0; k < c.K; ++k) {
    const double lo = grid.lo(k) + 0.5 * grid.h(k), hi = grid.lo(k) + (grid.n(k) - 0.5) * grid.h(k);
    y += std::max(std::fabs(p.w[k] * lo), std::fabs(p.w[k] * hi));
  }
  return y / c.T;
}

// The setup's kernels (MeanFieldGroup: 2cosh from per-axis factors, s_i
// by a blocked product, Omega as a running product, the occupancy from the
// product's derivative) against cell-by-cell sums at the same s_i and p:
//   Omega: GrandPotential::evaluate (fm::two_cosh and fm::log1p per neuron and cell);
//   Lambda = sum_i 2cosh(y_i) / (M (1 + s_i)) and the occupied fraction
//   sum_i E_p[t/(1 + t)] / R, t = e^{mu/T} 2cosh(y_i)/M + s_i, the same way.
// Error budget, relative per neuron and cell: the factorised 2cosh
// (|y| + n_last/8 + K + 3) 2.3e-16 (exp of rounded arguments, at most
// n_last/8 steps of the ratio recurrence along an axis), the products ~R 1.1e-16 (worst case, every
// rounding the same way), fm::log1p 4e-16. So
// |dOmega| <= T R (ymax + n_last/8 + K + 3) 2.3e-16 + T R 5e-16, and the
// same relative bound on Lambda and the occupancy with (R + G) 1.1e-16 added
// for their sums of R and G positive terms. Returns the number of neurons on
// the exact path (all ranks).
int64_t expect_kernels_match_direct_sums(const Config& c, const Comm& comm, const GrandPotential& gp) {
  const Grid grid(c);
  const auto pts = grid.centres();
  const size_t G = pts.size() / static_cast<size_t>(c.K);
  const auto par = local_neurons(c, comm);
  const double T = c.T, R = static_cast<double>(c.R()), M = static_cast<double>(c.M);
  double ymax = 0;
  int64_t exact = 0;
  for (const auto& p : par) {
    const double y = max_exponent(c, grid, p);
    ymax = std::max(ymax, y);
    exact += y > 700.0 ? 1 : 0;
  }
  ymax = comm.max(ymax);
  exact = static_cast<int64_t>(comm.sum(static_cast<double>(exact)));
  const double nl = grid.n(c.K - 1), rel = (ymax + nl / 8 + c.K + 3) * 2.3e-16;
  // Omega
  std::vector<double> om(G);
  gp.evaluate(pts, om.data(), nullptr, nullptr);
  // worst |dOmega| beyond the final rounding of Omega itself (U added: 2.2e-16 |Omega|)
  double worst = 0;
  for (size_t g = 0; g < G; ++g)
    worst = std::max(worst, std::fabs(gp.omega()[g] - om[g]) - 2.2e-16 * std::fabs(om[g]));
  const double tol_omega = T * R * (rel + 5e-16);
  // Lambda and the occupancy, cell by cell
  // (long double sums: the reference's own rounding stays far below the budget)
  std::vector<long double> lam_l(G, 0.0L);
  std::vector<double> pg = gp.p_eq();
  for (double& v : pg) v *= grid.cell_volume();
  long double occ_l = 0;
  for (size_t i = 0; i < par.size(); ++i) {
    const double l1ps = gp.log1p_s()[i], si = std::expm1(l1ps), scale = std::exp(-std::log(M) - l1ps);
    for (size_t g = 0; g < G; ++g) {
      double z = par[i].c;
      for (int k = 0; k < c.K; ++k) z += static_cast<double>(par[i].w[k]) * pts[g * c.K + k];
      const double x = fm::two_cosh(z / T), t = std::exp(c.mu / T) * x / M + si;
      lam_l[g] += scale * x;
      occ_l += pg[g] * t / (1.0 + t);
    }
  }
  std::vector<double> lam(lam_l.begin(), lam_l.end());
  comm.sum(lam.data(), G);
  const double occ = comm.sum(static_cast<double>(occ_l)) / R;
  double worst_lam = 0;
  for (size_t g = 0; g < G; ++g) worst_lam = std::max(worst_lam, std::fabs(gp.log_lambda()[g] - std::log(lam[g])));
  const double tol_rel = rel + (R + static_cast<double>(G)) * 1.1e-16;
  const double d_occ = std::fabs(gp.predicted_occupancy() - occ) / occ;
  if (comm.root())
    std::printf("  kernels vs cell-by-cell at the same s_i: |dOmega| %.2e (tol %.1e), |d ln Lambda| %.2e, "
                "occupancy %.6f rel. diff %.2e (tol %.1e), ymax %.1f, %lld neuron(s) on the exact path\n",
                worst, tol_omega, worst_lam, occ, d_occ, tol_rel, ymax, static_cast<long long>(exact));
  EXPECT_LT(worst, tol_omega);
  EXPECT_LT(worst_lam, tol_rel);
  EXPECT_LT(d_occ, tol_rel);
  return exact;
}

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
  expect_kernels_match_direct_sums(c, comm, gp);
}

TEST(GrandPotentialSetup, OmegaIsTodaysOmegaK1) {
  expect_todays_omega({{"model.M", "40"}, {"model.rho", "50"}, {"model.K", "1"}, {"model.mu", "-0.5"},
                       {"grid.n", "120"}});
}
TEST(GrandPotentialSetup, OmegaIsTodaysOmegaK2) {
  expect_todays_omega({{"model.M", "24"}, {"model.rho", "41"}, {"model.K", "2"}, {"model.mu", "-0.5"},
                       {"grid.n", "30,40"}});
}
TEST(GrandPotentialSetup, OmegaIsTodaysOmegaK3Periodic) {
  expect_todays_omega({{"model.M", "16"}, {"model.rho", "21"}, {"model.K", "3"}, {"model.mu", "-0.5"},
                       {"grid.n", "10,12,14"}, {"model.periodic", "true"}, {"model.loss", "none"},
                       {"grid.lo", "-2"}, {"grid.hi", "2"}});
}

// A neuron on the exact path (max_exponent > 700: its per-axis factors
// could overflow, so 2cosh is computed per cell), next to factorised ones in
// small groups (the bound on their products cuts them): the grid is widened
// to [-X, X]^2 with X such that the steepest neuron's bound is 705 (|y| <= 705
// on the grid, 2cosh finite). The double well keeps p on the cell at the
// origin (odd n; the next cells have U ~ 1e6), so the fixed point is found in
// a few passes. Omega, Lambda and the occupancy as above, and the fixed point
// against the plain iteration.
TEST(GrandPotentialSetup, ExactPathNeuron) {
  Comm comm;
  const Kv base{{"model.M", "24"}, {"model.rho", "41"}, {"model.K", "2"}, {"model.mu", "-0.5"}, {"grid.n", "31,43"}};
  auto with_width = [&](double X) {
    Kv kv = base;
    char b[64];
    std::snprintf(b, sizeof(b), "%.17g", -X);
    kv.emplace_back("grid.lo", b);
    std::snprintf(b, sizeof(b), "%.17g", X);
    kv.emplace_back("grid.hi", b);
    return test::config(kv);
  };
  auto steepest = [&](double X) {  // max_i ymax_i on [-X, X]^2, all ranks
    const Config c = with_width(X);
    const Grid grid(c);
    double y = 0;
    for (const auto& p : local_neurons(c, comm)) y = std::max(y, max_exponent(c, grid, p));
    return comm.max(y);
  };
  double lo = 1, hi = 1e4;  // steepest(X) grows with X: bisect for 705
  for (int it = 0; it < 60; ++it) (steepest(0.5 * (lo + hi)) < 705.0 ? lo : hi) = 0.5 * (lo + hi);
  const Config c = with_width(lo);
  const GrandPotential gp(c, comm);
  const int64_t exact = expect_kernels_match_direct_sums(c, comm, gp);
  EXPECT_GE(exact, 1);
  EXPECT_LT(exact, c.R() / 4) << "most neurons should stay on the factorised path";
  const Direct d = direct_mean_field(c, comm);
  double worst = 0, worst_s = 0;
  for (size_t g = 0; g < d.omega.size(); ++g)  // beyond Omega's own rounding (U ~ 1e10 at the far cells)
    worst = std::max(worst, std::fabs(gp.omega()[g] - d.omega[g]) - 2.2e-16 * std::fabs(d.omega[g]));
  for (size_t i = 0; i < d.l1ps.size(); ++i) worst_s = std::max(worst_s, std::fabs(gp.log1p_s()[i] - d.l1ps[i]));
  worst_s = comm.max(worst_s);
  if (comm.root())
    std::printf("X=%.4g: max |Omega - Omega_direct| = %.2e, max |d ln(1+s_i)| = %.2e, passes %d vs %d\n", lo, worst,
                worst_s, gp.iterations(), d.iterations);
  EXPECT_LT(d.iterations, 200);
  EXPECT_LT(worst, c.T * static_cast<double>(c.R()) * (5e-12 + 1e-14));
  EXPECT_LT(worst_s, 5e-12);
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
