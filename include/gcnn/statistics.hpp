#pragma once
// Error bars for `gcnn verify` (docs/model.md §6): time series are correlated, so
// standard errors come from blocking; distances between distributions get
// their noise floor from a parametric bootstrap. All resampling is keyed by a
// fixed seed through Philox, so every verdict is reproducible.
#include <cstdint>
#include <functional>
#include <vector>

namespace gcnn::stats {

struct Estimate {
  double value = 0, error = 0;
};

// Standard error of the mean from `blocks` contiguous block means (for
// short series where the full transform has too few levels).
Estimate block_means(const std::vector<double>& x, int blocks);

// Mean of a correlated series with its standard error from the integrated
// autocorrelation time tau (in samples, 1 for independent data): tau =
// 1 + 2 sum_k rho(k), the sum cut at Sokal's automatic window, the first W
// with W >= 5 tau(W). Var(mean) = s^2 tau / (n - tau): the sample variance
// about the sample mean is low by the factor (1 - tau/n). A series much
// shorter than ~50 tau underestimates tau (its autocorrelation is seen
// through its own mean); `tau_floor` is a lower bound known from elsewhere
// (a model's relaxation rate), used when larger than the estimate.
struct CorrelatedMean {
  double value = 0, error = 0, tau = 1, tau_estimated = 1;
};
CorrelatedMean correlated_mean(const std::vector<double>& x, double tau_floor = 1.0);

// A slow collective mode of a vector series (e.g. a Fokker-Planck relaxation
// mode of a histogram: every cell moves at once): its amplitude in a sample
// is a = sum_i x_i left_i (normalised so that sum_i left_i pattern_i = 1), and
// it moves component i by a pattern_i. Components past the vectors' length
// (an extra cell) have no part in it.
struct CoherentMode {
  std::vector<double> left, pattern;
  double tau_floor = 1;  // a lower bound of its integrated autocorrelation time in samples (correlated_mean)
};
// Means of a vector series x[t][i] with their errors in two parts. Each mode's
// amplitude is one correlated series whose mean's error comes from its
// integrated autocorrelation time (correlated_mean, at least tau_floor): fixed
// blocks shorter than a few correlation times underestimate it. What is left
// of each component (the modes projected out in turn; they must be
// orthogonal, sum_i left_m,i pattern_n,i = 0 for m != n) is blocked over time
// (`blocks`), never below `floor_error[i]` (e.g. the multinomial error).
struct ModalMeans {
  std::vector<double> mean;                   // per component
  std::vector<double> fast;                   // the blocked part of the error
  std::vector<std::vector<double>> coherent;  // per mode and component: one standard deviation of its mean
  std::vector<CorrelatedMean> amplitude;      // per mode
  std::vector<double> sigma() const;          // both parts in quadrature
};
ModalMeans modal_means(const std::vector<std::vector<double>>& x, const std::vector<CoherentMode>& modes, int blocks,
                       const std::vector<double>& floor_error);

// Bootstrap: `statistic` evaluated on `n_boot` resamples (with replacement)
// of indices 0..n-1; returns the mean and standard deviation over resamples.
Estimate bootstrap(int64_t n, int n_boot, uint64_t seed,
                   const std::function<double(const std::vector<int64_t>& idx)>& statistic);

// Noise floor of a distance d(p_hat, p) when p_hat = p + noise with
// independent Gaussian per-cell standard deviations `sigma`: the mean, the
// standard deviation and the one-sided 3-sigma (99.865 %) quantile of d over
// `n_draws` synthetic draws.
struct NoiseFloor {
  double mean = 0, sd = 0, q3 = 0;
};
NoiseFloor noise_floor(const std::vector<double>& p, const std::vector<double>& sigma, int n_draws, uint64_t seed,
                       const std::function<double(const std::vector<double>& p_hat)>& distance);
// The same with coherent modes on top: p_hat = p + sigma xi + sum_m eta_m
// modes[m], eta_m ~ N(0, 1) (modes[m] holds one standard deviation of a
// collective fluctuation, e.g. the ensemble's slowest relaxation mode, whose
// cells move together). Without modes the draws are those above.
NoiseFloor noise_floor(const std::vector<double>& p, const std::vector<double>& sigma,
                       const std::vector<std::vector<double>>& modes, int n_draws, uint64_t seed,
                       const std::function<double(const std::vector<double>& p_hat)>& distance);

// Weighted least-squares line y = a + b x; returns slope b with its error.
Estimate wls_slope(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& sigma);

// The same line with its fit quality: chi^2 = sum ((y - a - b x)/sigma)^2
// over dof = n - 2, and `slope_scaled` whose error is multiplied by the Birge
// ratio sqrt(chi^2/dof) when that exceeds 1: points that scatter about the
// line more than their errors say (errors too small, or a line that does not
// describe them) make the slope's spread larger than the weighted error, and
// the scatter itself is then the honest measure of it.
struct LineFit {
  Estimate slope, slope_scaled;
  double intercept = 0, chi2 = 0;
  int64_t dof = 0;
};
LineFit wls_line(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& sigma);

// Generalised least-squares line y = a + b x for correlated y with
// covariance `cov` (n x n, row major, symmetric positive definite); returns
// slope b with its error sqrt([(X^T C^-1 X)^-1]_bb). Cholesky by LAPACK.
Estimate gls_slope(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& cov);

// Distances between densities given as cell probabilities (sum 1).
double l1(const std::vector<double>& a, const std::vector<double>& b);
double ks(const std::vector<double>& a, const std::vector<double>& b);  // 1-D: max |CDF_a - CDF_b|
double fidelity(const std::vector<double>& a, const std::vector<double>& b);  // (sum sqrt(a b))^2

}  // namespace gcnn::stats
