// Tier 1 at equilibrium: the ensemble density against e^{-Omega/T_q} (T1.2)
// and the SLEPc ground state (T1.3).
#include <algorithm>
#include <cmath>

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

// Per-cell means over the window with their errors: blocking over time, never
// below the multinomial error of M independent networks. With an outside
// cell, the cells are fractions of all M networks and the last one is the
// fraction off the grid; without, fractions of the networks on the grid.
void cell_means(const Verification& v, const std::vector<int64_t>& win, const std::vector<double>& pred,
                bool with_outside, std::vector<double>& mean, std::vector<double>& sigma) {
  const size_t C = pred.size();
  mean.assign(C, 0.0);
  sigma.assign(C, 0.0);
  std::vector<std::vector<double>> per(C);
  const double M = static_cast<double>(v.cfg.M);
  for (int64_t j : win) {
    auto p = cell_prob(v.s, j);
    if (with_outside) {
      const double in = 1.0 - static_cast<double>(v.s.outside[static_cast<size_t>(j)]) / M;
      for (double& x : p) x *= in;
      p.push_back(1.0 - in);
    }
    for (size_t i = 0; i < C; ++i) per[i].push_back(p[i]);
  }
  const double nw = static_cast<double>(win.size());
  for (size_t i = 0; i < C; ++i) {
    const auto b = stats::block_means(per[i], v.blocks);
    mean[i] = b.value;
    const double mult = std::sqrt(std::max(pred[i], 1e-300) * (1 - pred[i]) / (nw * M));
    sigma[i] = std::max(b.error, mult);
  }
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
  std::vector<double> pw = pred, mw, sw;
  if (pred_outside >= 0) {
    for (double& x : pw) x *= 1.0 - pred_outside;
    pw.push_back(pred_outside);
  }
  cell_means(v, win, pw, pred_outside >= 0, mw, sw);
  const double L1 = stats::l1(mw, pw);
  const auto fl = stats::noise_floor(pw, sw, 400, kSeed, [&](const std::vector<double>& ph) {
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
  r.note = "prediction = noise floor of L1 (parametric bootstrap, " + std::to_string(win.size()) + " samples)";
  if (pred_outside >= 0) {
    r.note += "; with an outside cell (measured " + std::to_string(mw.back()) + ", predicted " +
              std::to_string(pred_outside) + ")";
    r.extra["outside_measured"] = mw.back();
    r.extra["outside_predicted"] = pred_outside;
  }
  v.rows.push_back(r);
  std::vector<double> mean = mw, sigma = sw;  // KS and the stored density: on the grid only
  if (pred_outside >= 0) cell_means(v, win, pred, false, mean, sigma);
  if (v.cfg.K == 1) {
    const double D = stats::ks(mean, pred);
    const auto fk = stats::noise_floor(pred, sigma, 400, kSeed + 1, [&](const std::vector<double>& ph) {
      return stats::ks(ph, pred);
    });
    Row k = r;
    k.id = id + "b";
    k.name = "KS(ensemble density, " + what + ")";
    k.measured = D;
    k.prediction = fk.mean;
    k.error = fk.sd;
    k.bound = disc / 2;
    k.pass = D <= fk.q3 + k.bound ? 1 : 0;
    k.note = "prediction = noise floor of KS";
    v.rows.push_back(k);
  }
  if (mean_out) *mean_out = mean;
  if (sigma_out) *sigma_out = sigma;
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
  const EigenResult fine = eigen(v.st0, v.phys0, 2, v.comm);
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
