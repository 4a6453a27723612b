#pragma once
// The nonlinear (McKean-Vlasov) Fokker-Planck equation of docs/model.md §4, the
// prediction for a collective quench (§6 item 4):
//   dp/dt = div(D grad p + gamma p grad Omega[p]),   D = gamma T_q,
// with Omega[p] the mean-field grand potential whose odds follow the whole
// ensemble, s_i[p] = ((M-1)/M) E_p[e^{-(f_i - mu)/T}] (MeanFieldOmega). Its
// stationary state is GrandPotential's self-consistent p_eq. With s_i frozen
// at their equilibrium values it is the linear equation of
// SchrodingerSolver::fokker_planck, whose slowest rate is lambda_1: the
// prediction for a tagged minority, which moves through a bulk that stays at
// equilibrium.
//
// Time stepping: backward Euler with Scharfetter-Gummel fluxes (the linear
// solver's step, SchrodingerSolver::FokkerPlanckStepper), the drift Omega
// made implicit by Picard iteration. Each step first solves with the drift
// extrapolated linearly from Omega[p^n] and Omega[p^{n-1}] (p^0's on the
// first step), then recomputes Omega[p^{n+1}] and re-solves from p^n until
// the drift changes by less than `picard_tol` (in units of T_q, up to a
// constant): ~3 re-solves per step at dt = 0.04 on examples/quench.ini
// (the extrapolation saves ~0.6 of 3.4). Converged, the step is the fully implicit backward
// Euler step of the nonlinear equation, so near p_eq the discrete decay per
// step of a mode with rate r is exactly 1/(1 + r dt), as for the linear
// solver, and rates can be compared at equal dt (or corrected with
// relaxation::continuous_rate). Each iteration costs one Omega evaluation
// (R x G log1p) and one sparse solve.
#include <vector>

#include "gcnn/config.hpp"
#include "gcnn/grand_potential.hpp"
#include "gcnn/mpi_env.hpp"
#include "gcnn/schrodinger_solver.hpp"

namespace gcnn {

class NonlinearFokkerPlanck {
 public:
  struct Options {
    bool freeze_s = false;     // s_i fixed at equilibrium: the linear equation, bit for bit
    int max_picard = 20;       // re-solves per step; 0 = semi-implicit (extrapolated drift, no re-solve)
    double picard_tol = 1e-10; // on max_g |Delta Omega_g/T_q| (spread over g, a constant shift is no drift)
  };
  struct Evolution : SchrodingerSolver::Evolution {
    std::vector<int> picard;        // re-solves made in each step (steps entries)
    int64_t omega_evaluations = 0;  // Omega[p] evaluations, all steps
    double omega_seconds = 0;       // wall time in them
    double max_drift_change = 0;    // largest unconverged drift change left at the end of a step
  };

  // Collective. `phys`: the physics in force (physics_at after a quench).
  // Builds the mean-field GrandPotential (the equilibrium) and the table of
  // MeanFieldOmega.
  NonlinearFokkerPlanck(const Config& phys, const Comm& comm);
  NonlinearFokkerPlanck(const Config& phys, const Comm& comm, Options opt);

  // p0: density on the grid (sum p dV = 1). Snapshots (densities) at t = 0
  // and after the steps where s * n_snap / steps changes, as
  // SchrodingerSolver::fokker_planck. Collective.
  Evolution evolve(const std::vector<double>& p0, double dt, int64_t steps, int64_t n_snap) const;

  // Omega[P]/T_q at the cell centres for cell probabilities P (sum 1). Collective.
  std::vector<double> omega_over_Tq(const std::vector<double>& P) const;

  const GrandPotential& grand_potential() const { return gp_; }
  const std::vector<double>& omega_eq_over_Tq() const { return omega_eq_Tq_; }  // self-consistent equilibrium
  std::vector<double> p_eq() const { return gp_.p_eq(); }                       // density
  const Grid& grid() const { return gp_.grid(); }
  double D() const { return D_; }
  const Options& options() const { return opt_; }

 private:
  Config cfg_;
  Comm comm_;
  Options opt_;
  GrandPotential gp_;
  MeanFieldOmega omega_;
  SchrodingerSolver solver_;  // the grid and boundaries of the FP step (no potential V: only FP is used)
  std::vector<double> omega_eq_Tq_;
  double D_ = 1;
};

}  // namespace gcnn
