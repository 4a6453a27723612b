#include "gcnn/relaxation.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "gcnn/statistics.hpp"

namespace gcnn::relaxation {

SlowestMode::SlowestMode(const std::vector<double>& psi0, const std::vector<double>& psi1)
    : ratio_(psi0.size(), 0.0), used_(psi0.size(), 0) {
  if (psi1.size() != psi0.size()) throw std::logic_error("SlowestMode: psi_0 and psi_1 differ in size");
  double vmax = 0;
  for (double x : psi0) vmax = std::max(vmax, std::fabs(x));
  for (size_t i = 0; i < psi0.size(); ++i) {
    if (std::fabs(psi0[i]) < 1e-6 * vmax) continue;
    ratio_[i] = psi1[i] / psi0[i];
    used_[i] = 1;
  }
}

SlowestMode::Amplitude SlowestMode::amplitude(const std::vector<double>& P, double n_networks) const {
  if (P.size() != ratio_.size()) throw std::logic_error("SlowestMode: density on the wrong grid");
  double c1 = 0, c2 = 0;
  for (size_t i = 0; i < P.size(); ++i) {
    if (!used_[i]) continue;
    const double r = ratio_[i];
    c1 += P[i] * r;
    c2 += P[i] * r * r;
  }
  return Amplitude{c1, std::sqrt(std::max(c2 - c1 * c1, 1e-300) / n_networks)};
}

namespace {

// The samples follow the same n networks, so they are correlated: with r the
// slowest eigenfunction of the backward generator, E[r(q_t')|q_t] =
// e^{-lambda(t'-t)} r(q_t), hence Cov(c_1(t), c_1(t')) = e^{-lambda|t'-t|}
// Var_t(r)/n. Generalised least squares on y = ln|c_1| with that covariance
// (delta method; lambda from the fit itself, iterated) gives the honest
// error, where the independent-sample fit is ~2.5x too small at dense
// sampling (docs/model-notes.md 18). sy = sigma(c_1)/|c_1|.
stats::Estimate correlated_slope(const std::vector<double>& t, const std::vector<double>& y,
                                 const std::vector<double>& sy) {
  const size_t n = t.size();
  stats::Estimate e = stats::wls_slope(t, y, sy);
  std::vector<double> cov(n * n);
  for (int iter = 0; iter < 3; ++iter) {
    const double lambda = std::max(0.0, -e.value);
    for (size_t i = 0; i < n; ++i)
      for (size_t k = 0; k < n; ++k) {
        const size_t a = std::min(i, k), b = std::max(i, k);  // Var at the earlier time
        cov[i * n + k] = std::exp(-lambda * (t[b] - t[a])) * sy[a] * sy[a] * std::exp(y[a] - y[b]);
      }
    e = stats::gls_slope(t, y, cov);
  }
  return e;
}

}  // namespace

RateFit fit_rate(const std::vector<double>& t, const std::vector<std::vector<double>>& P, const SlowestMode& mode,
                 double lambda2, double n_networks) {
  if (t.size() != P.size()) throw std::logic_error("fit_rate: times and densities differ in number");
  RateFit f;
  std::vector<double> fx, fy, fs;
  for (size_t j = 0; j < t.size(); ++j) {
    const auto a = mode.amplitude(P[j], n_networks);
    f.t.push_back(t[j]);
    f.c1.push_back(a.c1);
    f.sigma.push_back(a.sigma);
    const bool use = t[j] >= 1.0 / lambda2 && std::fabs(a.c1) > 3 * a.sigma;
    f.used.push_back(use ? 1 : 0);
    if (use) {
      fx.push_back(t[j]);
      fy.push_back(std::log(std::fabs(a.c1)));
      fs.push_back(a.sigma / std::fabs(a.c1));
    }
  }
  f.n_used = fx.size();
  if (f.valid()) {
    const auto sl = correlated_slope(fx, fy, fs);
    f.rate = -sl.value;
    f.error = sl.error;
    f.error_if_independent = stats::wls_slope(fx, fy, fs).error;
  } else {
    f.rate = f.error = NAN;
  }
  return f;
}

double continuous_rate(double rate_dt, double dt) { return std::expm1(rate_dt * dt) / dt; }

}  // namespace gcnn::relaxation
