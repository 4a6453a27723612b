#include "gcnn/nonlinear_fokker_planck.hpp"

#include <algorithm>
#include <cmath>

namespace gcnn {

namespace {
// max_g |a_g - b_g - c| minimised over the constant c: half the spread of the
// difference. A constant added to Omega changes no flux.
double drift_change(const std::vector<double>& a, const std::vector<double>& b) {
  double lo = INFINITY, hi = -INFINITY;
  for (size_t g = 0; g < a.size(); ++g) {
    lo = std::min(lo, a[g] - b[g]);
    hi = std::max(hi, a[g] - b[g]);
  }
  return 0.5 * (hi - lo);
}
}  // namespace

NonlinearFokkerPlanck::NonlinearFokkerPlanck(const Config& phys, const Comm& comm)
    : NonlinearFokkerPlanck(phys, comm, Options{}) {}

NonlinearFokkerPlanck::NonlinearFokkerPlanck(const Config& phys, const Comm& comm, Options opt)
    : cfg_(phys),
      comm_(comm),
      opt_(opt),
      gp_(phys, comm),
      omega_(gp_),
      solver_(gp_.grid(), phys.solver_bc == SolverBC::Periodic, 1.0, 1.0 / phys.gamma,
              std::vector<double>(static_cast<size_t>(gp_.grid().size()), 0.0), comm.raw()),
      D_(phys.gamma * phys.Tq) {
  omega_eq_Tq_ = gp_.omega();
  for (double& x : omega_eq_Tq_) x /= phys.Tq;
}

std::vector<double> NonlinearFokkerPlanck::omega_over_Tq(const std::vector<double>& P) const {
  std::vector<double> om(P.size());
  omega_.evaluate(P, om.data());
  for (double& x : om) x /= cfg_.Tq;
  return om;
}

NonlinearFokkerPlanck::Evolution NonlinearFokkerPlanck::evolve(const std::vector<double>& p0, double dt,
                                                               int64_t steps, int64_t n_snap) const {
  SchrodingerSolver::FokkerPlanckStepper fp(solver_, D_, dt);
  const double dV = grid().cell_volume();
  Evolution ev;
  // Omega from the current density (cell probabilities p dV).
  auto drift_of = [&](const std::vector<double>& p) {
    const double t0 = MPI_Wtime();
    std::vector<double> P(p);
    for (double& x : P) x *= dV;
    auto om = omega_over_Tq(P);
    ev.omega_evaluations++;
    ev.omega_seconds += MPI_Wtime() - t0;
    return om;
  };
  std::vector<double> drift = opt_.freeze_s ? omega_eq_Tq_ : drift_of(p0);
  fp.set_drift(drift);
  fp.set_density(p0);
  auto record = [&](int64_t s, const std::vector<double>* p) {
    ev.t.push_back(static_cast<double>(s) * dt);
    ev.norm.push_back(fp.probability());
    if (s == 0 || (n_snap > 0 && (s * n_snap) / steps != ((s - 1) * n_snap) / steps)) {
      ev.snap_t.push_back(static_cast<double>(s) * dt);
      ev.snapshots.push_back(p ? *p : fp.density());
    }
  };
  record(0, nullptr);
  double t_loop = MPI_Wtime();
  std::vector<double> drift_prev;  // Omega[p^{n-1}]/T_q
  for (int64_t s = 1; s <= steps; ++s) {
    // First solve: the drift extrapolated to t_{n+1} from p^n and p^{n-1}
    // (error O(dt^2), so Picard starts close), or p^n's on the first step.
    if (!opt_.freeze_s && !drift_prev.empty()) {
      std::vector<double> guess(drift.size());
      for (size_t g = 0; g < guess.size(); ++g) guess[g] = 2 * drift[g] - drift_prev[g];
      drift_prev = drift;
      drift = std::move(guess);
      fp.set_drift(drift);
    } else {
      drift_prev = drift;
    }
    ev.max_ksp_iterations = std::max(ev.max_ksp_iterations, fp.step());
    if (opt_.freeze_s) {
      record(s, nullptr);
    } else {
      // Picard: re-solve from p^n with the drift of the latest p^{n+1} until
      // it stops changing; the last drift computed is p^{n+1}'s, the next
      // step's starting drift.
      std::vector<double> p = fp.density();
      std::vector<double> next = drift_of(p);
      int k = 0;
      double change = drift_change(next, drift);
      while (change > opt_.picard_tol && k < opt_.max_picard) {
        drift = std::move(next);
        fp.set_drift(drift);
        ev.max_ksp_iterations = std::max(ev.max_ksp_iterations, fp.redo_step());
        ++k;
        p = fp.density();
        next = drift_of(p);
        change = drift_change(next, drift);
      }
      if (change > opt_.picard_tol) ev.max_drift_change = std::max(ev.max_drift_change, change);
      ev.picard.push_back(k);
      drift = std::move(next);  // Omega[p^{n+1}]: the next step extrapolates from it
      record(s, &p);
    }
    if (s == 1) t_loop = MPI_Wtime();  // step 1 also builds the preconditioner
  }
  ev.loop_seconds = MPI_Wtime() - t_loop;
  return ev;
}

}  // namespace gcnn
