// `gcnn verify --results FILE`: the verdict on MODEL.md §6 for one run.
//
// Tier 1 (pass/fail; pass = within the 3-sigma statistical bound plus the
// stated discretisation bound):
//   T1.2  ensemble density = e^{-Omega/T_q} (mean-field Omega): L1 and, K = 1, KS
//   T1.3  |psi_0|^2 (SLEPc) = p_eq and E_0 = 0; ensemble density = |psi_0|^2
//   T1.4  after a quench: relaxation rate = lambda_1 = (2mD/hbar^2)(E_1 - E_0),
//         and p(q,t) follows the PETSc Fokker-Planck solution
// Tier 2 (measured, never asserted):
//   T2.6  Delta F vs mu; coherence C(hbar) at hbar_mu/n, sector vs set
//   T2.7  after a quench: p(q,t) vs |psi(q,t)|^2 (TDSE, hbar_mu, psi(0) = psi_ens)
//         and vs Fokker-Planck: L1(t), fidelity(t)
//   T2.8  superposition (init.mode = two_packets): the same from t = 0
//
// Errors: per-cell standard errors from blocking over time (never below the
// multinomial error of independent networks, the bootstrap over networks);
// noise floors of L1/KS from a parametric bootstrap. Everything is keyed by
// fixed seeds, so the verdict is reproducible.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "gcnn/cli.hpp"
#include "gcnn/grid.hpp"
#include "gcnn/h5.hpp"
#include "gcnn/petsc_env.hpp"
#include "gcnn/schrodinger_solver.hpp"
#include "gcnn/solve_setup.hpp"
#include "gcnn/statistics.hpp"

namespace gcnn {

namespace {

constexpr uint64_t kVerifySeed = 0x5EB1F1ED;

struct Row {
  int tier = 1;
  std::string id, name;
  double measured = NAN, prediction = NAN, error = NAN, bound = 0;
  int pass = -1;  // 1 pass, 0 fail, -1 not asserted (Tier 2) or not evaluated
  std::string note;
};

// What verify reads from a results file (rank 0 reads, everyone gets it).
struct Series {
  std::vector<int64_t> step;
  std::vector<double> time;
  int64_t S = 0, cells = 0;
  std::vector<int64_t> hist, outside;  // [S, cells], [S]
  std::vector<double> delta_F;         // [S, 2]
  std::vector<double> coh_n;           // [S, 4, 2]
  std::vector<double> psi;             // [S, cells, 2]
  std::string config_ini;
};

template <class T> void bcast_vec(const Comm& comm, std::vector<T>& v) {
  int64_t n = static_cast<int64_t>(v.size());
  comm.bcast(&n, 1);
  v.resize(static_cast<size_t>(n));
  comm.bcast(v.data(), v.size());
}

Series read_series(const std::string& path, const Comm& comm) {
  Series s;
  const std::string err = on_root(comm, [&] {
      h5::Handle f = h5::open_file(path, false, MPI_COMM_SELF);
      if (h5::file_kind(f) != "results") throw std::runtime_error("'" + path + "' is not a gcnn results file");
      h5::Handle p = h5::open_group(f, "parameters");
      s.config_ini = h5::read_attr_string(p, "config");
      s.step = h5::read_dataset<int64_t>(f, "observables/clock/step");
      s.time = h5::read_dataset<double>(f, "observables/clock/time");
      std::vector<hsize_t> d;
      s.hist = h5::read_dataset<int64_t>(f, "observables/q_histogram/value", &d);
      s.outside = h5::read_dataset<int64_t>(f, "observables/q_outside/value");
      s.delta_F = h5::read_dataset<double>(f, "observables/delta_F/value");
      s.coh_n = h5::read_dataset<double>(f, "observables/coherence_hbar_mu_over_n/value");
      s.psi = h5::read_dataset<double>(f, "observables/psi_ensemble/value");
      s.S = static_cast<int64_t>(s.step.size());
      if (s.S < 2) throw std::runtime_error("'" + path + "' holds fewer than 2 samples");
      s.cells = static_cast<int64_t>(s.hist.size()) / s.S;
  });
  if (!err.empty()) throw ConfigError("verify: " + err);
  bcast_vec(comm, s.step);
  bcast_vec(comm, s.time);
  bcast_vec(comm, s.hist);
  bcast_vec(comm, s.outside);
  bcast_vec(comm, s.delta_F);
  bcast_vec(comm, s.coh_n);
  bcast_vec(comm, s.psi);
  comm.bcast(s.config_ini);
  s.S = static_cast<int64_t>(s.step.size());
  s.cells = static_cast<int64_t>(s.hist.size()) / s.S;
  return s;
}

// Cell probabilities of sample j (networks inside the grid).
std::vector<double> cell_prob(const Series& s, int64_t j) {
  std::vector<double> p(static_cast<size_t>(s.cells));
  double tot = 0;
  for (int64_t i = 0; i < s.cells; ++i) tot += static_cast<double>(s.hist[j * s.cells + i]);
  for (int64_t i = 0; i < s.cells; ++i) p[i] = tot > 0 ? static_cast<double>(s.hist[j * s.cells + i]) / tot : 0.0;
  return p;
}

std::vector<double> normalised(std::vector<double> p) {
  double z = 0;
  for (double x : p) z += x;
  for (double& x : p) x /= z;
  return p;
}

Config with(const Config& c, const std::string& potential, const std::string& hbar, int64_t n_div = 1) {
  Config x = c;
  x.solver_potential = potential;
  x.solver_hbar = hbar;
  if (n_div > 1)
    for (auto& n : x.grid_n) n = std::max<int64_t>(4, n / n_div);
  return x;
}

// p_eq = e^{-Omega/T_q} as cell probabilities, from the learning-equilibrium
// setup (which evaluated Omega once), with its cell-average correction bound
// (midpoint rule: |cell mean - centre value| ~ h^2/24 |p''|).
struct Equilibrium {
  std::vector<double> P;
  double disc = 0;
};
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

struct EigenResult {
  std::vector<double> E;
  std::vector<std::vector<double>> psi;  // real eigenvectors, sum psi^2 dV = 1
  double hbar = 1, mass = 1;
};
EigenResult eigen(const SolveSetup& st, const Config& c, int n, const Comm& comm) {
  SchrodingerSolver solver(st.grid, c.solver_bc == "periodic", st.hbar, st.mass, st.V, comm.raw());
  const auto eig = solver.eigenpairs(n);
  EigenResult r;
  r.E = eig.values;
  r.psi = eig.vectors;
  r.hbar = st.hbar;
  r.mass = st.mass;
  return r;
}

std::vector<double> psi0_prob(const EigenResult& r, double dv) {
  std::vector<double> p(r.psi[0].size());
  for (size_t i = 0; i < p.size(); ++i) p[i] = r.psi[0][i] * r.psi[0][i] * dv;
  return normalised(p);
}

// Ensemble density vs a prediction over a window of samples: L1 (and KS for
// K = 1) against their noise floors.
void density_rows(const Series& s, const std::vector<int64_t>& win, const std::vector<double>& pred, double disc,
                  int K, int64_t M, int blocks, const std::string& id, const std::string& what, std::vector<Row>& rows,
                  std::vector<double>* mean_out, std::vector<double>* sigma_out) {
  const size_t C = static_cast<size_t>(s.cells);
  std::vector<double> mean(C, 0.0), sigma(C, 0.0);
  std::vector<std::vector<double>> per(C);
  for (int64_t j : win) {
    const auto p = cell_prob(s, j);
    for (size_t i = 0; i < C; ++i) per[i].push_back(p[i]);
  }
  const double nw = static_cast<double>(win.size());
  for (size_t i = 0; i < C; ++i) {
    const auto b = stats::block_means(per[i], blocks);
    mean[i] = b.value;
    // never below the error of independent networks (bootstrap over networks)
    const double mult = std::sqrt(std::max(pred[i], 1e-300) * (1 - pred[i]) / (nw * static_cast<double>(M)));
    sigma[i] = std::max(b.error, mult);
  }
  const double L1 = stats::l1(mean, pred);
  const auto fl = stats::noise_floor(pred, sigma, 400, kVerifySeed, [&](const std::vector<double>& ph) {
    return stats::l1(ph, pred);
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
  rows.push_back(r);
  if (K == 1) {
    const double D = stats::ks(mean, pred);
    const auto fk = stats::noise_floor(pred, sigma, 400, kVerifySeed + 1, [&](const std::vector<double>& ph) {
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
    rows.push_back(k);
  }
  if (mean_out) *mean_out = mean;
  if (sigma_out) *sigma_out = sigma;
}

// Samples from `j0` on with uniform spacing, at most `nmax` after j0.
std::vector<int64_t> uniform_window(const Series& s, int64_t j0, int64_t nmax) {
  std::vector<int64_t> w{j0};
  if (j0 + 1 >= s.S) return w;
  const int64_t d = s.step[j0 + 1] - s.step[j0];
  for (int64_t j = j0 + 1; j < s.S && static_cast<int64_t>(w.size()) <= nmax; ++j) {
    if (s.step[j] - s.step[j - 1] != d) break;
    w.push_back(j);
  }
  return w;
}

struct Dynamics {
  std::vector<double> t, l1_tdse, fid_tdse, l1_fp, fid_fp, floor;
};

// Ensemble p(q,t) over `win` against the TDSE from psi_ens(win[0]) with hbar_mu
// and against Fokker-Planck from the histogram at win[0].
Dynamics dynamics(const Series& s, const std::vector<int64_t>& win, const Config& phys, const Comm& comm) {
  Dynamics dy;
  const size_t C = static_cast<size_t>(s.cells);
  const int64_t J = static_cast<int64_t>(win.size()) - 1;
  if (J < 1) return dy;
  const double Dt = s.time[win[1]] - s.time[win[0]];
  const int64_t sub = std::max<int64_t>(4, static_cast<int64_t>(std::ceil(Dt / phys.solver_dt)));
  const double dt = Dt / static_cast<double>(sub);
  // TDSE with hbar_mu
  const Config cq = with(phys, "learning_equilibrium", "mu");
  const SolveSetup st = make_solve_setup(cq, comm);
  SchrodingerSolver solver(st.grid, phys.solver_bc == "periodic", st.hbar, st.mass, st.V, comm.raw());
  const double dv = st.grid.cell_volume();
  std::vector<double> psi0(2 * C);
  double nrm = 0;
  for (size_t i = 0; i < 2 * C; ++i) {
    psi0[i] = s.psi[static_cast<size_t>(win[0]) * 2 * C + i];
    nrm += psi0[i] * psi0[i];
  }
  for (double& x : psi0) x /= std::sqrt(nrm * dv);
  const auto td = solver.tdse(psi0, dt, J * sub, J);
  // Fokker-Planck from the histogram
  std::vector<double> p0 = cell_prob(s, win[0]);
  for (double& x : p0) x /= dv;
  const auto fp = solver.fokker_planck(st.omega_Tq, phys.gamma * phys.Tq, p0, dt, J * sub, J);
  auto nearest = [](const std::vector<double>& ts, double t) {
    size_t b = 0;
    for (size_t i = 1; i < ts.size(); ++i)
      if (std::fabs(ts[i] - t) < std::fabs(ts[b] - t)) b = i;
    return b;
  };
  for (int64_t jj = 1; jj <= J; ++jj) {
    const double t = static_cast<double>(jj) * Dt;
    const auto P = cell_prob(s, win[jj]);
    const auto& ps = td.snapshots[nearest(td.snap_t, t)];
    std::vector<double> pq(C), pf(C);
    for (size_t i = 0; i < C; ++i) pq[i] = ps[2 * i] * ps[2 * i] + ps[2 * i + 1] * ps[2 * i + 1];
    pq = normalised(pq);
    const auto& fs = fp.snapshots[nearest(fp.snap_t, t)];
    for (size_t i = 0; i < C; ++i) pf[i] = fs[i];
    pf = normalised(pf);
    dy.t.push_back(t);
    dy.l1_tdse.push_back(stats::l1(P, pq));
    dy.fid_tdse.push_back(stats::fidelity(P, pq));
    dy.l1_fp.push_back(stats::l1(P, pf));
    dy.fid_fp.push_back(stats::fidelity(P, pf));
    // expected L1 of M independent networks drawn from pf
    double fl = 0;
    for (size_t i = 0; i < C; ++i) fl += std::sqrt(2.0 / M_PI * pf[i] * (1 - pf[i]) / static_cast<double>(phys.M));
    dy.floor.push_back(fl);
  }
  return dy;
}

std::string fmt(double x) {
  if (!std::isfinite(x)) return "-";
  char b[32];
  std::snprintf(b, sizeof(b), "%.4g", x);
  return b;
}

}  // namespace

int cmd_verify(int argc, char** argv, const Comm& comm) {
  CliRequest req = parse_command_line(argc, argv, {"results"});
  if (req.help) {
    if (comm.root())
      std::cout << "usage: mpirun -np P gcnn verify --results FILE [--verify.burn_in 0.3] [--solver.petsc ...]\n"
                   "Checks a results file against MODEL.md section 6, prints the verdict table, writes\n"
                   "/verification into FILE. Exit 0: every Tier-1 row passed; 3: a Tier-1 row failed.\n";
    return kExitOk;
  }
  std::string path = req.extra_value("results");
  if (path.empty() && !req.positional.empty()) path = req.positional[0];
  if (path.empty()) throw ConfigError("usage: gcnn verify --results FILE");
  Series s = read_series(path, comm);
  CliRequest merged;
  merged.raw = req.raw;  // verify.* and solver.* overrides first
  merge_config_text(merged, s.config_ini, path);
  const Config cfg = make_config(merged.raw);
  if (static_cast<int64_t>(Grid(cfg).size()) != s.cells)
    throw ConfigError("verify: the q histogram of '" + path + "' does not match its grid");
  PetscSession petsc(cfg.solver_petsc);
  const int blocks = static_cast<int>(cfg.verify_blocks);
  std::vector<Row> rows;
  const bool quench = cfg.quench_step > 0;

  // Equilibrium window: after the burn-in, before a quench.
  const int64_t s_end = quench ? cfg.quench_step : s.step.back();
  std::vector<int64_t> win;
  for (int64_t j = 0; j < s.S; ++j)
    if (static_cast<double>(s.step[j]) >= cfg.verify_burn_in * static_cast<double>(s_end) && s.step[j] <= s_end)
      win.push_back(j);
  const Config phys0 = physics_at(cfg, 0);
  // The learning-equilibrium setup (Omega, V with hbar = 2 T_q) at the run's
  // grid and at half resolution (for the discretisation bounds).
  const SolveSetup st0 = make_solve_setup(with(phys0, "learning_equilibrium", "nelson"), comm);
  const SolveSetup st0c = make_solve_setup(with(phys0, "learning_equilibrium", "nelson", 2), comm);
  const Equilibrium eq = equilibrium(st0);
  std::vector<double> p_mean, p_sigma, psi0sq;
  if (win.size() >= 4) {
    density_rows(s, win, eq.P, eq.disc, cfg.K, cfg.M, blocks, "T1.2", "e^{-Omega/T_q}", rows, &p_mean, &p_sigma);
  } else {
    rows.push_back(Row{1, "T1.2", "ensemble density = e^{-Omega/T_q}", NAN, NAN, NAN, 0, -1,
                       "not evaluated: fewer than 4 samples after the burn-in"});
  }

  // T1.3: the ground state, at the run's grid and at half resolution.
  {
    const EigenResult fine = eigen(st0, phys0, 2, comm);
    const EigenResult coarse = eigen(st0c, phys0, 2, comm);
    psi0sq = psi0_prob(fine, st0.grid.cell_volume());
    const Equilibrium eqc = equilibrium(st0c);
    const double l1f = stats::l1(psi0sq, eq.P), l1c = stats::l1(psi0_prob(coarse, st0c.grid.cell_volume()), eqc.P);
    Row a{1, "T1.3a", "L1(|psi_0|^2 from SLEPc, p_eq)", l1f, 0, 0, l1c / 2 + 1e-9, 0,
          "bound: half the error at half resolution (second order gives a quarter)"};
    a.pass = l1f <= a.bound ? 1 : 0;
    rows.push_back(a);
    const double gap = fine.E.size() > 1 ? fine.E[1] - fine.E[0] : 1.0;
    Row b{1, "T1.3b", "E_0 / (E_1 - E_0)", fine.E[0] / gap, 0, 0,
          std::fabs(coarse.E[0] / (coarse.E.size() > 1 ? coarse.E[1] - coarse.E[0] : 1.0)) / 2 + 1e-9, 0,
          "hbar = 2 T_q; same refinement bound"};
    b.pass = std::fabs(b.measured) <= b.bound ? 1 : 0;
    rows.push_back(b);
    if (win.size() >= 4)
      density_rows(s, win, psi0sq, eq.disc + l1f, cfg.K, cfg.M, blocks, "T1.3c", "|psi_0|^2", rows, nullptr,
                   nullptr);
  }

  // T2.6: Delta F and coherence over the equilibrium window.
  if (win.size() >= 4) {
    std::vector<double> dF, c1s, c1t;
    for (int64_t j : win) dF.push_back(s.delta_F[2 * j]);
    const auto e = stats::block_means(dF, blocks);
    rows.push_back(Row{2, "T2.6a", "<Delta F> = <F_{N+1} - F_N>", e.value, cfg.mu, e.error, 0, -1,
                       "prediction: mu (the paper's multivaluedness)"});
    for (int n = 1; n <= 4; ++n) {
      std::vector<double> cs, ct;
      for (int64_t j : win) {
        cs.push_back(s.coh_n[static_cast<size_t>(j) * 8 + (n - 1) * 2]);
        ct.push_back(s.coh_n[static_cast<size_t>(j) * 8 + (n - 1) * 2 + 1]);
      }
      const auto a = stats::block_means(cs, blocks), b = stats::block_means(ct, blocks);
      rows.push_back(Row{2, "T2.6" + std::string(1, static_cast<char>('a' + n)),
                         "C_sector(hbar_mu/" + std::to_string(n) + ")", a.value, b.value, a.error, 0, -1,
                         "prediction column: C_set at the same hbar (no revival expected there)"});
    }
  }

  // T1.4 and T2.7: the quench.
  Dynamics dq, dsup;
  std::vector<double> rel_t, rel_c, rel_s;
  double lambda1 = NAN;
  if (quench) {
    int64_t j0 = -1;
    for (int64_t j = 0; j < s.S; ++j)
      if (s.step[j] == cfg.quench_step) j0 = j;
    const Config phys1 = physics_at(cfg, static_cast<uint64_t>(cfg.quench_step));
    const auto wq = j0 >= 0 ? uniform_window(s, j0, cfg.verify_dynamics_samples) : std::vector<int64_t>{};
    if (wq.size() < 4) {
      rows.push_back(Row{1, "T1.4", "relaxation after the quench", NAN, NAN, NAN, 0, -1,
                         "not evaluated: no sample at quench.step or too few evenly spaced samples after it"});
    } else {
      const SolveSetup st1 = make_solve_setup(with(phys1, "learning_equilibrium", "nelson"), comm);
      const SolveSetup st1c = make_solve_setup(with(phys1, "learning_equilibrium", "nelson", 2), comm);
      const EigenResult fine = eigen(st1, phys1, 3, comm), coarse = eigen(st1c, phys1, 3, comm);
      const double D = phys1.gamma * phys1.Tq;
      const double pref = 2 * fine.mass * D / (fine.hbar * fine.hbar);
      lambda1 = pref * (fine.E[1] - fine.E[0]);
      const double lambda1c = pref * (coarse.E[1] - coarse.E[0]);
      const double lambda2 = pref * (fine.E[2] - fine.E[0]);
      // c1(t) = sum_q p(q,t) psi_1/psi_0: the amplitude of the slowest mode.
      const auto& v0 = fine.psi[0];
      const auto& v1 = fine.psi[1];
      double vmax = 0;
      for (double x : v0) vmax = std::max(vmax, std::fabs(x));
      std::vector<double> fx, fy, fs;
      for (int64_t j : wq) {
        const auto P = cell_prob(s, j);
        double c1 = 0, c2 = 0;
        for (size_t i = 0; i < P.size(); ++i) {
          if (std::fabs(v0[i]) < 1e-6 * vmax) continue;
          const double r = v1[i] / v0[i];
          c1 += P[i] * r;
          c2 += P[i] * r * r;
        }
        const double t = s.time[j] - s.time[wq[0]];
        const double sig = std::sqrt(std::max(c2 - c1 * c1, 1e-300) / static_cast<double>(cfg.M));
        rel_t.push_back(t);
        rel_c.push_back(c1);
        rel_s.push_back(sig);
        if (t >= 1.0 / lambda2 && std::fabs(c1) > 3 * sig) {
          fx.push_back(t);
          fy.push_back(std::log(std::fabs(c1)));
          fs.push_back(sig / std::fabs(c1));
        }
      }
      Row r{1, "T1.4a", "relaxation rate of the slowest mode after the quench", NAN, lambda1, NAN,
            std::fabs(lambda1 - lambda1c), -1, ""};
      if (fx.size() >= 3) {
        const auto sl = stats::wls_slope(fx, fy, fs);
        r.measured = -sl.value;
        r.error = sl.error;
        r.pass = std::fabs(r.measured - lambda1) <= 3 * r.error + r.bound ? 1 : 0;
        r.note = "fit of ln|c_1(t)|, c_1 = sum p psi_1/psi_0, over " + std::to_string(fx.size()) +
                 " samples; prediction lambda_1 = (2mD/hbar^2)(E_1 - E_0)";
      } else {
        r.note = "not evaluated: the slowest mode is below 3 sigma after t = 1/lambda_2";
      }
      rows.push_back(r);
      dq = dynamics(s, wq, phys1, comm);
      double l1 = 0, fl = 0, v = 0;
      for (size_t i = 0; i < dq.t.size(); ++i) {
        l1 += dq.l1_fp[i];
        fl += dq.floor[i];
        v += std::pow(0.6 * dq.floor[i], 2);  // sd of L1 of independent cells ~ 0.6 of its mean (half-normal)
      }
      const double n = static_cast<double>(dq.t.size());
      Row f{1, "T1.4b", "mean L1(ensemble p(q,t), Fokker-Planck)", l1 / n, fl / n, std::sqrt(v) / n, 0, 0,
            "prediction = noise floor of M independent networks"};
      f.pass = f.measured <= f.prediction + 3 * f.error ? 1 : 0;
      rows.push_back(f);
      rows.push_back(Row{2, "T2.7a", "fidelity(ensemble, TDSE) at the end of the window", dq.fid_tdse.back(), 1, NAN,
                         0, -1, "TDSE with hbar_mu from psi_ens at the quench"});
      rows.push_back(Row{2, "T2.7b", "fidelity(ensemble, Fokker-Planck) at the end", dq.fid_fp.back(), 1, NAN, 0,
                         -1, ""});
      rows.push_back(Row{2, "T2.7c", "L1(ensemble, TDSE) at the end", dq.l1_tdse.back(), 0, NAN, 0, -1, ""});
    }
  }
  if (cfg.init_two_packets) {
    const auto ws = uniform_window(s, 0, cfg.verify_dynamics_samples);
    if (ws.size() >= 3) {
      dsup = dynamics(s, ws, phys0, comm);
      rows.push_back(Row{2, "T2.8a", "superposition: fidelity(ensemble, TDSE) at the end", dsup.fid_tdse.back(), 1,
                         NAN, 0, -1, "two sub-ensembles; TDSE with hbar_mu from psi_ens(0)"});
      rows.push_back(Row{2, "T2.8b", "superposition: fidelity(ensemble, Fokker-Planck) at the end",
                         dsup.fid_fp.back(), 1, NAN, 0, -1, ""});
    }
  }

  // The table.
  bool failed = false;
  std::ostringstream o;
  char line[512];
  std::snprintf(line, sizeof(line), "%-6s %-52s %11s %11s %10s %10s  %s\n", "row", "identity", "measured",
                "predicted", "error", "disc.bound", "verdict");
  o << "gcnn verify: " << path << " (" << s.S << " samples, equilibrium window " << win.size() << " samples)\n"
    << line;
  for (const Row& r : rows) {
    const char* v = r.tier == 2 ? "(tier 2)" : r.pass == 1 ? "PASS" : r.pass == 0 ? "FAIL" : "n/a";
    if (r.tier == 1 && r.pass == 0) failed = true;
    std::snprintf(line, sizeof(line), "%-6s %-52s %11s %11s %10s %10s  %s\n", r.id.c_str(), r.name.c_str(),
                  fmt(r.measured).c_str(), fmt(r.prediction).c_str(), fmt(r.error).c_str(), fmt(r.bound).c_str(), v);
    o << line;
  }
  o << (failed ? "verdict: a Tier-1 identity FAILED\n" : "verdict: every evaluated Tier-1 identity PASSED\n");
  if (comm.root()) std::cout << o.str() << std::flush;

  // /verification in the results file (rank 0, after all collective work).
  const std::string err = on_root(comm, [&] {
      h5::Handle f = h5::open_file(path, true, MPI_COMM_SELF);
      if (h5::exists(f, "verification")) h5::check(H5Ldelete(f, "verification", H5P_DEFAULT), "H5Ldelete");
      h5::Handle g = h5::create_group(f, "verification");
      h5::attr(g, "table", o.str());
      h5::attr(g, "tier1_passed", static_cast<int64_t>(failed ? 0 : 1));
      h5::attr(g, "burn_in", cfg.verify_burn_in);
      for (const Row& r : rows) {
        h5::Handle rg = h5::create_group(g, "rows/" + r.id);
        h5::attr(rg, "tier", static_cast<int64_t>(r.tier));
        h5::attr(rg, "name", r.name);
        h5::attr(rg, "measured", r.measured);
        h5::attr(rg, "prediction", r.prediction);
        h5::attr(rg, "error", r.error);
        h5::attr(rg, "bound", r.bound);
        h5::attr(rg, "pass", static_cast<int64_t>(r.pass));
        h5::attr(rg, "note", r.note);
      }
      const hsize_t C = static_cast<hsize_t>(s.cells);
      h5::Handle dg = h5::create_group(g, "density");
      h5::write_dataset<double>(dg, "p_eq", eq.P, {C}, true, "1");
      h5::write_dataset<double>(dg, "psi0_squared", psi0sq, {C}, true, "1");
      if (!p_mean.empty()) {
        h5::write_dataset<double>(dg, "ensemble", p_mean, {C}, true, "1");
        h5::write_dataset<double>(dg, "ensemble_error", p_sigma, {C}, true, "1");
      }
      h5::attr(dg, "description", std::string("cell probabilities over the equilibrium window"));
      auto put_dyn = [&](const std::string& name, const Dynamics& d) {
        if (d.t.empty()) return;
        h5::Handle q = h5::create_group(g, name);
        const hsize_t n = d.t.size();
        h5::write_dataset<double>(q, "time", d.t, {n}, true, "time");
        h5::write_dataset<double>(q, "l1_tdse", d.l1_tdse, {n}, true, "1");
        h5::write_dataset<double>(q, "fidelity_tdse", d.fid_tdse, {n}, true, "1");
        h5::write_dataset<double>(q, "l1_fokker_planck", d.l1_fp, {n}, true, "1");
        h5::write_dataset<double>(q, "fidelity_fokker_planck", d.fid_fp, {n}, true, "1");
        h5::write_dataset<double>(q, "l1_noise_floor", d.floor, {n}, true, "1");
      };
      put_dyn("quench", dq);
      put_dyn("superposition", dsup);
      if (!rel_t.empty()) {
        h5::Handle q = h5::create_group(g, "relaxation");
        const hsize_t n = rel_t.size();
        h5::write_dataset<double>(q, "time", rel_t, {n}, true, "time");
        h5::write_dataset<double>(q, "c1", rel_c, {n}, true, "1");
        h5::write_dataset<double>(q, "c1_error", rel_s, {n}, true, "1");
        h5::attr(q, "lambda1", lambda1);
      }
  });
  if (!err.empty()) throw std::runtime_error("verify: writing /verification to '" + path + "': " + err);
  return failed ? kExitVerifyFailed : kExitOk;
}

}  // namespace gcnn
