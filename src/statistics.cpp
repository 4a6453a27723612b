#include "gcnn/statistics.hpp"

#include <petscsys.h>
#include <petscblaslapack.h>

#include <algorithm>
#include <cmath>

#include "gcnn/rng.hpp"

namespace gcnn::stats {

namespace {
double mean_of(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += v;
  return x.empty() ? 0.0 : s / static_cast<double>(x.size());
}
double sem(const std::vector<double>& x) {  // naive standard error of the mean
  const size_t n = x.size();
  if (n < 2) return 0;
  const double m = mean_of(x);
  double v = 0;
  for (double a : x) v += (a - m) * (a - m);
  return std::sqrt(v / static_cast<double>(n - 1) / static_cast<double>(n));
}
}  // namespace

Estimate block_means(const std::vector<double>& x, int blocks) {
  const size_t n = x.size();
  const size_t B = std::min<size_t>(static_cast<size_t>(std::max(blocks, 2)), n);
  std::vector<double> m(B, 0.0);
  for (size_t b = 0; b < B; ++b) {
    const size_t lo = b * n / B, hi = (b + 1) * n / B;
    for (size_t i = lo; i < hi; ++i) m[b] += x[i];
    m[b] /= static_cast<double>(hi - lo);
  }
  return Estimate{mean_of(x), sem(m)};
}

CorrelatedMean correlated_mean(const std::vector<double>& x, double tau_floor) {
  const size_t n = x.size();
  CorrelatedMean r;
  r.value = mean_of(x);
  if (n < 2) return r;
  std::vector<double> d(n);
  for (size_t i = 0; i < n; ++i) d[i] = x[i] - r.value;
  double c0 = 0;
  for (double a : d) c0 += a * a;
  c0 /= static_cast<double>(n);
  if (!(c0 > 0)) return r;
  double tau = 1;
  for (size_t w = 1; w < n / 2; ++w) {  // Sokal's window: stop at the first w >= 5 tau(w)
    double ck = 0;
    for (size_t i = 0; i + w < n; ++i) ck += d[i] * d[i + w];
    tau += 2 * ck / (static_cast<double>(n) * c0);
    if (static_cast<double>(w) >= 5 * tau) break;
  }
  r.tau_estimated = std::max(tau, 1.0);  // a negative sum is noise around independence
  r.tau = std::max(r.tau_estimated, tau_floor);
  const double s2 = c0 * static_cast<double>(n) / static_cast<double>(n - 1);
  // n - tau: the sample variance misses the mean's own variance, s^2 tau/n;
  // at n <= 2 tau the series holds about one independent value: error s.
  r.error = std::sqrt(s2 * r.tau / std::max(static_cast<double>(n) - r.tau, r.tau));
  return r;
}

ModalMeans modal_means(const std::vector<std::vector<double>>& x, const std::vector<CoherentMode>& modes, int blocks,
                       const std::vector<double>& floor_error) {
  const size_t T = x.size(), C = T ? x[0].size() : 0, Mo = modes.size();
  ModalMeans r;
  std::vector<std::vector<double>> rest(C, std::vector<double>(T)), amp(Mo, std::vector<double>(T));
  std::vector<double> p;
  for (size_t t = 0; t < T; ++t) {
    p = x[t];
    for (size_t m = 0; m < Mo; ++m) {
      const auto& md = modes[m];
      const size_t G = std::min(md.left.size(), C);
      double a = 0;
      for (size_t i = 0; i < G; ++i) a += p[i] * md.left[i];
      amp[m][t] = a;
      for (size_t i = 0; i < std::min(md.pattern.size(), C); ++i) p[i] -= a * md.pattern[i];
    }
    for (size_t i = 0; i < C; ++i) rest[i][t] = p[i];
  }
  for (size_t m = 0; m < Mo; ++m) r.amplitude.push_back(correlated_mean(amp[m], modes[m].tau_floor));
  r.mean.assign(C, 0.0);
  r.fast.assign(C, 0.0);
  r.coherent.assign(Mo, std::vector<double>(C, 0.0));
  for (size_t i = 0; i < C; ++i) {
    const auto b = block_means(rest[i], blocks);
    r.mean[i] = b.value;
    r.fast[i] = std::max(b.error, i < floor_error.size() ? floor_error[i] : 0.0);
    for (size_t m = 0; m < Mo; ++m) {
      const double shape = i < modes[m].pattern.size() ? modes[m].pattern[i] : 0.0;
      r.mean[i] += r.amplitude[m].value * shape;
      r.coherent[m][i] = r.amplitude[m].error * shape;
    }
  }
  return r;
}

std::vector<double> ModalMeans::sigma() const {
  std::vector<double> s(fast.size());
  for (size_t i = 0; i < s.size(); ++i) {
    double v = fast[i] * fast[i];
    for (const auto& c : coherent) v += c[i] * c[i];
    s[i] = std::sqrt(v);
  }
  return s;
}

Estimate bootstrap(int64_t n, int n_boot, uint64_t seed,
                   const std::function<double(const std::vector<int64_t>& idx)>& statistic) {
  CounterRng rng(seed);
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::vector<double> vals(static_cast<size_t>(n_boot));
  for (int b = 0; b < n_boot; ++b) {
    for (int64_t i = 0; i < n; ++i) {
      const auto r = rng.draw(Purpose::HiddenSample, static_cast<uint64_t>(b), static_cast<uint64_t>(i));
      idx[static_cast<size_t>(i)] = static_cast<int64_t>(CounterRng::u01_64(r.v[0], r.v[1]) * static_cast<double>(n));
      if (idx[static_cast<size_t>(i)] >= n) idx[static_cast<size_t>(i)] = n - 1;
    }
    vals[static_cast<size_t>(b)] = statistic(idx);
  }
  const double m = mean_of(vals);
  double v = 0;
  for (double a : vals) v += (a - m) * (a - m);
  return Estimate{m, std::sqrt(v / std::max(1, n_boot - 1))};
}

NoiseFloor noise_floor(const std::vector<double>& p, const std::vector<double>& sigma, int n_draws, uint64_t seed,
                       const std::function<double(const std::vector<double>& p_hat)>& distance) {
  return noise_floor(p, sigma, {}, n_draws, seed, distance);
}

NoiseFloor noise_floor(const std::vector<double>& p, const std::vector<double>& sigma,
                       const std::vector<std::vector<double>>& modes, int n_draws, uint64_t seed,
                       const std::function<double(const std::vector<double>& p_hat)>& distance) {
  CounterRng rng(seed);
  std::vector<double> ph(p.size()), d(static_cast<size_t>(n_draws));
  for (int b = 0; b < n_draws; ++b) {
    for (size_t i = 0; i < p.size(); i += 2) {
      double xi[2];
      rng.normals<2>(Purpose::HiddenSample, static_cast<uint64_t>(b), static_cast<uint64_t>(i), xi);
      ph[i] = p[i] + sigma[i] * xi[0];
      if (i + 1 < p.size()) ph[i + 1] = p[i + 1] + sigma[i + 1] * xi[1];
    }
    for (size_t m = 0; m < modes.size(); ++m) {  // counters p.size() + m: apart from the cells' (even, < p.size())
      double eta[2];
      rng.normals<2>(Purpose::HiddenSample, static_cast<uint64_t>(b), p.size() + m, eta);
      for (size_t i = 0; i < p.size(); ++i) ph[i] += modes[m][i] * eta[0];
    }
    d[static_cast<size_t>(b)] = distance(ph);
  }
  NoiseFloor f;
  f.mean = mean_of(d);
  double v = 0;
  for (double a : d) v += (a - f.mean) * (a - f.mean);
  f.sd = std::sqrt(v / std::max(1, n_draws - 1));
  std::sort(d.begin(), d.end());
  f.q3 = d[std::min(d.size() - 1, static_cast<size_t>(0.99865 * static_cast<double>(d.size())))];
  return f;
}

Estimate wls_slope(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& sigma) {
  return wls_line(x, y, sigma).slope;
}

LineFit wls_line(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& sigma) {
  double S = 0, Sx = 0, Sy = 0, Sxx = 0, Sxy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double w = 1.0 / (sigma[i] * sigma[i]);
    S += w; Sx += w * x[i]; Sy += w * y[i]; Sxx += w * x[i] * x[i]; Sxy += w * x[i] * y[i];
  }
  LineFit f;
  const double det = S * Sxx - Sx * Sx;
  f.slope = det > 0 ? Estimate{(S * Sxy - Sx * Sy) / det, std::sqrt(S / det)} : Estimate{0, INFINITY};
  f.intercept = (Sy - f.slope.value * Sx) / S;
  for (size_t i = 0; i < x.size(); ++i) f.chi2 += std::pow((y[i] - f.intercept - f.slope.value * x[i]) / sigma[i], 2);
  f.dof = static_cast<int64_t>(x.size()) - 2;
  const double birge = f.dof > 0 ? std::sqrt(std::max(1.0, f.chi2 / static_cast<double>(f.dof))) : 1.0;
  f.slope_scaled = Estimate{f.slope.value, f.slope.error * birge};
  return f;
}

Estimate gls_slope(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& cov) {
  const PetscBLASInt n = static_cast<PetscBLASInt>(x.size()), nrhs = 3;
  if (n < 2) return Estimate{0, INFINITY};
  std::vector<double> L = cov, rhs(3 * x.size());
  for (size_t i = 0; i < x.size(); ++i) {  // columns: 1, x, y
    rhs[i] = 1.0;
    rhs[x.size() + i] = x[i];
    rhs[2 * x.size() + i] = y[i];
  }
  PetscBLASInt info = 0;
  LAPACKpotrf_("L", &n, L.data(), &n, &info);
  if (info != 0) return Estimate{0, INFINITY};
  LAPACKpotrs_("L", &n, &nrhs, L.data(), &n, rhs.data(), &n, &info);
  if (info != 0) return Estimate{0, INFINITY};
  // Normal equations with C^-1: A = X^T C^-1 X, r = X^T C^-1 y.
  double S = 0, Sx = 0, Sxx = 0, Sy = 0, Sxy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    S += rhs[i];
    Sx += x[i] * rhs[i];
    Sxx += x[i] * rhs[x.size() + i];
    Sy += rhs[2 * x.size() + i];
    Sxy += x[i] * rhs[2 * x.size() + i];
  }
  const double det = S * Sxx - Sx * Sx;
  if (!(det > 0)) return Estimate{0, INFINITY};
  return Estimate{(S * Sxy - Sx * Sy) / det, std::sqrt(S / det)};
}

double l1(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += std::fabs(a[i] - b[i]);
  return s;
}

double ks(const std::vector<double>& a, const std::vector<double>& b) {
  double ca = 0, cb = 0, d = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ca += a[i];
    cb += b[i];
    d = std::max(d, std::fabs(ca - cb));
  }
  return d;
}

double fidelity(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += std::sqrt(std::max(0.0, a[i]) * std::max(0.0, b[i]));
  return s * s;
}

}  // namespace gcnn::stats
