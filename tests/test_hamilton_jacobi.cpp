// The quantum Hamilton-Jacobi fit of `gcnn verify` (T2.9e) recovers a known
// hbar: synthetic Madelung fields from a stationary solution of the TDSE
// (the SLEPc ground state psi_0 of H = -(hbar^2/2m) lap + U, so S is constant
// and p = psi_0^2) satisfy U = E_0 + (hbar^2/2m) lap sqrt(p)/sqrt(p) on the
// grid exactly; with counting noise added, the fit must return that hbar
// within its error and reject half and twice it.
#include <gtest/gtest.h>

#include <cmath>

#include "gcnn/rng.hpp"
#include "gcnn/schrodinger_solver.hpp"
#include "gcnn/verification.hpp"
#include "petsc_test_env.hpp"
#include "test_util.hpp"

using namespace gcnn;

namespace {

// Samples of a histogram of n_per_sample networks drawn from cell
// probabilities P (Gaussian approximation of the counting noise), with a
// constant phase S0 in every cell.
verify::Series synthetic(const std::vector<double>& P, int64_t samples, double n_per_sample, double S0) {
  verify::Series s;
  s.S = samples;
  s.cells = static_cast<int64_t>(P.size());
  const CounterRng rng(7);
  for (int64_t j = 0; j < samples; ++j) {
    s.step.push_back(j * 50);
    s.time.push_back(0.2 * static_cast<double>(j));
    for (int64_t c = 0; c < s.cells; ++c) {
      const double m = n_per_sample * P[c];
      const double z = rng.normal2(Purpose::VerifyNull, static_cast<uint64_t>(j), static_cast<uint64_t>(c), 0)[0];
      const int64_t n = std::max<int64_t>(0, std::llround(m + std::sqrt(m) * z));
      s.hist.push_back(n);
      s.phase_field.insert(s.phase_field.end(), {n * S0, n * S0 * S0, static_cast<double>(n)});
    }
  }
  return s;
}

}  // namespace

TEST(HamiltonJacobi, FitRecoversTheHbarOfAStationaryState) {
  const double hbar = 0.5;
  const Config c = test::config({{"model.loss", "double_well"}, {"model.M", "10000000"}, {"grid.n", "100"},
                                 {"solver.potential", "double_well"}, {"solver.hbar", "0.5"}});
  const Comm comm(MPI_COMM_WORLD);
  const SolveSetup st = make_solve_setup(c, comm);
  SchrodingerSolver solver(st.grid, false, st.hbar, st.mass, st.V, comm.raw());
  const auto eig = solver.eigenpairs(1);
  std::vector<double> P(eig.vectors[0].size());
  for (size_t i = 0; i < P.size(); ++i) P[i] = eig.vectors[0][i] * eig.vectors[0][i] * st.grid.cell_volume();
  const verify::Series s = synthetic(P, 40, 1e7, 0.3);
  verify::Verification v(c, s, comm);
  v.st0 = st;
  v.phys0 = c;
  v.blocks = 10;
  std::vector<int64_t> win(40);
  for (int64_t j = 0; j < 40; ++j) win[j] = j;
  const auto h = verify::hamilton_jacobi(v, win);
  ASSERT_GT(h.hbar2, 0);
  const double fit = std::sqrt(h.hbar2), err = h.hbar2_err / (2 * fit);
  std::printf("hbar fitted %.5f +- %.5f (true %.3f), chi^2/dof %.3f over %lld dof\n", fit, err, hbar,
              h.chi2 / static_cast<double>(h.dof), static_cast<long long>(h.dof));
  EXPECT_NEAR(fit, hbar, 4 * err);
  EXPECT_GT(std::fabs(fit - 2 * hbar), 10 * err);   // twice the true hbar is rejected
  EXPECT_GT(std::fabs(fit - hbar / 2), 10 * err);   // and half of it
  EXPECT_LT(h.chi2 / static_cast<double>(h.dof), 2.0);  // ~ nu/(nu-2) = 1.29 for block errors
}
