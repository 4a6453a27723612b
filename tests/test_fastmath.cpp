// The deterministic exp/tanh of the hot loops: accuracy against libm, and
// bitwise agreement between vectorised and scalar evaluation (docs/model.md §7).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "gcnn/fastmath.hpp"
#include "gcnn/rng.hpp"

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

// The build-independent arithmetic (docs/model-notes.md 26): fmadd rounds the
// product before the sum on every build. a b = 1 - 2^-60 exactly; rounded it
// is 1, so the unfused result is 0 while a fused multiply-add gives -2^-60.
// Fails if fmadd ever becomes a fused multiply-add again on an FMA build.
TEST(FastMath, FmaddIsUnfusedOnEveryBuild) {
  volatile double a = 1.0 + 0x1p-30, b = 1.0 - 0x1p-30, c = -1.0;  // volatile: no constant folding
  EXPECT_EQ(std::fma(a, b, c), -0x1p-60);  // the fused rounding differs here
  EXPECT_EQ(gcnn::fm::fmadd(a, b, c), 0.0);
  const double prod = a * b;
  EXPECT_EQ(gcnn::fm::fmadd(a, b, c), prod + c);
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

// fm::sincospi (the Box-Muller angle of the learning noise) against glibc,
// over [-1, 1] including the quadrant boundaries, where the reduction
// x - n/2 must be exact.
TEST(FastMath, SinCosPiAbsoluteErrorBelowThreeE16) {
  double worst_s = 0, worst_c = 0;
  auto check = [&](double x) {
    double s, c;
    gcnn::fm::sincospi(x, s, c);
    const long double px = 3.141592653589793238462643383279502884L * static_cast<long double>(x);
    worst_s = std::max(worst_s, static_cast<double>(std::fabs(s - std::sin(px))));
    worst_c = std::max(worst_c, static_cast<double>(std::fabs(c - std::cos(px))));
  };
  for (int i = 0; i <= 200000; ++i) check(-1.0 + 2.0 * i / 200000.0 + 1e-9 * (i % 3));
  for (double q : {-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0})
    for (double d : {0.0, 0x1p-53, -0x1p-53, 0x1p-30, -0x1p-30}) check(std::clamp(q + d, -1.0, 1.0));
  EXPECT_LT(worst_s, 3e-16);
  EXPECT_LT(worst_c, 3e-16);
  double s, c;
  gcnn::fm::sincospi(0.5, s, c);
  EXPECT_EQ(s, 1.0);
  EXPECT_EQ(c, 0.0);
  gcnn::fm::sincospi(-1.0, s, c);
  EXPECT_EQ(c, -1.0);
}

// The learning noise is r123::boxmuller's transform with fastmath's log and
// sincospi: same inputs, values within a few ulp; and bitwise the same in
// vector lanes and scalar code.
TEST(FastMath, BoxMullerMatchesRandom123AndVectorisesBitwise) {
  gcnn::CounterRng rng(12345);
  const int n = 1003;
  std::vector<double> v0(n), v1(n);
#pragma omp simd
  for (int i = 0; i < n; ++i) {
    double a, b;
    rng.normal_pair(gcnn::Purpose::LearningNoise, 7, static_cast<uint64_t>(i), 0, a, b);
    v0[i] = a;
    v1[i] = b;
  }
  double worst = 0;
  for (int i = 0; i < n; ++i) {
    double xi[2];
    rng.normals<2>(gcnn::Purpose::LearningNoise, 7, static_cast<uint64_t>(i), xi);
    EXPECT_EQ(v0[i], xi[0]) << "i = " << i;
    EXPECT_EQ(v1[i], xi[1]) << "i = " << i;
    const auto r = rng.draw(gcnn::Purpose::LearningNoise, 7, static_cast<uint64_t>(i));
    const r123::double2 ref = r123::boxmuller((static_cast<uint64_t>(r.v[1]) << 32) | r.v[0],
                                              (static_cast<uint64_t>(r.v[3]) << 32) | r.v[2]);
    worst = std::max({worst, std::fabs(xi[0] - ref.x), std::fabs(xi[1] - ref.y)});
  }
  EXPECT_LT(worst, 1e-14) << "fm Box-Muller vs r123::boxmuller";
}
