// The deterministic exp/tanh of the hot loops: accuracy against libm, and
// bitwise agreement between vectorised and scalar evaluation (MODEL.md §7).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "gcnn/fastmath.hpp"

namespace {

[[gnu::noinline]] double scalar_exp(double x) { return gcnn::fm::exp(x); }
[[gnu::noinline]] double scalar_tanh(double x) { return gcnn::fm::tanh(x); }

TEST(FastMath, ExpWithinThreeUlpOfLibm) {
  double worst = 0;
  for (int i = 0; i <= 200000; ++i) {
    const double x = -700.0 + 1400.0 * i / 200000.0 + 1e-7 * (i % 7);
    const double ref = std::exp(x);
    worst = std::max(worst, std::fabs(gcnn::fm::exp(x) - ref) / ref);
  }
  EXPECT_LT(worst, 3 * 0x1p-52) << "worst relative error " << worst;
}

TEST(FastMath, ExpClampsInsteadOfOverflowing) {
  EXPECT_TRUE(std::isfinite(gcnn::fm::exp(1e6)));
  EXPECT_GT(gcnn::fm::exp(-1e6), 0.0);
  EXPECT_TRUE(std::isfinite(gcnn::fm::two_cosh(800.0)));
}

TEST(FastMath, TanhAbsoluteErrorBelowTwoUlpOfOne) {
  double worst = 0;
  for (int i = 0; i <= 100000; ++i) {
    const double y = -40.0 + 80.0 * i / 100000.0;
    worst = std::max(worst, std::fabs(gcnn::fm::tanh(y) - std::tanh(y)));
  }
  EXPECT_LT(worst, 2 * 0x1p-52) << "worst absolute error " << worst;
}

TEST(FastMath, VectorAndScalarPathsAgreeBitwise) {
  const int n = 1037;  // not a multiple of any vector width: exercises tails
  std::vector<double> x(n), ve(n), vt(n);
  for (int i = 0; i < n; ++i) x[i] = -30.0 + 60.0 * i / n + 1e-3 * std::sin(i);
#pragma omp simd
  for (int i = 0; i < n; ++i) {
    ve[i] = gcnn::fm::exp(x[i]);
    vt[i] = gcnn::fm::tanh(x[i]);
  }
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(ve[i], scalar_exp(x[i])) << "i = " << i;
    EXPECT_EQ(vt[i], scalar_tanh(x[i])) << "i = " << i;
  }
}

}  // namespace

// fm::log and fm::log1p (used by the analytic Omega tables) against glibc.
TEST(FastMath, LogAndLog1p) {
  double worst = 0, worst1p = 0;
  for (int i = 0; i < 200000; ++i) {
    const double x = std::exp(-700.0 + 1400.0 * (i + 0.5) / 200000.0);
    worst = std::max(worst, std::fabs(gcnn::fm::log(x) - std::log(x)) / std::max(std::fabs(std::log(x)), 1e-300));
    const double y = std::exp(-40.0 + 50.0 * (i + 0.5) / 200000.0);
    worst1p = std::max(worst1p, std::fabs(gcnn::fm::log1p(y) - std::log1p(y)) / std::log1p(y));
  }
  EXPECT_LT(worst, 4e-16);
  EXPECT_LT(worst1p, 6e-16);
  EXPECT_EQ(gcnn::fm::log(1.0), 0.0);
}
