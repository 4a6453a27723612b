// docs/model.md §4 and §6 item 4: the nonlinear (McKean-Vlasov) Fokker-Planck
// equation dp/dt = div(D grad p + gamma p grad Omega[p]) whose odds s_i follow
// the ensemble. Its invariants (probability, the mean-field p_eq as its
// stationary state and attractor), its reduction to the linear equation when
// s_i is frozen, and that on a collective harmonic quench it relaxes at a
// rate measurably different from lambda_1. Runs at 1 and 2 ranks (neurons
// and grid nodes are split over the ranks).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "gcnn/grand_potential.hpp"
#include "gcnn/nonlinear_fokker_planck.hpp"
#include "gcnn/petsc_env.hpp"
#include "gcnn/relaxation.hpp"
#include "gcnn/schrodinger_solver.hpp"
#include "gcnn/solve_setup.hpp"
#include "gcnn/schedule.hpp"
#include "petsc_test_env.hpp"
#include "test_util.hpp"

namespace {
using namespace gcnn;

// A small version of examples/quench.ini: the same physics per network
// (kappa = 4, mu = -1.5, rho = 32, so the neurons' share of Omega is the
// same), with M = 64 networks (R = 2048 neurons).
Config quench_config() {
  return test::config({{"model.M", "64"}, {"model.rho", "32"}, {"model.loss", "harmonic"}, {"model.kappa", "4"},
                       {"model.mu", "-1.5"}, {"grid.lo", "-2.5"}, {"grid.hi", "3.5"}, {"grid.n", "60"},
                       {"quench.step", "100"}, {"quench.shift", "0.8"}});
}
Config after_quench() { return physics_at(quench_config(), 100); }

double l1(const std::vector<double>& a, const std::vector<double>& b, double dv) {
  double s = 0;
  for (size_t g = 0; g < a.size(); ++g) s += std::fabs(a[g] - b[g]) * dv;
  return s;
}

// The pre-quench mean-field equilibrium, the state the ensemble is in when the quench starts.
std::vector<double> pre_quench_density(const Comm& comm) { return GrandPotential(quench_config(), comm).p_eq(); }

TEST(NonlinearFP, OmegaOfTheEquilibriumDensityIsTheMeanFieldOmega) {
  // Omega[p_eq] must be the self-consistent Omega: same arithmetic, s_i from
  // the same p. They differ only by the fixed point's residual in ln(1+s_i)
  // (< 1e-12), times T sum_i sigma_i <= T R.
  Comm comm;
  const Config c = after_quench();
  const GrandPotential gp(c, comm);
  const MeanFieldOmega om(gp);
  auto P = gp.p_eq();
  for (double& x : P) x *= gp.grid().cell_volume();
  std::vector<double> w(P.size());
  om.evaluate(P, w.data());
  const double tol = 2e-12 * c.T * static_cast<double>(c.R());
  double worst = 0;
  for (size_t g = 0; g < w.size(); ++g) worst = std::max(worst, std::fabs(w[g] - gp.omega()[g]));
  EXPECT_LT(worst, tol) << "fixed-point residual " << gp.residual();
  // and a different density gives a different Omega (the functional is live)
  auto Q = pre_quench_density(comm);
  for (double& x : Q) x *= gp.grid().cell_volume();
  om.evaluate(Q, w.data());
  double moved = 0;
  for (size_t g = 0; g < w.size(); ++g) moved = std::max(moved, std::fabs(w[g] - gp.omega()[g]));
  EXPECT_GT(moved, 1e3 * tol);
}

TEST(NonlinearFP, ConservesProbabilityAndPositivity) {
  Comm comm;
  const NonlinearFokkerPlanck nl(after_quench(), comm);
  const auto ev = nl.evolve(pre_quench_density(comm), 0.02, 100, 10);
  // Columns of I - dt L sum to one; each solve leaves a residual of at most
  // rtol = 1e-13 of |p|, so 100 steps move the total by < 1e-11.
  for (double pr : ev.norm) EXPECT_NEAR(pr, 1.0, 1e-11);
  for (auto& snap : ev.snapshots) EXPECT_GE(*std::min_element(snap.begin(), snap.end()), 0.0);
  EXPECT_EQ(ev.max_drift_change, 0.0) << "Picard did not converge";
}

TEST(NonlinearFP, FrozenOddsReduceToTheLinearFokkerPlanck) {
  Comm comm;
  const Config c = after_quench();
  NonlinearFokkerPlanck::Options o;
  o.freeze_s = true;
  const NonlinearFokkerPlanck nl(c, comm, o);
  const SolveSetup st = make_solve_setup(c, comm);
  const SchrodingerSolver lin(st.grid, false, st.hbar, st.mass, st.V, comm.raw());
  const auto p0 = pre_quench_density(comm);
  const auto a = nl.evolve(p0, 0.02, 50, 5);
  const auto b = lin.fokker_planck(st.omega_Tq, c.gamma * c.Tq, p0, 0.02, 50, 5);
  ASSERT_EQ(a.snapshots.size(), b.snapshots.size());
  EXPECT_EQ(a.omega_evaluations, 0);
  // The same drift and the same stepper: equal to the KSP tolerance (1e-13 relative per step).
  for (size_t k = 0; k < a.snapshots.size(); ++k) {
    const double pmax = *std::max_element(b.snapshots[k].begin(), b.snapshots[k].end());
    for (size_t g = 0; g < p0.size(); ++g) EXPECT_NEAR(a.snapshots[k][g], b.snapshots[k][g], 1e-12 * pmax);
  }
}

TEST(NonlinearFP, MeanFieldEquilibriumIsStationary) {
  Comm comm;
  const NonlinearFokkerPlanck nl(after_quench(), comm);
  const auto peq = nl.p_eq();
  const auto ev = nl.evolve(peq, 0.02, 100, 4);
  // Omega[p_eq] is the equilibrium Omega to ~1e-11 T (above), and the
  // Scharfetter-Gummel step keeps e^{-Omega/T_q} exactly; the solves add
  // < 1e-13 relative per step.
  const double pmax = *std::max_element(peq.begin(), peq.end());
  for (auto& snap : ev.snapshots)
    for (size_t g = 0; g < peq.size(); ++g) EXPECT_NEAR(snap[g], peq[g], 1e-9 * pmax);
}

TEST(NonlinearFP, DisplacedDensityConvergesToTheMeanFieldEquilibrium) {
  Comm comm;
  const NonlinearFokkerPlanck nl(after_quench(), comm);
  const auto peq = nl.p_eq();
  const double dv = nl.grid().cell_volume();
  const auto ev = nl.evolve(pre_quench_density(comm), 0.02, 400, 8);  // t = 8, ~ 24 / lambda_1
  std::vector<double> d;
  for (auto& snap : ev.snapshots) d.push_back(l1(snap, peq, dv));
  for (size_t k = 1; k < d.size(); ++k) EXPECT_LT(d[k], d[k - 1]) << "k=" << k;  // monotone approach
  // e^{-lambda t} with lambda ~ 3 at t = 8 is ~ 4e-11 of the start
  EXPECT_GT(d.front(), 0.3);
  EXPECT_LT(d.back(), 1e-8);
}

// Rate of the slowest mode, fitted by verify's rule, for a prediction started
// from the pre-quench equilibrium, with M = 8192 as the ensemble's n.
struct Rates {
  double nonlinear, linear;
};
Rates fitted_rates(const Comm& comm, double dt, double lambda2, const relaxation::SlowestMode& mode) {
  const Config c = after_quench();
  const double t_end = 3.2, sample = 0.04;  // the dense window of examples/quench.ini
  const int64_t steps = static_cast<int64_t>(std::llround(t_end / dt));
  const int64_t n_snap = static_cast<int64_t>(std::llround(t_end / sample));
  Rates r{};
  for (bool frozen : {false, true}) {
    NonlinearFokkerPlanck::Options o;
    o.freeze_s = frozen;
    const NonlinearFokkerPlanck nl(c, comm, o);
    const auto ev = nl.evolve(pre_quench_density(comm), dt, steps, n_snap);
    std::vector<std::vector<double>> P = ev.snapshots;
    for (auto& p : P)
      for (double& x : p) x *= nl.grid().cell_volume();
    const auto f = relaxation::fit_rate(ev.snap_t, P, mode, lambda2, 8192);
    EXPECT_TRUE(f.valid());
    (frozen ? r.linear : r.nonlinear) = relaxation::continuous_rate(f.rate, dt);
  }
  return r;
}

TEST(NonlinearFP, CollectiveQuenchRelaxesAtADifferentRateThanLambda1) {
  Comm comm;
  const Config c = after_quench();
  const SolveSetup st = make_solve_setup(c, comm);
  const SchrodingerSolver H(st.grid, false, st.hbar, st.mass, st.V, comm.raw());
  const auto e = H.eigenpairs(3);
  const double pref = 2 * st.mass * c.gamma * c.Tq / (st.hbar * st.hbar);
  const double lambda1 = pref * (e.values[1] - e.values[0]), lambda2 = pref * (e.values[2] - e.values[0]);
  const relaxation::SlowestMode mode(e.vectors[0], e.vectors[1]);
  const Rates coarse = fitted_rates(comm, 0.02, lambda2, mode), fine = fitted_rates(comm, 0.01, lambda2, mode);
  // Time-step error of the fine rates: the change from dt to dt/2 (first order).
  const double err_nl = std::fabs(coarse.nonlinear - fine.nonlinear);
  const double err_lin = std::fabs(coarse.linear - fine.linear);
  if (comm.root())
    std::printf("lambda_1 = %.5f  lambda_2 = %.5f\n"
                "linear FP (s_i frozen) fitted: %.5f (dt 0.02) %.5f (dt 0.01)\n"
                "nonlinear FP fitted:           %.5f (dt 0.02) %.5f (dt 0.01)  -> %+.2f %% from lambda_1\n",
                lambda1, lambda2, coarse.linear, fine.linear, coarse.nonlinear, fine.nonlinear,
                100 * (fine.nonlinear / lambda1 - 1));
  // The linear prediction is lambda_1, up to its time-step error and the
  // fit's residual contamination by faster modes (< 1 %).
  EXPECT_NEAR(fine.linear, lambda1, 3 * err_lin + 0.01 * lambda1);
  // The collective quench is not: it differs by more than both errors.
  EXPECT_GT(std::fabs(fine.nonlinear - fine.linear), 3 * (err_nl + err_lin) + 0.01 * lambda1);
}

}  // namespace

