// The error bars of `gcnn verify` on synthetic data with known answers.
#include <gtest/gtest.h>

#include <cmath>

#include "gcnn/rng.hpp"
#include "gcnn/statistics.hpp"

using namespace gcnn;

namespace {
std::vector<double> ar1(size_t n, double phi, uint64_t seed) {  // x_t = phi x_{t-1} + N(0,1)
  CounterRng rng(seed);
  std::vector<double> x(n);
  double prev = 0;
  for (size_t t = 0; t < n; ++t) {
    double xi[2];
    rng.normals<2>(Purpose::HiddenSample, t, 0, xi);
    prev = phi * prev + xi[0];
    x[t] = prev;
  }
  return x;
}
}  // namespace

// AR(1): the standard error of the mean is sqrt(var/n * (1+phi)/(1-phi)),
// var = 1/(1-phi^2). Block means (verify's estimator) must find it; the
// naive error is 4.4x smaller. With 64 blocks of 2048 samples (the
// correlation time (1+phi)/(1-phi) = 19 steps: bias ~1 %) the estimate
// scatters by 1/sqrt(2 * 63) = 9 %; 0.3 is over 3 sigma for each seed.
TEST(Statistics, BlockMeansRecoverTheCorrelatedError) {
  const size_t n = 1 << 17;
  const double phi = 0.9;
  const double exact = std::sqrt(1.0 / (1 - phi * phi) / n * (1 + phi) / (1 - phi));
  double worst = 0;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    const auto e = stats::block_means(ar1(n, phi, seed), 64);
    worst = std::max(worst, std::fabs(e.error / exact - 1));
    EXPECT_LT(std::fabs(e.value), 5 * exact);
  }
  EXPECT_LT(worst, 0.3);
}

TEST(Statistics, BlockMeansOfIndependentData) {
  const auto x = ar1(100000, 0.0, 7);
  const auto e = stats::block_means(x, 20);
  EXPECT_NEAR(e.error, 1 / std::sqrt(100000.0), 0.4 / std::sqrt(100000.0));
}

// Bootstrap of the mean of n iid N(0,1): standard deviation 1/sqrt(n).
TEST(Statistics, BootstrapOfTheMean) {
  const auto x = ar1(400, 0.0, 11);
  const auto b = stats::bootstrap(400, 2000, 99, [&](const std::vector<int64_t>& idx) {
    double s = 0;
    for (auto i : idx) s += x[static_cast<size_t>(i)];
    return s / static_cast<double>(idx.size());
  });
  EXPECT_NEAR(b.error, 0.05, 0.006);  // 1/sqrt(400), bootstrap scatter ~ 1/sqrt(2*2000) and the sample sd
}

// Noise floor of L1 with Gaussian cell noise: E = sqrt(2/pi) sum sigma_i.
TEST(Statistics, NoiseFloorOfL1) {
  std::vector<double> p(50, 0.02), sigma(50, 0.001);
  const auto f = stats::noise_floor(p, sigma, 4000, 5, [&](const std::vector<double>& ph) { return stats::l1(ph, p); });
  const double expect = std::sqrt(2 / M_PI) * 50 * 0.001;
  const double sd = std::sqrt((1 - 2 / M_PI) * 50) * 0.001;
  EXPECT_NEAR(f.mean, expect, 4 * sd / std::sqrt(4000.0));
  EXPECT_NEAR(f.sd, sd, 0.1 * sd);
  EXPECT_GT(f.q3, f.mean + 2.5 * f.sd);
}

TEST(Statistics, WeightedSlopeOfAnExactLine) {
  std::vector<double> x{0, 1, 2, 3, 4}, y, s(5, 0.1);
  for (double v : x) y.push_back(2 - 0.5 * v);
  const auto e = stats::wls_slope(x, y, s);
  EXPECT_NEAR(e.value, -0.5, 1e-12);
  EXPECT_NEAR(e.error, 0.1 / std::sqrt(10.0), 1e-12);  // sigma / sqrt(sum (x - xbar)^2)
}

TEST(Statistics, GeneralisedSlopeEqualsWeightedForDiagonalCovariance) {
  std::vector<double> x{0, 1, 2, 3, 4}, y{2.1, 1.4, 1.1, 0.4, 0.1}, s{0.1, 0.2, 0.1, 0.3, 0.1}, cov(25, 0.0);
  for (int i = 0; i < 5; ++i) cov[i * 5 + i] = s[i] * s[i];
  const auto w = stats::wls_slope(x, y, s), g = stats::gls_slope(x, y, cov);
  EXPECT_NEAR(g.value, w.value, 1e-12);
  EXPECT_NEAR(g.error, w.error, 1e-12);
}

// Samples of a relaxing amplitude are correlated (AR(1) noise, correlation
// time 8 samples): the GLS error must match the spread of the slope over
// replicates, where the independent-error fit underestimates it ~2.5x.
TEST(Statistics, GeneralisedSlopeErrorIsHonestForCorrelatedNoise) {
  const int n = 40, reps = 3000;
  const double sig = 0.05, rho = std::exp(-1.0 / 8.0);
  std::vector<double> x(n), cov(n * n), s(n, sig);
  for (int i = 0; i < n; ++i) x[i] = i;
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < n; ++k) cov[i * n + k] = sig * sig * std::pow(rho, std::abs(i - k));
  const CounterRng rng(99);
  double m = 0, m2 = 0, gerr = 0, werr = 0;
  for (int r = 0; r < reps; ++r) {
    std::vector<double> y(n);
    double e = 0;
    for (int i = 0; i < n; ++i) {
      const auto z = rng.normal2(Purpose::VerifyNull, static_cast<uint64_t>(r), static_cast<uint64_t>(i), 0);
      e = i == 0 ? sig * z[0] : rho * e + sig * std::sqrt(1 - rho * rho) * z[0];
      y[i] = 1.0 - 0.02 * x[i] + e;
    }
    const auto g = stats::gls_slope(x, y, cov);
    m += g.value;
    m2 += g.value * g.value;
    gerr = g.error;
    werr = stats::wls_slope(x, y, s).error;
  }
  m /= reps;
  const double sd = std::sqrt(m2 / reps - m * m);
  EXPECT_NEAR(m, -0.02, 4 * sd / std::sqrt(static_cast<double>(reps)));
  EXPECT_NEAR(gerr, sd, 0.08 * sd);  // the sd of a sample sd over 3000 replicates is 1.3 %
  EXPECT_GT(sd / werr, 2.0);
}

TEST(Statistics, Distances) {
  const std::vector<double> a{0.5, 0.5, 0}, b{0, 0.5, 0.5};
  EXPECT_DOUBLE_EQ(stats::l1(a, b), 1.0);
  EXPECT_DOUBLE_EQ(stats::ks(a, b), 0.5);
  EXPECT_DOUBLE_EQ(stats::fidelity(a, a), 1.0);
  EXPECT_DOUBLE_EQ(stats::fidelity(a, b), 0.25);
}
