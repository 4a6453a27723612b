// Tier 1 at equilibrium: the ensemble density against e^{-Omega/T_q} (T1.2)
// and the SLEPc ground state (T1.3).
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "gcnn/relaxation.hpp"
#include "gcnn/schrodinger_solver.hpp"
#include "gcnn/statistics.hpp"
#include "gcnn/verification.hpp"

namespace gcnn::verify {

// p_eq = e^{-Omega/T_q} as cell probabilities, from the learning-equilibrium
// setup (which evaluated Omega once), with its cell-average correction bound
// (midpoint rule: |cell mean - centre value| ~ h^2/24 |p''|).
Equilibrium equilibrium(const SolveSetup& st) {
  const Grid& g = st.grid;
  const int K = g.K();
  Equilibrium e;
  const double om_min = *std::min_element(st.omega_Tq.begin(), st.omega_Tq.end());
  e.P.resize(st.omega_Tq.size());
  for (size_t i = 0; i < e.P.size(); ++i) e.P[i] = std::exp(-(st.omega_Tq[i] - om_min));
  e.P = normalised(std::move(e.P));
  // second differences along each axis (C order, last axis fastest)
  std::vector<int64_t> stride(static_cast<size_t>(K), 1);
  for (int k = K - 2; k >= 0; --k) stride[k] = stride[k + 1] * g.n(k + 1);
  for (int64_t i = 0; i < g.size(); ++i) {
    double corr = 0;
    for (int k = 0; k < K; ++k) {
      const int64_t ik = (i / stride[k]) % g.n(k);
      if (ik == 0 || ik == g.n(k) - 1) continue;
      corr += (e.P[i + stride[k]] - 2 * e.P[i] + e.P[i - stride[k]]) / 24.0;  // h^2 p''/24, in cell probabilities
    }
    e.disc += std::fabs(corr);
  }
  return e;
}

EigenResult eigen(const SolveSetup& st, const Config& c, int n, const Comm& comm) {
  SchrodingerSolver solver(st.grid, c.solver_bc == SolverBC::Periodic, st.hbar, st.mass, st.V, comm.raw());
  const auto eig = solver.eigenpairs(n);
  EigenResult r;
  r.E = eig.values;
  r.psi = eig.vectors;
  r.hbar = st.hbar;
  r.mass = st.mass;
  return r;
}

namespace {

std::vector<double> psi0_prob(const EigenResult& r, double dv) {
  std::vector<double> p(r.psi[0].size());
  for (size_t i = 0; i < p.size(); ++i) p[i] = r.psi[0][i] * r.psi[0][i] * dv;
  return normalised(p);
}

// The lowest eigenpairs at the run's grid, solved once for T1.2 and T1.3:
// the ground state, the 2^K - 1 modes of a K-axis double well's tunnelling
// manifold (one well imbalance per axis and their products) and one more,
// the first in-well mode of such a well.
const EigenResult& lowest_pairs(Verification& v) {
  const size_t want = (size_t{1} << v.cfg.K) + 1;
  if (v.lowest.E.size() < want) v.lowest = eigen(v.st0, v.phys0, static_cast<int>(want), v.comm);
  return v.lowest;
}

// A slow relaxation mode n (lambda_1: in a double well, the imbalance between
// the wells) moves the whole density at once and stays correlated over
// 1/lambda_n, longer than a block of verify.blocks when the window holds only
// a few 1/lambda_n (docs/model-notes.md 37, 39). Its amplitude in a sample,
// a = sum_q p(q) r(q) / sum_q p_eq r^2 with r = psi_n/psi_0 the left
// eigenfunction, multiplies the density pattern p_eq r / sum p_eq r^2.
struct SlowMode {
  size_t n = 1;
  std::vector<double> r, pattern;
  double norm = 0;       // sum p_eq r^2
  double tau_model = 1;  // integrated autocorrelation time in samples at lambda_n
};

// A block of the window that spans more than this many relaxation times of
// a mode sees it as independent noise: blocking then misses under ~5 % of
// its error (block means of an exponentially correlated series of time
// constant c over blocks of length L have their variance low by ~c/L).
constexpr double kBlockRelaxationTimes = 10;

// psi_1 always (as before: it is the slowest); psi_n, n >= 2, when a block
// spans fewer than kBlockRelaxationTimes of 1/lambda_n: in a K-axis double
// well the other K - 1 imbalances (lambda_n ~ lambda_1) and their products
// (~2 lambda_1, ...), never the in-well modes (~20 lambda_1 in the demo).
std::vector<SlowMode> slow_modes(Verification& v, const std::vector<int64_t>& win) {
  const EigenResult& e = lowest_pairs(v);
  const double dt = (v.s.time[static_cast<size_t>(win.back())] - v.s.time[static_cast<size_t>(win.front())]) /
                    static_cast<double>(win.size() - 1);
  const double block_time = dt * static_cast<double>(win.size()) / static_cast<double>(std::max(v.blocks, 2));
  std::vector<SlowMode> out;
  for (size_t n = 1; n < e.E.size(); ++n) {
    const double lambda = e.rate(n, v.phys0.gamma * v.phys0.Tq);
    if (n > 1 && !(lambda * block_time < kBlockRelaxationTimes)) continue;
    const relaxation::SlowestMode mode(e.psi[0], e.psi[n]);
    SlowMode m;
    m.n = n;
    m.r = mode.ratio();
    for (size_t i = 0; i < m.r.size(); ++i) m.norm += v.eq.P[i] * m.r[i] * m.r[i];
    m.pattern.resize(m.r.size());
    for (size_t i = 0; i < m.r.size(); ++i) m.pattern[i] = v.eq.P[i] * m.r[i] / m.norm;
    // Under the hypothesis a(t) relaxes at lambda_n (a collective fluctuation
    // relaxes somewhat faster, MODEL §4, so this tau is an upper bound for it):
    // rho = e^{-lambda_n dt} per sample, tau = (1 + rho)/(1 - rho).
    const double rho = std::exp(-lambda * dt);
    if (lambda > 0 && dt > 0) m.tau_model = (1 + rho) / (1 - rho);
    out.push_back(std::move(m));
  }
  return out;
}

// Per-cell means over the window with their errors (stats::modal_means): each
// slow mode's amplitude a_n(t) as one correlated series whose error comes
// from its integrated autocorrelation time (at least the model's, which a
// window of a few correlation times cannot measure); the modes are
// orthogonal (sum p_eq r_n r_m = 0 for n != m). The rest of each cell relaxes
// faster: blocking over time (verify.blocks), never below the multinomial
// error of M independent networks. With an outside cell, the cells are
// fractions of all M networks and the last one is the fraction off the grid;
// without, fractions of the networks on the grid.
stats::ModalMeans cell_means(const Verification& v, const std::vector<int64_t>& win, const std::vector<double>& pred,
                             bool with_outside, const std::vector<SlowMode>& modes) {
  const double M = static_cast<double>(v.cfg.M), nw = static_cast<double>(win.size());
  std::vector<std::vector<double>> x;
  x.reserve(win.size());
  for (int64_t j : win) {
    auto p = cell_prob(v.s, j);
    if (with_outside) {
      const double in = 1.0 - static_cast<double>(v.s.outside[static_cast<size_t>(j)]) / M;
      for (double& q : p) q *= in;
      p.push_back(1.0 - in);
    }
    x.push_back(std::move(p));
  }
  std::vector<stats::CoherentMode> cm;
  for (const SlowMode& sm : modes) {
    stats::CoherentMode c;
    c.left.resize(sm.r.size());
    for (size_t i = 0; i < sm.r.size(); ++i) c.left[i] = sm.r[i] / sm.norm;
    c.pattern = sm.pattern;
    c.tau_floor = sm.tau_model;
    cm.push_back(std::move(c));
  }
  std::vector<double> mult(pred.size());
  for (size_t i = 0; i < pred.size(); ++i) mult[i] = std::sqrt(std::max(pred[i], 1e-300) * (1 - pred[i]) / (nw * M));
  return stats::modal_means(x, cm, v.blocks, mult);
}

// Predicted probability off the grid: p_eq on a grid widened by half its
// width on every side (same cells), summed outside the run's grid. Skipped
// (zero) when p_eq at the grid's edge is below 1e-12 of its peak.
double outside_mass(const Verification& v) {
  const Grid& g = v.st0.grid;
  if (v.phys0.periodic) return 0.0;
  const double pmax = *std::max_element(v.eq.P.begin(), v.eq.P.end());
  double edge = 0;
  for (int64_t i = 0; i < g.size(); ++i) {
    int64_t r = i;
    bool on_edge = false;
    for (int k = g.K() - 1; k >= 0; --k) {  // C order: the last axis varies fastest
      const int64_t ik = r % g.n(k);
      r /= g.n(k);
      on_edge |= ik == 0 || ik == g.n(k) - 1;
    }
    if (on_edge) edge = std::max(edge, v.eq.P[i]);
  }
  if (edge < 1e-12 * pmax) return 0.0;
  Config x = with(v.phys0, "learning_equilibrium", "nelson");
  std::vector<int64_t> m(static_cast<size_t>(g.K()));
  for (int k = 0; k < g.K(); ++k) {
    m[k] = std::max<int64_t>(1, g.n(k) / 2);
    x.grid_lo[k] -= static_cast<double>(m[k]) * g.h(k);
    x.grid_hi[k] += static_cast<double>(m[k]) * g.h(k);
    x.grid_n[k] += 2 * m[k];
  }
  const Equilibrium wide = equilibrium(make_solve_setup(x, v.comm));
  const Grid gw(x);
  double out = 0;
  std::vector<double> q(static_cast<size_t>(g.K()));
  for (int64_t i = 0; i < gw.size(); ++i) {
    gw.centre(i, q.data());
    if (g.cell(q.data()) < 0) out += wide.P[i];
  }
  return out;
}

}  // namespace

// Ensemble density vs a prediction over a window of samples: L1 (and KS for
// K = 1) against their noise floors.
void density_rows(Verification& v, const std::vector<int64_t>& win, const std::vector<double>& pred, double disc,
                  const std::string& id, const std::string& what, std::vector<double>* mean_out,
                  std::vector<double>* sigma_out, double pred_outside) {
  // L1 over the grid plus, where asked, one cell for the networks off it.
  std::vector<double> pw = pred;
  if (pred_outside >= 0) {
    for (double& x : pw) x *= 1.0 - pred_outside;
    pw.push_back(pred_outside);
  }
  const std::vector<SlowMode> sm = slow_modes(v, win);
  const stats::ModalMeans cw = cell_means(v, win, pw, pred_outside >= 0, sm);
  const std::vector<double>& mw = cw.mean;
  const double L1 = stats::l1(mw, pw);
  const auto fl = stats::noise_floor(pw, cw.fast, cw.coherent, 400, kSeed, [&](const std::vector<double>& ph) {
    return stats::l1(ph, pw);
  });
  Row r;
  r.tier = 1;
  r.id = id + "a";
  r.name = "L1(ensemble density, " + what + ")";
  r.measured = L1;
  r.prediction = fl.mean;
  r.error = fl.sd;
  r.bound = disc;
  r.pass = L1 <= fl.q3 + disc ? 1 : 0;
  std::string slow;
  for (size_t m = 0; m < sm.size(); ++m) {
    char b[160];
    std::snprintf(b, sizeof(b), "%s psi_%zu: amplitude %.3g +- %.3g, tau %.1f samples (lambda_%zu: %.1f)",
                  m == 0 ? "; slow modes coherent:" : ";", sm[m].n, cw.amplitude[m].value, cw.amplitude[m].error,
                  cw.amplitude[m].tau_estimated, sm[m].n, sm[m].tau_model);
    slow += b;
  }
  r.note = "prediction = noise floor of L1 (parametric bootstrap, " + std::to_string(win.size()) + " samples" + slow + ")";
  r.extra["slow_mode_amplitude"] = cw.amplitude[0].value;
  r.extra["slow_mode_error"] = cw.amplitude[0].error;
  r.extra["slow_mode_tau_estimated"] = cw.amplitude[0].tau_estimated;
  r.extra["slow_mode_tau_model"] = sm[0].tau_model;
  r.extra["slow_modes"] = static_cast<double>(sm.size());
  if (pred_outside >= 0) {
    r.note += "; with an outside cell (measured " + std::to_string(mw.back()) + ", predicted " +
              std::to_string(pred_outside) + ")";
    r.extra["outside_measured"] = mw.back();
    r.extra["outside_predicted"] = pred_outside;
  }
  v.rows.push_back(r);
  // KS and the stored density: on the grid only
  const stats::ModalMeans cg = pred_outside >= 0 ? cell_means(v, win, pred, false, sm) : cw;
  if (v.cfg.K == 1) {
    const double D = stats::ks(cg.mean, pred);
    const auto fk = stats::noise_floor(pred, cg.fast, cg.coherent, 400, kSeed + 1,
                                       [&](const std::vector<double>& ph) { return stats::ks(ph, pred); });
    Row k = r;
    k.id = id + "b";
    k.name = "KS(ensemble density, " + what + ")";
    k.measured = D;
    k.prediction = fk.mean;
    k.error = fk.sd;
    k.bound = disc / 2;
    k.pass = D <= fk.q3 + k.bound ? 1 : 0;
    k.note = "prediction = noise floor of KS (slow modes coherent)";
    v.rows.push_back(k);
  }
  if (mean_out) *mean_out = cg.mean;
  if (sigma_out) *sigma_out = cg.sigma();
}

void equilibrium_density(Verification& v) {
  v.put("density/p_eq", v.eq.P, {static_cast<uint64_t>(v.s.cells)}, "1");
  if (!v.enough_equilibrium()) {
    v.rows.push_back(Row{1, "T1.2", "ensemble density = e^{-Omega/T_q}", NAN, NAN, NAN, 0, -1,
                         "not evaluated: fewer than 4 samples after the burn-in", {}});
    return;
  }
  std::vector<double> mean, sigma;
  density_rows(v, v.eq_window, v.eq.P, v.eq.disc, "T1.2", "e^{-Omega/T_q}", &mean, &sigma, outside_mass(v));
  const uint64_t C = static_cast<uint64_t>(v.s.cells);
  v.put("density/ensemble", mean, {C}, "1");
  v.put("density/ensemble_error", sigma, {C}, "1");
}

// T1.3: the ground state, at the run's grid and at half resolution.
void ground_state(Verification& v) {
  const EigenResult& fine = lowest_pairs(v);
  const EigenResult coarse = eigen(v.st0c, v.phys0, 2, v.comm);
  const std::vector<double> psi0sq = psi0_prob(fine, v.st0.grid.cell_volume());
  const Equilibrium eqc = equilibrium(v.st0c);
  const double l1f = stats::l1(psi0sq, v.eq.P), l1c = stats::l1(psi0_prob(coarse, v.st0c.grid.cell_volume()), eqc.P);
  Row a{1, "T1.3a", "L1(|psi_0|^2 from SLEPc, p_eq)", l1f, 0, 0, l1c / 2 + 1e-9, 0,
        "bound: half the error at half resolution (second order gives a quarter)", {}};
  a.pass = l1f <= a.bound ? 1 : 0;
  v.rows.push_back(a);
  const double gap = fine.E.size() > 1 ? fine.E[1] - fine.E[0] : 1.0;
  Row b{1, "T1.3b", "E_0 / (E_1 - E_0)", fine.E[0] / gap, 0, 0,
        std::fabs(coarse.E[0] / (coarse.E.size() > 1 ? coarse.E[1] - coarse.E[0] : 1.0)) / 2 + 1e-9, 0,
        "hbar = 2 T_q; same refinement bound", {}};
  b.pass = std::fabs(b.measured) <= b.bound ? 1 : 0;
  v.rows.push_back(b);
  if (v.enough_equilibrium())
    density_rows(v, v.eq_window, psi0sq, v.eq.disc + l1f, "T1.3c", "|psi_0|^2", nullptr, nullptr);
  v.put("density/psi0_squared", psi0sq, {static_cast<uint64_t>(v.s.cells)}, "1");
}

}  // namespace gcnn::verify
