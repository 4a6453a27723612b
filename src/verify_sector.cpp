// The sector free energy F_N(q) of docs/model.md §5 seen by verify:
//   T1.5a  Widom identity  -T ln<e^{-(F_{N+1} - F_N)/T}> = mu         (Tier 1, §6 4b)
//   T1.5b  N_a given q_a against the model's law P(N|q)                 (Tier 1, §6 4b)
//   T2.6a  <Delta F> - mu against its Poisson offset T/(2<N>)          (Tier 2, §6 6)
//   T2.6b+ the coherence C(hbar_mu/n) against its static null          (Tier 2, §6 6)
// The static null: q drawn from the measured histogram (uniform within its
// cell), N drawn from the model's P(N|q), no dynamics at all. Whatever C it
// gives is explained by grand-canonical number statistics; only the excess
// of the measured C over it could speak for dynamics.
#include <boost/math/special_functions/gamma.hpp>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "gcnn/boundary_loss.hpp"
#include "gcnn/grand_potential.hpp"
#include "gcnn/grid.hpp"
#include "gcnn/rng.hpp"
#include "gcnn/statistics.hpp"
#include "gcnn/verification.hpp"

namespace gcnn::verify {

namespace {

// ln P(N|q) for N = 0..NT-1 at q: e^{mu N/T} e_N(b(q)), e_N interpolated
// between cell centres exactly as the run's observables interpolate it.
void log_law(const Verification& v, const Grid& g, const double* q, std::vector<double>& out) {
  const int NT = static_cast<int>(v.s.NT);
  out.resize(static_cast<size_t>(NT));
  double mx = -1e300;
  for (int N = 0; N < NT; ++N) {
    out[N] = v.phys0.mu * N / v.phys0.T + g.interpolate(v.s.log_eN, NT, N, q);
    mx = std::max(mx, out[N]);
  }
  double z = 0;
  for (double x : out) z += std::exp(x - mx);
  const double lz = mx + std::log(z);
  for (double& x : out) x -= lz;
}

// A point of cell `cell` at fractional position u[k] in (0,1) along each axis.
void point_in_cell(const Grid& g, int64_t cell, const double* u, double* q) {
  g.centre(cell, q);
  for (int k = 0; k < g.K() && k < 3; ++k) q[k] += (u[k] - 0.5) * g.h(k);  // K <= 3 (config)
}

// P(N | fine cell g): the law averaged over 3^K points of the cell (the
// networks sit anywhere in it; the law varies across it at second order).
std::vector<double> cell_law(const Verification& v, const Grid& g, int64_t cell) {
  const int K = g.K();
  const size_t NT = static_cast<size_t>(v.s.NT);
  std::vector<double> P(NT, 0.0), lp;
  int npts = 1;
  for (int k = 0; k < K; ++k) npts *= 3;
  for (int m = 0; m < npts; ++m) {
    double u[3], q[3];
    for (int k = 0, r = m; k < K; ++k, r /= 3) u[k] = (r % 3 + 0.5) / 3.0;
    point_in_cell(g, cell, u, q);
    log_law(v, g, q, lp);
    for (size_t N = 0; N < NT; ++N) P[N] += std::exp(lp[N]) / npts;
  }
  return P;
}

// Pooled cell of a fine cell, through the file's map (`pool`: the pooled
// index of every fine cell along each axis, axis 0 first; `pooled_n`).
int64_t pooled_cell(const Grid& g, const Series& s, int64_t cell) {
  const int K = g.K();
  std::vector<size_t> offset(static_cast<size_t>(K), 0);
  for (int k = 1; k < K; ++k) offset[k] = offset[k - 1] + static_cast<size_t>(g.n(k - 1));
  int64_t idx = 0, stride = 1;
  for (int k = K - 1; k >= 0; --k) {
    idx += s.nq_pool[offset[k] + static_cast<size_t>(cell % g.n(k))] * stride;
    cell /= g.n(k);
    stride *= s.nq_pooled_n[static_cast<size_t>(k)];
  }
  return idx;
}

// The model's P(N|q) per fine cell (cell_law), computed once per verification.
const std::vector<std::vector<double>>& cell_laws(Verification& v) {
  if (v.n_laws.empty()) {
    const Grid g(v.phys0);
    v.n_laws.resize(static_cast<size_t>(v.s.cells));
    for (int64_t c = 0; c < v.s.cells; ++c) v.n_laws[c] = cell_law(v, g, c);
  }
  return v.n_laws;
}

// Pearson chi^2 of observed against expected counts, bins with E < 5 merged
// upward in N within each pooled cell; dof = bins - 1 per cell.
struct Chi2 {
  double chi2 = 0;
  int64_t dof = 0;
};
Chi2 pooled_chi2(const std::vector<double>& O, const std::vector<double>& E, int64_t cells, int64_t NT) {
  Chi2 c;
  for (int64_t p = 0; p < cells; ++p) {
    std::vector<std::pair<double, double>> bins;
    double o = 0, e = 0;
    for (int64_t N = 0; N < NT; ++N) {
      o += O[p * NT + N];
      e += E[p * NT + N];
      if (e >= 5) { bins.emplace_back(o, e); o = e = 0; }
    }
    if (bins.empty()) continue;
    bins.back().first += o;
    bins.back().second += e;
    for (auto& [ob, ex] : bins) c.chi2 += (ob - ex) * (ob - ex) / ex;
    c.dof += static_cast<int64_t>(bins.size()) - 1;
  }
  return c;
}

}  // namespace

void widom_identity(Verification& v) {
  Row r{1, "T1.5a", "Widom: -T ln<e^{-(F_{N+1}-F_N)/T}> = mu", NAN, v.phys0.mu, NAN, 0, -1, "", {}};
  if (v.s.widom.empty() || !v.enough_equilibrium()) {
    r.note = "not evaluated: " + std::string(v.s.widom.empty() ? "the file has no /observables/widom"
                                                                : "fewer than 4 samples after the burn-in");
    v.rows.push_back(r);
    return;
  }
  const double T = v.phys0.T;
  // <e^{-(dF - mu)/T}>. Its error from the integrated autocorrelation time
  // over every sample: the series is nearly white (tau ~ 1.1 samples of the
  // demo), where 10 block means leave the error itself so noisy that the
  // pulls had t_9 tails (docs/pulls.md, docs/model-notes.md 39).
  const auto w = stats::correlated_mean(column(v.s.widom, 2, 0, v.eq_window));
  const auto N = stats::block_means(column(v.s.mean_N, 2, 0, v.eq_window), v.blocks);
  // Sum over N of P(N|q) P(N+1|q)/P(N|q) = 1 - P(0|q): averaged over the
  // measured histogram with the model's law, -T ln<e^{-dF/T}> = mu - T ln(1 - P0).
  const auto& law = cell_laws(v);
  double p0 = 0, n = 0;
  for (int64_t j : v.eq_window)
    for (int64_t c = 0; c < v.s.cells; ++c) {
      const double h = static_cast<double>(v.s.hist[j * v.s.cells + c]);
      p0 += h * law[c][0];
      n += h;
    }
  p0 = n > 0 ? p0 / n : 0.0;
  r.prediction = v.phys0.mu - T * std::log1p(-p0);
  r.measured = v.run_mu - T * std::log(w.value);  // w was stored as e^{-(dF - mu_run)/T}
  r.error = T * w.error / w.value;
  r.extra["P_N0"] = p0;
  // The Poisson form e_N = Lambda^N/N! misses e_{N+1}/e_N by O(sum p_i^2 / <N>)
  // relative, p_i ~ <N>/R: a bound of T 4<N>/R (zero for exact tables).
  r.bound = 4.0 * T * N.value / static_cast<double>(v.cfg.R());
  r.pass = std::fabs(r.measured - r.prediction) <= 3 * r.error + r.bound ? 1 : 0;
  r.note = "exact given q (the exchange rule alone), prediction mu - T ln(1 - P(N=0)); error from the autocorrelation time over " +
           std::to_string(v.eq_window.size()) + " samples";
  v.rows.push_back(r);
}

void n_given_q(Verification& v) {
  Row r{1, "T1.5b", "N_a given q_a against P(N|q) (chi^2/dof)", NAN, 1, NAN, 0, -1, "", {}};
  if (v.s.n_given_q.empty() || !v.enough_equilibrium()) {
    r.note = "not evaluated: " + std::string(v.s.n_given_q.empty() ? "the file has no /observables/n_given_q"
                                                                    : "fewer than 4 samples after the burn-in");
    v.rows.push_back(r);
    return;
  }
  const Grid g(v.phys0);
  const int64_t NT = v.s.NT, C = v.s.cells;
  const int64_t Q = static_cast<int64_t>(v.s.n_given_q.size()) / (v.s.S * NT);
  const auto& law = cell_laws(v);
  std::vector<double> O(static_cast<size_t>(Q * NT), 0.0), E(O.size(), 0.0);
  for (int64_t j : v.eq_window) {
    for (int64_t i = 0; i < Q * NT; ++i) O[i] += static_cast<double>(v.s.n_given_q[j * Q * NT + i]);
    for (int64_t c = 0; c < C; ++c) {
      const double n = static_cast<double>(v.s.hist[j * C + c]);
      if (n == 0) continue;
      const int64_t p = pooled_cell(g, v.s, c);
      for (int64_t N = 0; N < NT; ++N) E[p * NT + N] += n * law[c][N];
    }
  }
  const Chi2 x = pooled_chi2(O, E, Q, NT);
  if (x.dof < 1) {
    r.note = "not evaluated: no bin with an expected count >= 5";
    v.rows.push_back(r);
    return;
  }
  const double p = boost::math::gamma_q(0.5 * static_cast<double>(x.dof), 0.5 * x.chi2);
  r.measured = x.chi2 / static_cast<double>(x.dof);
  r.error = std::sqrt(2.0 / static_cast<double>(x.dof));
  r.pass = p >= 0.00135 ? 1 : 0;  // one-sided 3 sigma
  r.extra["p_value"] = p;
  r.extra["dof"] = static_cast<double>(x.dof);
  char b[160];
  std::snprintf(b, sizeof(b), "p-value %.3g, %lld dof; %lld pooled q cells x N, counts over %zu samples", p,
                static_cast<long long>(x.dof), static_cast<long long>(Q), v.eq_window.size());
  r.note = b;
  v.rows.push_back(r);
}

void delta_F_offset(Verification& v) {
  if (!v.enough_equilibrium()) return;
  const auto dF = stats::correlated_mean(column(v.s.delta_F, 2, 0, v.eq_window));  // as T1.5a's series
  const auto N = stats::block_means(column(v.s.mean_N, 2, 0, v.eq_window), v.blocks);
  v.rows.push_back(Row{2, "T2.6a", "<Delta F> - mu", dF.value - v.phys0.mu, v.phys0.T / (2 * N.value), dF.error, 0,
                       -1, "prediction: T/(2<N>), Jensen's offset of a Poisson N (the Widom row is the identity)", {}});
}

// C(hbar) of the static null for one sample's histogram, at every hbar:
// C_sector with F_N(q) from the table; C_set (when `moments` holds the
// per-cell mean and variance of f_i over a network's neurons, stride 2)
// with F_a = U + N mean + sqrt(N var) xi, the central limit of N neurons
// drawn with their odds (docs/model-notes.md 19).
NullCoherence static_null_coherence(const Verification& v, const Grid& g, const BoundaryLoss& U, int64_t j,
                                    const std::vector<double>& hbar, const std::vector<double>* moments) {
  const CounterRng rng(kSeed);
  const int NT = static_cast<int>(v.s.NT);
  const size_t H = hbar.size();
  NullCoherence out;
  out.sector.assign(H, 0.0);
  out.set.assign(H, 0.0);
  std::vector<double> zr(H), zi(H), sr(H), si(H), lp;
  double n_in = 0;
  uint64_t id = 0;
  for (int64_t c = 0; c < v.s.cells; ++c) {
    const int64_t n = v.s.hist[j * v.s.cells + c];
    if (n == 0) continue;
    n_in += static_cast<double>(n);
    for (auto* z : {&zr, &zi, &sr, &si}) std::fill(z->begin(), z->end(), 0.0);
    for (int64_t a = 0; a < n; ++a, ++id) {
      const auto w = rng.draw(Purpose::VerifyNull, static_cast<uint64_t>(j), id);
      double u[3] = {CounterRng::u01_32(w.v[0]), CounterRng::u01_32(w.v[1]), CounterRng::u01_32(w.v[2])}, q[3];
      point_in_cell(g, c, u, q);
      log_law(v, g, q, lp);
      double x = CounterRng::u01_32(w.v[3]);
      int N = 0;
      while (N < NT - 1 && (x -= std::exp(lp[N])) > 0) ++N;
      const double Uq = U.value(q);
      if (moments) {
        const double mean = g.interpolate(*moments, 2, 0, q), var = std::max(0.0, g.interpolate(*moments, 2, 1, q));
        const double xi = rng.normal2(Purpose::VerifyNull, static_cast<uint64_t>(j), id, 1)[0];
        const double Fset = Uq + N * mean + std::sqrt(N * var) * xi;
        for (size_t h = 0; h < H; ++h) {
          sr[h] += std::cos(Fset / hbar[h]);
          si[h] += std::sin(Fset / hbar[h]);
        }
      }
      if (N + 1 >= NT) continue;  // as the run: no sector free energy beyond n_max
      const double F = Uq - v.phys0.T * g.interpolate(v.s.log_eN, NT, N, q);
      for (size_t h = 0; h < H; ++h) {
        zr[h] += std::cos(F / hbar[h]);
        zi[h] += std::sin(F / hbar[h]);
      }
    }
    for (size_t h = 0; h < H; ++h) {
      out.sector[h] += std::hypot(zr[h], zi[h]);
      out.set[h] += std::hypot(sr[h], si[h]);
    }
  }
  for (size_t h = 0; h < H; ++h) {
    out.sector[h] = n_in > 0 ? out.sector[h] / n_in : 0.0;
    out.set[h] = n_in > 0 ? out.set[h] / n_in : 0.0;
  }
  return out;
}

namespace {

// Per fine cell: mean and variance of f_i over the neurons of a network there
// (weights: the odds beta_i), interleaved, from the model's GrandPotential.
std::vector<double> set_moments(const Verification& v) {
  const GrandPotential gp(v.phys0, v.comm);
  const auto pts = gp.grid().centres();
  const size_t C = static_cast<size_t>(gp.grid().size());
  std::vector<double> m0(C), m1(C), m2(C), out(2 * C);
  gp.occupancy_moments(pts, m0.data(), m1.data(), m2.data());
  for (size_t c = 0; c < C; ++c) {
    out[2 * c] = m1[c] / m0[c];
    out[2 * c + 1] = m2[c] / m0[c] - out[2 * c] * out[2 * c];
  }
  return out;
}

}  // namespace

void coherence_vs_null(Verification& v) {
  if (!v.enough_equilibrium()) return;
  const Series& s = v.s;
  const Grid g(v.phys0);
  const auto U = make_boundary_loss(v.phys0);
  const size_t Hs = s.coh_hbar.size();
  const double hmu = v.phys0.hbar_scale * std::fabs(v.phys0.mu) / (2 * std::numbers::pi);
  std::vector<double> hbar = s.coh_hbar;
  for (int n = 1; n <= 4; ++n) hbar.push_back(hmu > 0 ? hmu / n : s.coh_hbar.back());
  const size_t H = hbar.size();
  // At most 40 samples of the window, each computed whole by one rank.
  std::vector<int64_t> sub;
  const size_t W = v.eq_window.size(), take = std::min<size_t>(W, 40);
  for (size_t i = 0; i < take; ++i) sub.push_back(v.eq_window[i * W / take]);
  const std::vector<double> moments = set_moments(v);
  std::vector<double> nul(sub.size() * H, 0.0), nset(sub.size() * H, 0.0);
  for (size_t i = 0; i < sub.size(); ++i)
    if (static_cast<int>(i % static_cast<size_t>(v.comm.size())) == v.comm.rank()) {
      const auto c = static_null_coherence(v, g, *U, sub[i], hbar, &moments);
      std::copy(c.sector.begin(), c.sector.end(), nul.begin() + static_cast<int64_t>(i * H));
      std::copy(c.set.begin(), c.set.end(), nset.begin() + static_cast<int64_t>(i * H));
    }
  v.comm.sum(nul.data(), nul.size());
  v.comm.sum(nset.data(), nset.size());
  const int nb = std::min<int>(v.blocks, static_cast<int>(sub.size()));
  std::vector<int64_t> rows_of_nul(sub.size());
  for (size_t i = 0; i < sub.size(); ++i) rows_of_nul[i] = static_cast<int64_t>(i);
  auto null_at = [&](size_t h, const std::vector<double>& x = {}) {
    const auto& src = x.empty() ? nul : x;
    return stats::block_means(column(src, static_cast<int64_t>(H), static_cast<int64_t>(h), rows_of_nul), nb);
  };
  // The scan, for the report and the sweep.
  std::vector<double> ms(Hs), me(Hs), ns(Hs), ne(Hs), fs(Hs), fe(Hs), fn(Hs);
  for (size_t h = 0; h < Hs; ++h) {
    const auto a = stats::block_means(column(s.coh_sector, static_cast<int64_t>(Hs), h, v.eq_window), v.blocks);
    const auto b = stats::block_means(column(s.coh_set, static_cast<int64_t>(Hs), h, v.eq_window), v.blocks);
    const auto z = null_at(h);
    ms[h] = a.value; me[h] = a.error; fs[h] = b.value; fe[h] = b.error; ns[h] = z.value; ne[h] = z.error;
    fn[h] = null_at(h, nset).value;
  }
  const std::vector<uint64_t> d{Hs};
  v.put("coherence/hbar", s.coh_hbar, d, "energy time");
  v.put("coherence/sector", ms, d, "1");
  v.put("coherence/sector_error", me, d, "1");
  v.put("coherence/sector_null", ns, d, "1");
  v.put("coherence/sector_null_error", ne, d, "1");
  v.put("coherence/set", fs, d, "1");
  v.put("coherence/set_error", fe, d, "1");
  v.put("coherence/set_null", fn, d, "1");
  for (int n = 1; n <= 4; ++n) {
    const auto a = stats::block_means(column(s.coh_n, 8, (n - 1) * 2, v.eq_window), v.blocks);
    const auto z = null_at(Hs + static_cast<size_t>(n - 1));
    const double closed = std::pow(1 + 4 * std::pow(std::numbers::pi * n * v.phys0.T / v.phys0.mu, 2), -0.25);
    Row r{2, "T2.6" + std::string(1, static_cast<char>('a' + n)), "C_sector(hbar_mu/" + std::to_string(n) + ") vs null",
          a.value, z.value, std::hypot(a.error, z.error), 0, -1, "", {}};
    r.extra["excess"] = a.value - z.value;
    r.extra["closed_form"] = closed;
    r.extra["null_error"] = z.error;
    char b[200];
    std::snprintf(b, sizeof(b), "prediction = static null (no dynamics); excess %+.4f +- %.4f; closed form %.4f",
                  a.value - z.value, r.error, closed);
    r.note = b;
    v.rows.push_back(r);
  }
  for (int n = 1; n <= 4; ++n) {
    const auto a = stats::block_means(column(s.coh_n, 8, (n - 1) * 2 + 1, v.eq_window), v.blocks);
    const auto z = null_at(Hs + static_cast<size_t>(n - 1), nset);
    Row r{2, "T2.6" + std::string(1, static_cast<char>('e' + n)), "C_set(hbar_mu/" + std::to_string(n) + ") vs null",
          a.value, z.value, std::hypot(a.error, z.error), 0, -1, "", {}};
    r.extra["excess"] = a.value - z.value;
    r.extra["null_error"] = z.error;
    char b[200];
    std::snprintf(b, sizeof(b), "prediction = static null (N neurons drawn with their odds, CLT); excess %+.4f +- %.4f",
                  a.value - z.value, r.error);
    r.note = b;
    v.rows.push_back(r);
  }
}

}  // namespace gcnn::verify
