// The error bars of `gcnn verify` on synthetic data with known answers.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

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

// A coherent mode moves cells together: with a dipole pattern (+d/25 on the
// first 25 cells, -d/25 on the last 25) KS = |eta| d exactly, so its floor
// has mean d sqrt(2/pi) = 0.80 d and its 99.865 % quantile is 3.205 d.
// Independent cell noise of the same size per cell (the old floor) sums like
// a random bridge, ~0.33 d here: the demo's KS failure mode.
TEST(Statistics, NoiseFloorOfACoherentMode) {
  const double d = 0.01;
  std::vector<double> p(50, 0.02), none(50, 0.0), mode(50, d / 25), cell(50, d / 25);
  for (size_t i = 25; i < 50; ++i) mode[i] = -d / 25;
  const auto ks = [&](const std::vector<double>& ph) { return stats::ks(ph, p); };
  const auto f = stats::noise_floor(p, none, {mode}, 4000, 5, ks);
  const double sd = d * std::sqrt(1 - 2 / M_PI);
  EXPECT_NEAR(f.mean, d * std::sqrt(2 / M_PI), 4 * sd / std::sqrt(4000.0));
  EXPECT_NEAR(f.q3, 3.205 * d, 0.3 * d);  // a 99.865 % quantile of 4000 draws scatters by ~0.1 d
  EXPECT_LT(stats::noise_floor(p, cell, 4000, 5, ks).mean, f.mean / 2);
}

// The integrated autocorrelation time of AR(1) is (1 + phi)/(1 - phi)
// (29.8 samples at phi = 0.935). Sokal's window on 2^18 samples (~9000 tau)
// estimates it to sqrt(2 (2 W + 1)/n) ~ 5 % (W ~ 5 tau): 15 % is 3 sigma.
TEST(Statistics, CorrelatedMeanFindsTheAutocorrelationTime) {
  const size_t n = 1 << 18;
  const double phi = 0.935, tau = (1 + phi) / (1 - phi);
  const double exact = std::sqrt(1.0 / (1 - phi * phi) * tau / static_cast<double>(n));
  for (uint64_t seed = 1; seed <= 2; ++seed) {
    const auto e = stats::correlated_mean(ar1(n, phi, seed));
    EXPECT_NEAR(e.tau_estimated / tau, 1.0, 0.15);
    EXPECT_NEAR(e.error / exact, 1.0, 0.15);
    EXPECT_EQ(e.tau, e.tau_estimated);
  }
}

// verify's regime (the demo at 20 000 steps: 281 samples of a mode with
// tau ~ 28 samples): a window of ~10 tau. Over 2000 stationary AR(1)
// replicates of n = 300 at tau = 29.8, the mean squared error estimate must
// match the exact variance of the mean, sigma^2/n [1 + 2 sum (1 - k/n) phi^k].
// With tau known (tau_floor, as verify takes it from lambda_1) it does to a
// few per cent (the s^2 of one replicate scatters by ~45 %, over 2000 by
// 1 %; 10 % allows the O(tau/n)^2 terms the formula drops). Ten fixed blocks
// (the old verify: blocks of ~tau) find 0.75 of the error, and so does the
// data's own tau estimate on so short a series.
TEST(Statistics, CorrelatedMeanIsHonestOnAWindowOfTenCorrelationTimes) {
  const int n = 300, reps = 2000;
  const double phi = 0.935, tau = (1 + phi) / (1 - phi), var = 1 / (1 - phi * phi);
  double sum = 1;
  for (int k = 1; k < n; ++k) sum += 2 * (1 - static_cast<double>(k) / n) * std::pow(phi, k);
  const double exact2 = var / n * sum;
  const CounterRng rng(2021);
  double with_tau = 0, data_only = 0, blocks = 0;
  for (int r = 0; r < reps; ++r) {
    std::vector<double> x(n);
    double e = 0;
    for (int t = 0; t < n; ++t) {  // stationary from the first sample
      const auto z = rng.normal2(Purpose::VerifyNull, static_cast<uint64_t>(r), static_cast<uint64_t>(t), 1);
      e = t == 0 ? std::sqrt(var) * z[0] : phi * e + z[0];
      x[static_cast<size_t>(t)] = e;
    }
    with_tau += std::pow(stats::correlated_mean(x, tau).error, 2);
    data_only += std::pow(stats::correlated_mean(x).error, 2);
    blocks += std::pow(stats::block_means(x, 10).error, 2);
  }
  EXPECT_NEAR(std::sqrt(with_tau / reps / exact2), 1.0, 0.1);
  EXPECT_LT(std::sqrt(blocks / reps / exact2), 0.85);
  EXPECT_LT(std::sqrt(data_only / reps / exact2), 0.85);
}

// A K = 2 double well has two slow modes (one well imbalance per axis, equal
// rates), not one. A 40-cell "histogram" with two orthogonal dipole modes
// whose amplitudes are stationary AR(1) series of the same tau = 29.8 samples
// over n = 300 samples (verify's regime: ~10 tau), plus independent cell
// noise: the variance of a cell's mean is exactly
// sum_m pattern_m^2 Var(mean a_m) + s^2/n (AR(1) formula as above). With both
// modes coherent (their tau floor known) modal_means' sigma^2 matches it over
// 600 replicates to 10 % (as CorrelatedMeanIsHonest...: ~1 % scatter, O(tau/n)^2
// terms); with only the first coherent (the old T1.2, whose psi_1 is then an
// arbitrary direction of the pair) the second is blocked in ten blocks of
// ~tau and sigma^2 comes out at ~0.75 of the truth on its share, below 0.85.
// The cells' own noise leaks into each amplitude (sum_i left_i s xi_i) and is
// counted with the mode's tau, which errs on the safe side: by 40 s^2 tau /
// (amp^2 var) ~ 0.3 % here (12 % at s = 2e-4).
TEST(Statistics, ModalMeansTreatEverySlowModeCoherently) {
  const int n = 300, reps = 600, C = 40;
  const double phi = 0.935, tau = (1 + phi) / (1 - phi), var = 1 / (1 - phi * phi), amp = 0.002, s = 5e-5;
  double sum = 1;
  for (int k = 1; k < n; ++k) sum += 2 * (1 - static_cast<double>(k) / n) * std::pow(phi, k);
  const double var_abar = var / n * sum * amp * amp;  // variance of the window mean of amp * AR(1)
  std::vector<stats::CoherentMode> modes(2);
  for (int m = 0; m < 2; ++m) {
    modes[m].pattern.resize(C);
    modes[m].left.resize(C);
    modes[m].tau_floor = tau;
    for (int i = 0; i < C; ++i) {  // mode 0: left half against right; mode 1: quarters 1+3 against 2+4
      const bool up = m == 0 ? i < C / 2 : (i / (C / 4)) % 2 == 0;
      modes[m].pattern[i] = up ? 1.0 / C : -1.0 / C;
      modes[m].left[i] = up ? 1.0 : -1.0;  // sum left pattern = 1
    }
  }
  const double exact2 = 2 * var_abar / (C * C) + s * s / n;  // every cell sees both modes by 1/C
  const CounterRng rng(4242);
  double both = 0, first_only = 0;
  for (int r = 0; r < reps; ++r) {
    std::vector<std::vector<double>> x(n, std::vector<double>(C));
    double a[2] = {0, 0};
    for (int t = 0; t < n; ++t) {
      const auto z = rng.normal2(Purpose::VerifyNull, static_cast<uint64_t>(r), static_cast<uint64_t>(t), 5);
      for (int m = 0; m < 2; ++m) a[m] = t == 0 ? std::sqrt(var) * z[m] : phi * a[m] + z[m];
      for (int i = 0; i < C; i += 2) {
        const auto e = rng.normal2(Purpose::VerifyNull, static_cast<uint64_t>(r), static_cast<uint64_t>(t), 6 + i);
        for (int d = 0; d < 2; ++d)
          x[t][i + d] = 1.0 / C + amp * (a[0] * modes[0].pattern[i + d] + a[1] * modes[1].pattern[i + d]) +
                        s * e[d];
      }
    }
    const auto full = stats::modal_means(x, modes, 10, {});
    const auto old = stats::modal_means(x, {modes[0]}, 10, {});
    ASSERT_EQ(full.amplitude.size(), 2u);
    for (int i = 0; i < C; ++i) {
      both += std::pow(full.sigma()[i], 2) / C;
      first_only += std::pow(old.sigma()[i], 2) / C;
    }
  }
  std::printf("sigma^2 / exact: both modes coherent %.3f, the first only %.3f\n", both / reps / exact2,
              first_only / reps / exact2);
  EXPECT_NEAR(both / reps / exact2, 1.0, 0.1);
  EXPECT_LT(first_only / reps / exact2, 0.85);
}

TEST(Statistics, WeightedSlopeOfAnExactLine) {
  std::vector<double> x{0, 1, 2, 3, 4}, y, s(5, 0.1);
  for (double v : x) y.push_back(2 - 0.5 * v);
  const auto e = stats::wls_slope(x, y, s);
  EXPECT_NEAR(e.value, -0.5, 1e-12);
  EXPECT_NEAR(e.error, 0.1 / std::sqrt(10.0), 1e-12);  // sigma / sqrt(sum (x - xbar)^2)
}

// T2.9e's situation: the points scatter about the line by twice the error
// they quote (the demo's Hamilton-Jacobi fit has chi^2/dof ~ 2 and its hbar^2
// scatters over seeds by 1.6x the weighted error). Over 1000 replicates of
// 50 points the slope's spread is then twice the weighted error; the
// Birge-scaled error must match it. The spread of 1000 slopes is known to
// 1/sqrt(2000) = 2.2 % and the scaled error scatters by sqrt(2/48)/2 = 10 %
// per replicate (0.3 % over all), so 8 % is over 3 sigma; the unscaled error
// (0.5 of the spread) fails that. With honest errors the scaling stays
// within 8 % of the spread too (max(1, chi^2/dof) adds ~ +5 %).
TEST(Statistics, BirgeScaledSlopeErrorFollowsTheScatter) {
  const int n = 50, reps = 1000;
  std::vector<double> x(n), s(n);
  for (int i = 0; i < n; ++i) {
    x[static_cast<size_t>(i)] = -1 + 2.0 * i / (n - 1);
    s[static_cast<size_t>(i)] = 0.05 * (1 + (i % 3));  // unequal weights
  }
  const CounterRng rng(77);
  for (const double under : {2.0, 1.0}) {  // true scatter / quoted error
    double sb = 0, sbb = 0, scaled2 = 0, plain2 = 0;
    for (int r = 0; r < reps; ++r) {
      std::vector<double> y(n);
      for (int i = 0; i < n; ++i) {
        const auto z = rng.normal2(Purpose::VerifyNull, static_cast<uint64_t>(r), static_cast<uint64_t>(i), 3);
        y[static_cast<size_t>(i)] = 1 + 0.7 * x[static_cast<size_t>(i)] + under * s[static_cast<size_t>(i)] * z[0];
      }
      const auto f = stats::wls_line(x, y, s);
      EXPECT_EQ(f.dof, n - 2);
      EXPECT_EQ(f.slope_scaled.value, f.slope.value);
      sb += f.slope.value;
      sbb += f.slope.value * f.slope.value;
      scaled2 += f.slope_scaled.error * f.slope_scaled.error;
      plain2 += f.slope.error * f.slope.error;
    }
    const double spread = std::sqrt((sbb - sb * sb / reps) / (reps - 1));
    EXPECT_NEAR(sb / reps, 0.7, 4 * spread / std::sqrt(static_cast<double>(reps)));
    EXPECT_NEAR(std::sqrt(scaled2 / reps) / spread, 1.0, 0.08) << "scatter " << under << "x the quoted error";
    EXPECT_NEAR(std::sqrt(plain2 / reps) / spread, 1.0 / under, 0.08);
  }
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
