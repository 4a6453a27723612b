// The static null of the coherence (docs/model.md §5): for a Poisson number of
// neurons, F_N = const + N mu + T (ln N! - N ln nu), and at hbar = |mu|/(2 pi n)
// the Nmu phase winds by whole turns, leaving only the Stirling term:
// C -> (1 + 4 pi^2 n^2 T^2 / mu^2)^{-1/4} for large <N>. The verifier's null
// (q from a histogram, N from the file's ln e_N table, no dynamics) must
// reproduce the exact characteristic function of that law, and the closed form.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <numbers>

#include "gcnn/verification.hpp"
#include "test_util.hpp"

using namespace gcnn;

namespace {

// |E e^{i F_N / hbar}| under N ~ Poisson(nu), F_N = -T (N ln Lambda - ln N!).
double exact_coherence(double nu, double lnLambda, double T, double hbar, int NT) {
  std::complex<double> z = 0;
  for (int N = 0; N + 1 < NT; ++N) {
    const double lp = N * std::log(nu) - nu - std::lgamma(N + 1.0);
    const double F = -T * (N * lnLambda - std::lgamma(N + 1.0));
    z += std::exp(lp) * std::polar(1.0, F / hbar);
  }
  return std::abs(z);
}

}  // namespace

TEST(CoherenceNull, StaticResamplingReproducesThePoissonLawAndTheClosedForm) {
  const double mu = -1.5, T = 1.0, nu = 40.0;
  const Config c = test::config({{"model.M", "200000"}, {"model.mu", "-1.5"}, {"model.loss", "none"}, {"model.periodic", "true"},
                                 {"grid.n", "2"}, {"grid.lo", "-1"}, {"grid.hi", "1"}});
  verify::Series s;
  s.S = 1;
  s.cells = 2;
  s.NT = 160;
  s.hist = {150000, 50000};  // every network on the grid, unevenly
  const double lnLambda = std::log(nu) - mu / T;  // nu = e^{mu/T} Lambda
  for (int cell = 0; cell < 2; ++cell)
    for (int N = 0; N < s.NT; ++N) s.log_eN.push_back(N * lnLambda - std::lgamma(N + 1.0));
  const Comm comm(MPI_COMM_WORLD);
  verify::Verification v(c, s, comm);
  v.phys0 = c;
  const Grid g(c);
  const auto U = make_boundary_loss(c);
  std::vector<double> hbar;
  for (int n = 1; n <= 3; ++n) hbar.push_back(std::fabs(mu) / (2 * std::numbers::pi * n));
  hbar.push_back(0.37);  // off every revival
  const auto C = verify::static_null_coherence(v, g, *U, 0, hbar).sector;
  for (size_t h = 0; h < hbar.size(); ++h) {
    const double exact = exact_coherence(nu, lnLambda, T, hbar[h], static_cast<int>(s.NT));
    // per cell |Z|/n has sd sqrt((1 - C^2) / 2n); the smaller cell dominates
    const double sd = std::sqrt((1 - exact * exact) / (2.0 * 50000));
    EXPECT_NEAR(C[h], exact, 5 * sd + 2.0 / 50000) << "hbar " << hbar[h];
  }
  for (int n = 1; n <= 3; ++n) {
    const double closed = std::pow(1 + 4 * std::pow(std::numbers::pi * n * T / mu, 2), -0.25);
    const double exact = exact_coherence(nu, lnLambda, T, hbar[n - 1], static_cast<int>(s.NT));
    // the closed form is the large-<N> limit: corrections are O(1/<N>)
    EXPECT_NEAR(exact, closed, 1.0 / nu) << "n = " << n;
  }
  // off the revivals the phase of N mu does not wind back: far below the peak
  EXPECT_LT(C[3], 0.5 * C[0]);
}
