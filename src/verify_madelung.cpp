// The paper's hydrodynamics, measured (docs/model.md §5 "Madelung fields", §6 6b):
//   T2.9a  alpha in j = alpha p grad S, against the paper's -gamma
//   T2.9b  continuity dp/dt + div j = 0 with the Madelung current -gamma p grad S
//   T2.9c  the same with the Fokker-Planck current -D grad p - gamma p grad Omega
//   T2.9d  the same with the measured current
//   T2.9e  hbar fitted in the quantum Hamilton-Jacobi equation
// Fields per cell come from the run's sums (phase_field, current, q_histogram).
// Noise is never modelled: every residual is averaged over blocks of
// consecutive samples and divided by the spread of its block means, so the
// error includes whatever correlations the samples carry.
#include <algorithm>
#include <cmath>
#include <numbers>

#include "gcnn/boundary_loss.hpp"
#include "gcnn/grid.hpp"
#include "gcnn/statistics.hpp"
#include "gcnn/verification.hpp"
#include "gcnn/schedule.hpp"

namespace gcnn::verify {

namespace {

// One sample's fields on the grid: density p, phase S (cell mean of F_{N_a})
// and current j (K components), in the run's units.
struct Fields {
  std::vector<double> p, S, j;
};

Fields fields_at(const Verification& v, int64_t jj) {
  const Series& s = v.s;
  const int K = v.cfg.K;
  const size_t C = static_cast<size_t>(s.cells);
  const double norm = static_cast<double>(v.cfg.M) * v.st0.grid.cell_volume();
  Fields f;
  f.p.resize(C);
  f.S.assign(C, NAN);
  f.j.resize(C * K);
  for (size_t c = 0; c < C; ++c) {
    f.p[c] = static_cast<double>(s.hist[jj * s.cells + c]) / norm;
    const double* ph = &s.phase_field[(static_cast<size_t>(jj) * C + c) * 3];
    if (ph[2] > 0) f.S[c] = ph[0] / ph[2];
    for (int k = 0; k < K; ++k) f.j[c * K + k] = s.current[((static_cast<size_t>(jj) * C + c) * K + k) * 2] / norm;
  }
  return f;
}

// Neighbour of cell c along axis k by +-1, or -1 past a wall (periodic wraps).
int64_t neighbour(const Grid& g, bool periodic, int64_t c, int k, int d) {
  int64_t stride = 1;
  for (int a = g.K() - 1; a > k; --a) stride *= g.n(a);
  const int64_t ik = (c / stride) % g.n(k);
  int64_t t = ik + d;
  if (t < 0 || t >= g.n(k)) {
    if (!periodic) return -1;
    t = (t + g.n(k)) % g.n(k);
  }
  return c + (t - ik) * stride;
}

// div of a face flux: flux(c, c') is the flux from c to its + neighbour c'.
template <class Flux>
double divergence(const Grid& g, bool per, int64_t c, Flux flux) {
  double d = 0;
  for (int k = 0; k < g.K(); ++k) {
    const int64_t up = neighbour(g, per, c, k, +1), dn = neighbour(g, per, c, k, -1);
    if (up >= 0) d += flux(c, up, k) / g.h(k);
    if (dn >= 0) d -= flux(dn, c, k) / g.h(k);
  }
  return d;
}

// Cells where every field is measured in every sample of the window, and
// their neighbours too (derivatives need them).
std::vector<int64_t> usable_cells(const Verification& v, const std::vector<int64_t>& win, const Grid& g) {
  std::vector<char> ok(static_cast<size_t>(v.s.cells), 1);
  for (int64_t j : win)
    for (int64_t c = 0; c < v.s.cells; ++c)
      if (v.s.phase_field[(static_cast<size_t>(j) * v.s.cells + c) * 3 + 2] < 5) ok[c] = 0;
  std::vector<int64_t> out;
  for (int64_t c = 0; c < v.s.cells; ++c) {
    bool good = ok[c];
    for (int k = 0; k < g.K() && good; ++k)
      for (int d : {-1, 1}) {
        const int64_t nb = neighbour(g, v.cfg.periodic, c, k, d);
        if (nb < 0 || !ok[nb]) good = false;
      }
    if (good) out.push_back(c);
  }
  return out;
}

struct Continuity {
  double chi2_madelung = 0, chi2_fp = 0, chi2_measured = 0;
  int64_t dof = 0;
  double alpha = NAN, alpha_err = NAN;
};

// Residuals dp/dt + div j per cell and pair of consecutive samples, averaged
// over blocks; chi^2 of the cell means in units of their block errors.
// omega: Omega/T_q at the cells for the physics in force; phys: that physics.
Continuity continuity(const Verification& v, const std::vector<int64_t>& win, const std::vector<double>& omega,
                      const Config& phys) {
  const Grid& g = v.st0.grid;
  const bool per = v.cfg.periodic;
  const int K = v.cfg.K;
  const double gamma = phys.gamma, D = phys.gamma * phys.Tq, Tq = phys.Tq;
  const auto cells = usable_cells(v, win, g);
  Continuity out;
  if (cells.size() < 3 || win.size() < 8) return out;
  const size_t U = cells.size();
  std::vector<std::vector<double>> rm(U), rf(U), rj(U), pu(U);  // div j per pair; p per sample
  std::vector<double> aj_num, aj_den;  // per pair: sum_c j.(p grad S), sum_c |p grad S|^2
  Fields a = fields_at(v, win[0]);
  for (size_t w = 1; w < win.size(); ++w) {
    const Fields b = fields_at(v, win[w]);
    Fields m = b;  // p and S at the midpoint in time; j is measured over the last step before b
    for (size_t c = 0; c < m.p.size(); ++c) {
      m.p[c] = 0.5 * (a.p[c] + b.p[c]);
      m.S[c] = 0.5 * (a.S[c] + b.S[c]);
    }
    // face flux densities from cell x to its + neighbour y along axis k
    auto madelung = [&](int64_t x, int64_t y, int k) {
      return -gamma * 0.5 * (m.p[x] + m.p[y]) * (m.S[y] - m.S[x]) / g.h(k);
    };
    auto fokker = [&](int64_t x, int64_t y, int k) {
      return (-D * (m.p[y] - m.p[x]) - gamma * 0.5 * (m.p[x] + m.p[y]) * (omega[y] - omega[x]) * Tq) / g.h(k);
    };
    auto measured = [&](int64_t x, int64_t y, int k) { return 0.5 * (b.j[x * K + k] + b.j[y * K + k]); };
    double num = 0, den = 0;
    for (size_t u = 0; u < U; ++u) {
      const int64_t c = cells[u];
      if (w == 1) pu[u].push_back(a.p[c]);
      pu[u].push_back(b.p[c]);
      rm[u].push_back(divergence(g, per, c, madelung));
      rf[u].push_back(divergence(g, per, c, fokker));
      rj[u].push_back(divergence(g, per, c, measured));
      for (int k = 0; k < K; ++k) {
        const int64_t up = neighbour(g, per, c, k, 1), dn = neighbour(g, per, c, k, -1);
        const double pgs = m.p[c] * (m.S[up] - m.S[dn]) / (2 * g.h(k));
        num += b.j[c * K + k] * pgs;
        den += pgs * pgs;
      }
    }
    aj_num.push_back(num);
    aj_den.push_back(den);
    a = b;
  }
  // The window mean of dp/dt telescopes to (p_last - p_first)/T_w: its error
  // is that of two samples, not of blocks of differences (which are
  // anticorrelated); div j per pair is blocked as usual.
  const double Tw = v.s.time[win.back()] - v.s.time[win.front()];
  for (size_t u = 0; u < U; ++u) {
    const auto ep = stats::block_means(pu[u], v.blocks);
    const double sd_p = ep.error * std::sqrt(static_cast<double>(v.blocks));  // ~ spread of one block mean
    const double dpdt = (pu[u].back() - pu[u].front()) / Tw, e_dp = std::sqrt(2.0) * sd_p / Tw;
    auto chi = [&](const std::vector<double>& r) {
      const auto e = stats::block_means(r, v.blocks);
      return std::pow(dpdt + e.value, 2) / (e.error * e.error + e_dp * e_dp);
    };
    out.chi2_madelung += chi(rm[u]);
    out.chi2_fp += chi(rf[u]);
    out.chi2_measured += chi(rj[u]);
  }
  out.dof = static_cast<int64_t>(U);
  // alpha = <j . p grad S> / <|p grad S|^2> over pairs (blocked; the
  // denominator's error is second order and left out)
  const auto n = stats::block_means(aj_num, v.blocks), d = stats::block_means(aj_den, v.blocks);
  out.alpha = n.value / d.value;
  out.alpha_err = n.error / d.value;
  return out;
}

}  // namespace

// The quantum Hamilton-Jacobi equation at equilibrium (dS/dt = 0), with S of
// the sign that makes v = grad S / m (S = -F, which leaves |grad S|^2 as is):
//   |grad S|^2/2m + V = c + hbar^2 Q/2m,   Q = lap sqrt(p) / sqrt(p),
// fitted for (c, hbar^2) over cells, with V = U (the data loss; the
// learning-equilibrium V of §4 contains hbar itself and cancels the Q term
// identically at equilibrium, so it cannot identify hbar). Fields are pooled
// per block of samples; y and x carry the spread of their block values.
HamiltonJacobi hamilton_jacobi(const Verification& v, const std::vector<int64_t>& win) {
  const Grid& g = v.st0.grid;
  const bool per = v.cfg.periodic;
  const int K = v.cfg.K;
  const double m = 1.0 / v.phys0.gamma;
  const auto cells = usable_cells(v, win, g);
  HamiltonJacobi out;
  const int B = std::min<int>(v.blocks, static_cast<int>(win.size()) / 2);
  if (cells.size() < 4 || B < 3) return out;
  const auto U = make_boundary_loss(v.phys0);
  const size_t C = static_cast<size_t>(v.s.cells), Nc = cells.size();
  std::vector<std::vector<double>> yb(Nc), xb(Nc);
  for (int b = 0; b < B; ++b) {
    std::vector<double> p(C, 0.0), sS(C, 0.0), n(C, 0.0);
    const size_t lo = win.size() * b / B, hi = win.size() * (b + 1) / B;
    for (size_t w = lo; w < hi; ++w) {
      const size_t j = static_cast<size_t>(win[w]);
      for (size_t c = 0; c < C; ++c) {
        p[c] += static_cast<double>(v.s.hist[j * C + c]);
        sS[c] += v.s.phase_field[(j * C + c) * 3];
        n[c] += v.s.phase_field[(j * C + c) * 3 + 2];
      }
    }
    std::vector<double> sq(C), S(C);
    for (size_t c = 0; c < C; ++c) {
      sq[c] = std::sqrt(p[c]);  // sqrt(p) up to a constant factor, which Q does not see
      S[c] = n[c] > 0 ? sS[c] / n[c] : NAN;
    }
    for (size_t u = 0; u < Nc; ++u) {
      const int64_t c = cells[u];
      double g2 = 0, lap = 0;
      for (int k = 0; k < K; ++k) {
        const int64_t up = neighbour(g, per, c, k, 1), dn = neighbour(g, per, c, k, -1);
        const double d = (S[up] - S[dn]) / (2 * g.h(k));
        g2 += d * d;
        lap += (sq[up] - 2 * sq[c] + sq[dn]) / (g.h(k) * g.h(k));
      }
      std::vector<double> q(static_cast<size_t>(K));
      g.centre(c, q.data());
      yb[u].push_back(g2 / (2 * m) + U->value(q.data()));
      xb[u].push_back(lap / sq[c] / (2 * m));
    }
  }
  std::vector<double> y(Nc), x(Nc), sy(Nc), sx(Nc);
  for (size_t u = 0; u < Nc; ++u) {
    const auto ey = stats::block_means(yb[u], B), ex = stats::block_means(xb[u], B);
    y[u] = ey.value; sy[u] = ey.error; x[u] = ex.value; sx[u] = ex.error;
  }
  // effective-variance weighted line y = c + hbar^2 x, iterated on hbar^2
  // from the unweighted fit (noise may sit in x alone, as for a constant S)
  stats::LineFit fit = stats::wls_line(x, y, std::vector<double>(Nc, 1.0));
  std::vector<double> se(Nc);
  for (int it = 0; it < 5; ++it) {
    const double h2 = fit.slope.value;
    for (size_t u = 0; u < Nc; ++u) se[u] = std::sqrt(sy[u] * sy[u] + h2 * h2 * sx[u] * sx[u]);
    fit = stats::wls_line(x, y, se);
    if (!std::isfinite(fit.slope.error)) break;
  }
  // The final fit's chi^2 is ~2 on the demo: the cells scatter about the
  // line more than their block errors say, and hbar^2 scatters over seeds by
  // 1.5x its weighted error (docs/pulls.md); the Birge-scaled error follows
  // that scatter.
  out.hbar2 = fit.slope_scaled.value;
  out.hbar2_err = fit.slope_scaled.error;
  out.chi2 = fit.chi2;
  out.dof = fit.dof;
  return out;
}

void madelung_continuity(Verification& v) {
  const bool have = !v.s.phase_field.empty() && !v.s.current.empty();
  auto rows_for = [&](const std::vector<int64_t>& win, const std::vector<double>& omega, const Config& phys,
                      const std::string& where, const std::string& sfx) {
    if (!have || win.size() < 8) {
      v.rows.push_back(Row{2, "T2.9a" + sfx, "Madelung fields " + where, NAN, NAN, NAN, 0, -1,
                           have ? "not evaluated: fewer than 8 samples" : "not evaluated: no Madelung fields in the file",
                           {}});
      return;
    }
    const Continuity c = continuity(v, win, omega, phys);
    // Each cell's residual is divided by an error estimated from verify.blocks
    // block means: (mean/err)^2 is then a squared Student t with nu = blocks - 1
    // dof, whose mean is nu/(nu - 2), not 1.
    const double nu = static_cast<double>(v.blocks - 1), t2 = nu > 2 ? nu / (nu - 2) : NAN;
    const double dof = static_cast<double>(std::max<int64_t>(c.dof, 1));
    const double e = nu > 4 ? t2 * std::sqrt(2 * (nu - 1) / (nu - 4)) / std::sqrt(dof) : NAN;  // sd of mean t^2
    const std::string n = std::to_string(c.dof) + " cells, " + std::to_string(win.size()) + " samples " + where;
    v.rows.push_back(Row{2, "T2.9a" + sfx, "alpha in j = alpha p grad S " + where, c.alpha, -v.phys0.gamma,
                         c.alpha_err, 0, -1, "the paper's velocity v = -gamma grad S gives alpha = -gamma", {}});
    v.rows.push_back(Row{2, "T2.9b" + sfx, "continuity, Madelung current: chi^2/dof", c.chi2_madelung / dof, t2, e, 0,
                         -1, "j = -gamma p grad S; " + n, {}});
    v.rows.push_back(Row{2, "T2.9c" + sfx, "continuity, Fokker-Planck current: chi^2/dof", c.chi2_fp / dof, t2, e, 0,
                         -1, "j = -D grad p - gamma p grad Omega; " + n, {}});
    v.rows.push_back(Row{2, "T2.9d" + sfx, "continuity, measured current: chi^2/dof", c.chi2_measured / dof, t2, e, 0,
                         -1, "j from midpoint-binned displacements; " + n, {}});
  };
  rows_for(v.eq_window, v.st0.omega_Tq, v.phys0, "at equilibrium", "");
  if (v.cfg.quench_step > 0) {
    int64_t j0 = -1;
    for (int64_t j = 0; j < v.s.S; ++j)
      if (v.s.step[j] == v.cfg.quench_step) j0 = j;
    if (j0 >= 0 && tagged_networks(v.cfg) > 0) ++j0;  // the first displaced sample (see quench_relaxation)
    if (j0 >= 0 && j0 < v.s.S) {
      const Config phys1 = physics_at(v.cfg, static_cast<uint64_t>(v.cfg.quench_step));
      const SolveSetup& st1 = v.equilibrium_setup(phys1);
      rows_for(uniform_window(v.s, j0, v.cfg.verify_dynamics_samples), st1.omega_Tq, phys1, "after the quench", "q");
    }
  }
}

void hamilton_jacobi_hbar(Verification& v) {
  const double hmu = v.phys0.hbar_scale * std::fabs(v.phys0.mu) / (2 * std::numbers::pi), hE = 2 * v.phys0.Tq;
  Row r{2, "T2.9e", "hbar fitted in the quantum Hamilton-Jacobi equation", NAN, hmu, NAN, 0, -1, "", {}};
  r.extra["hbar_E"] = hE;
  r.extra["hbar_mu"] = hmu;
  if (v.s.phase_field.empty() || v.eq_window.size() < 8) {
    r.note = v.s.phase_field.empty() ? "not evaluated: no Madelung fields in the file"
                                     : "not evaluated: fewer than 8 samples after the burn-in";
    v.rows.push_back(r);
    return;
  }
  const HamiltonJacobi h = hamilton_jacobi(v, v.eq_window);
  r.extra["hbar2"] = h.hbar2;
  r.extra["hbar2_error"] = h.hbar2_err;
  r.extra["chi2_dof"] = h.dof > 0 ? h.chi2 / static_cast<double>(h.dof) : NAN;
  char b[240];
  std::snprintf(b, sizeof(b), "equilibrium, V = U; hbar^2 = %.4g +- %.4g, chi^2/dof = %.3g (%lld dof); hbar_mu %.4g, "
                "hbar_E %.4g", h.hbar2, h.hbar2_err, r.extra["chi2_dof"], static_cast<long long>(h.dof), hmu, hE);
  r.note = b;
  if (h.hbar2 > 0) {
    r.measured = std::sqrt(h.hbar2);
    r.error = h.hbar2_err / (2 * r.measured);
  }
  v.rows.push_back(r);
}

}  // namespace gcnn::verify
