// Dynamics after a quench (T1.4, T2.7) and from a superposition (T2.8).
#include <algorithm>
#include <cmath>

#include "gcnn/nonlinear_fokker_planck.hpp"
#include "gcnn/relaxation.hpp"
#include "gcnn/schrodinger_solver.hpp"
#include "gcnn/statistics.hpp"
#include "gcnn/verification.hpp"
#include "gcnn/schedule.hpp"

namespace gcnn::verify {

namespace {
size_t nearest(const std::vector<double>& ts, double t) {
  size_t b = 0;
  for (size_t i = 1; i < ts.size(); ++i)
    if (std::fabs(ts[i] - t) < std::fabs(ts[b] - t)) b = i;
  return b;
}

void put_dynamics(Verification& v, const std::string& name, const Dynamics& d) {
  if (d.t.empty()) return;
  const std::vector<uint64_t> n{d.t.size()};
  v.put(name + "/time", d.t, n, "time");
  v.put(name + "/l1_tdse", d.l1_tdse, n, "1");
  v.put(name + "/fidelity_tdse", d.fid_tdse, n, "1");
  v.put(name + "/l1_fokker_planck", d.l1_fp, n, "1");
  v.put(name + "/fidelity_fokker_planck", d.fid_fp, n, "1");
  v.put(name + "/l1_noise_floor", d.floor, n, "1");
}
}  // namespace

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
  SchrodingerSolver solver(st.grid, phys.solver_bc == SolverBC::Periodic, st.hbar, st.mass, st.V, comm.raw());
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

namespace {

// Cell probabilities at the window's sample times predicted by the nonlinear
// Fokker-Planck equation (Omega[p] follows the ensemble) from the histogram
// at the quench; dt divides the sample interval, at most 0.04.
struct Prediction {
  std::vector<std::vector<double>> P;
  double dt = 0, seconds = 0;
};
Prediction nonlinear_prediction(const Verification& v, const std::vector<int64_t>& wq, const Config& phys1) {
  const double t0 = MPI_Wtime();
  const NonlinearFokkerPlanck nl(phys1, v.comm);
  const double Dt = v.s.time[wq[1]] - v.s.time[wq[0]];
  const int64_t sub = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(Dt / 0.04 - 1e-9)));
  Prediction pr;
  pr.dt = Dt / static_cast<double>(sub);
  const double dv = nl.grid().cell_volume();
  std::vector<double> p0 = cell_prob(v.s, wq[0]);
  for (double& x : p0) x /= dv;
  const int64_t J = static_cast<int64_t>(wq.size()) - 1;
  const auto evo = nl.evolve(p0, pr.dt, J * sub, J);
  for (int64_t jj = 0; jj <= J; ++jj) {
    std::vector<double> P = evo.snapshots[nearest(evo.snap_t, static_cast<double>(jj) * Dt)];
    pr.P.push_back(normalised(std::move(P)));
  }
  pr.seconds = MPI_Wtime() - t0;
  return pr;
}

// T1.4a: the rate of the slowest mode c_1(t) = sum_q p(q,t) psi_1/psi_0 after
// a collective quench, against the nonlinear Fokker-Planck prediction fitted
// by the same rule (relaxation::fit_rate); the linear lambda_1, exact only for
// a tagged minority, is reported beside it (T2.4).
void relaxation_rate(Verification& v, const std::vector<int64_t>& wq, const Config& phys1) {
  const Series& s = v.s;
  const SolveSetup& st1 = v.equilibrium_setup(phys1);
  const SolveSetup& st1c = v.equilibrium_setup(phys1, 2);
  const EigenResult fine = eigen(st1, phys1, 3, v.comm), coarse = eigen(st1c, phys1, 3, v.comm);
  const double D = phys1.gamma * phys1.Tq;
  const double lambda1 = fine.rate(1, D), lambda1c = coarse.rate(1, D), lambda2 = fine.rate(2, D);
  const relaxation::SlowestMode mode(fine.psi[0], fine.psi[1]);
  std::vector<double> t;
  std::vector<std::vector<double>> P;
  for (int64_t j : wq) {
    t.push_back(s.time[j] - s.time[wq[0]]);
    P.push_back(cell_prob(s, j));
  }
  const double M = static_cast<double>(v.cfg.M);
  const relaxation::RateFit meas = relaxation::fit_rate(t, P, mode, lambda2, M);
  const Prediction pr = nonlinear_prediction(v, wq, phys1);
  const relaxation::RateFit nl = relaxation::fit_rate(t, pr.P, mode, lambda2, M);
  const double nl_rate = relaxation::continuous_rate(nl.rate, pr.dt);
  // A tagged minority (quench.displace_fraction) moves through a bulk at
  // equilibrium: lambda_1 is its exact rate up to the O(f) change of the
  // odds s_i, whose size the nonlinear solution gives (in the bound).
  const bool tagged = tagged_networks(v.cfg) > 0;
  Row r{1, "T1.4a", tagged ? "relaxation rate, tagged minority (lambda_1)" : "relaxation rate after the quench (nonlinear FP)",
        meas.rate, tagged ? lambda1 : nl_rate, meas.error,
        std::fabs(lambda1 - lambda1c) + (tagged ? std::fabs(nl_rate - lambda1) : 0.0), -1, "", {}};
  r.extra["nonlinear_rate"] = nl_rate;
  r.extra["lambda1_linear"] = lambda1;
  r.extra["nonlinear_seconds"] = pr.seconds;
  r.extra["error_if_independent"] = meas.error_if_independent;
  if (meas.valid() && nl.valid()) {
    r.pass = std::fabs(r.measured - r.prediction) <= 3 * r.error + r.bound ? 1 : 0;
    r.note = "GLS fit of ln|c_1(t)| over " + std::to_string(meas.n_used) + " samples (correlated errors); " +
             (tagged ? std::string("prediction lambda_1 = (2mD/hbar^2)(E_1 - E_0); bound: lambda_1 at half "
                                   "resolution plus the O(f) collective shift |nonlinear - lambda_1|")
                     : std::string("prediction: nonlinear Fokker-Planck (Omega[p] follows the ensemble) from the "
                                   "histogram at the quench, same fit; bound: lambda_1 at half resolution"));
  } else {
    r.note = "not evaluated: the slowest mode is below 3 sigma after t = 1/lambda_2";
  }
  v.rows.push_back(r);
  if (tagged)
    v.rows.push_back(Row{2, "T2.4", "relaxation rate against the nonlinear FP", meas.rate, nl_rate, meas.error,
                         std::fabs(lambda1 - lambda1c), -1, "the collective prediction, for comparison", {}});
  else
    v.rows.push_back(Row{2, "T2.4", "relaxation rate against the linear lambda_1", meas.rate, lambda1, meas.error,
                         std::fabs(lambda1 - lambda1c), -1,
                         "lambda_1 = (2mD/hbar^2)(E_1 - E_0) is exact for a tagged minority, not a collective quench",
                         {}});
  const std::vector<uint64_t> n{t.size()};
  std::vector<double> sig = meas.sigma, pc1;
  for (const auto& Pj : pr.P) pc1.push_back(mode.amplitude(Pj, M).c1);
  v.put("relaxation/time", t, n, "time");
  v.put("relaxation/c1", meas.c1, n, "1");
  v.put("relaxation/c1_error", sig, n, "1");
  v.put("relaxation/c1_nonlinear_prediction", pc1, n, "1");
  v.scalars["relaxation/lambda1"] = lambda1;
  v.scalars["relaxation/nonlinear_rate"] = nl_rate;
  v.scalars["relaxation/measured_rate"] = meas.rate;
}

}  // namespace

void quench_relaxation(Verification& v) {
  const Config& cfg = v.cfg;
  const Series& s = v.s;
  if (cfg.quench_step <= 0) return;
  int64_t j0 = -1;
  for (int64_t j = 0; j < s.S; ++j)
    if (s.step[j] == cfg.quench_step) j0 = j;
  const Config phys1 = physics_at(cfg, static_cast<uint64_t>(cfg.quench_step));
  auto wq = j0 >= 0 ? uniform_window(s, j0, cfg.verify_dynamics_samples) : std::vector<int64_t>{};
  // The sample at quench.step is taken before that step. A collective quench
  // changes U, not q, so it is the right start; a tagged minority is displaced
  // at the start of the step, so its first displaced sample is the next one.
  if (tagged_networks(cfg) > 0 && !wq.empty()) wq.erase(wq.begin());
  if (wq.size() < 4) {
    v.rows.push_back(Row{1, "T1.4", "relaxation after the quench", NAN, NAN, NAN, 0, -1,
                         "not evaluated: no sample at quench.step or too few evenly spaced samples after it", {}});
    return;
  }
  relaxation_rate(v, wq, phys1);
  const Dynamics dq = dynamics(s, wq, phys1, v.comm);
  double l1 = 0, fl = 0, var = 0;
  for (size_t i = 0; i < dq.t.size(); ++i) {
    l1 += dq.l1_fp[i];
    fl += dq.floor[i];
    var += std::pow(0.6 * dq.floor[i], 2);  // sd of L1 of independent cells ~ 0.6 of its mean (half-normal)
  }
  const double n = static_cast<double>(dq.t.size());
  Row f{1, "T1.4b", "mean L1(ensemble p(q,t), Fokker-Planck)", l1 / n, fl / n, std::sqrt(var) / n, 0, 0,
        "prediction = noise floor of M independent networks", {}};
  f.pass = f.measured <= f.prediction + 3 * f.error ? 1 : 0;
  v.rows.push_back(f);
  v.rows.push_back(Row{2, "T2.7a", "fidelity(ensemble, TDSE) at the end of the window", dq.fid_tdse.back(), 1, NAN, 0,
                       -1, "TDSE with hbar_mu from psi_ens at the quench", {}});
  v.rows.push_back(Row{2, "T2.7b", "fidelity(ensemble, Fokker-Planck) at the end", dq.fid_fp.back(), 1, NAN, 0, -1,
                       "", {}});
  v.rows.push_back(Row{2, "T2.7c", "L1(ensemble, TDSE) at the end", dq.l1_tdse.back(), 0, NAN, 0, -1, "", {}});
  put_dynamics(v, "quench", dq);
}

void superposition(Verification& v) {
  if (v.cfg.init_mode != InitMode::TwoPackets) return;
  const auto ws = uniform_window(v.s, 0, v.cfg.verify_dynamics_samples);
  if (ws.size() < 3) return;
  const Dynamics d = dynamics(v.s, ws, v.phys0, v.comm);
  v.rows.push_back(Row{2, "T2.8a", "superposition: fidelity(ensemble, TDSE) at the end", d.fid_tdse.back(), 1, NAN, 0,
                       -1, "two sub-ensembles; TDSE with hbar_mu from psi_ens(0)", {}});
  v.rows.push_back(Row{2, "T2.8b", "superposition: fidelity(ensemble, Fokker-Planck) at the end", d.fid_fp.back(), 1,
                       NAN, 0, -1, "", {}});
  put_dynamics(v, "superposition", d);
}

}  // namespace gcnn::verify
