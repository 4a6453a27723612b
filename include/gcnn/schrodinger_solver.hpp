#pragma once
// PETSc/SLEPc solver for the derived equations of docs/model.md §4 on a DMDA whose
// nodes are the cell centres of the gcnn grid (so |psi|^2 and the ensemble
// histogram live on the same cells):
//   H = -(hbar^2 / 2m) Laplacian_h + V            (SLEPc, Hermitian)
//   i hbar dpsi/dt = H psi                          (Crank-Nicolson, psi = Re + i Im as 2 dof)
//   dp/dt = div(D grad p + gamma grad(Omega) p)     (Scharfetter-Gummel fluxes, backward Euler:
//                                                    conserves probability, keeps p >= 0,
//                                                    and p_eq = e^{-Omega/T_q} is exactly stationary)
// Boundaries: Dirichlet (psi = 0 half a cell outside; no flux for p) or periodic.
// Arrays passed in and out are full grids in C order (last q axis fastest) on every rank.
#include <utility>
#include <vector>

#include "gcnn/grid.hpp"
#include "gcnn/petsc_env.hpp"

namespace gcnn {

class SchrodingerSolver {
 public:
  SchrodingerSolver(const Grid& grid, bool periodic, double hbar, double mass, const std::vector<double>& V,
                    MPI_Comm comm);

  struct Node { PetscInt i, j, k; int64_t g; };  // a DMDA node and its index in the full grid

  struct Eigen {
    std::vector<double> values;
    std::vector<std::vector<double>> vectors;  // real, sum |psi|^2 dV = 1, largest component > 0
    int iterations = 0;
  };
  Eigen eigenpairs(int n) const;

  struct Evolution {
    std::vector<double> t, norm, energy;         // every step (energy: TDSE only)
    std::vector<double> snap_t;
    std::vector<std::vector<double>> snapshots;  // TDSE: interleaved (Re, Im); FP: density
    int max_ksp_iterations = 0;
    double loop_seconds = 0;  // wall time of steps 2..n (no setup, no preconditioner build), for benchmarks
  };
  // psi0 interleaved (Re, Im) per node.
  Evolution tdse(const std::vector<double>& psi0, double dt, int64_t steps, int64_t n_snap) const;
  // Omega / T_q at the nodes, D = gamma T_q.
  Evolution fokker_planck(const std::vector<double>& omega_over_Tq, double D, const std::vector<double>& p0, double dt,
                          int64_t steps, int64_t n_snap) const;

  // The backward-Euler Scharfetter-Gummel step of fokker_planck() one step at
  // a time, for a drift Omega that changes during the evolution (the
  // nonlinear Fokker-Planck equation of docs/model.md §4): set_drift re-assembles
  // I - dt L (same stencil, so PETSc reuses the matrix and rebuilds the
  // preconditioner), step() advances p, redo_step() repeats the last step from
  // the same p^n with the current drift (Picard iterations). fokker_planck() is
  // this class with a fixed drift. Every call is collective; densities are
  // full grids on every rank.
  class FokkerPlanckStepper {
   public:
    FokkerPlanckStepper(const SchrodingerSolver& solver, double D, double dt);
    void set_drift(const std::vector<double>& omega_over_Tq);
    void set_density(const std::vector<double>& p);
    int step();       // p^{n+1} = (I - dt L)^{-1} p^n; returns the KSP iterations
    int redo_step();  // p^{n+1} = (I - dt L)^{-1} p^n again, L from the latest set_drift
    std::vector<double> density() const;
    double probability() const;  // sum p dV
    int64_t steps() const { return steps_; }

   private:
    int solve();
    const SchrodingerSolver& s_;
    std::vector<Node> nodes_;  // this rank's nodes, found once (for_local_nodes builds a DMDA per call)
    double D_, dt_;
    PDM da_;
    PMat A_;
    PKSP ksp_;
    PVec p_, prev_;
    int64_t steps_ = 0;
  };

  double hbar() const { return hbar_; }
  double mass() const { return mass_; }
  const Grid& grid() const { return grid_; }

 private:
  template <class F> void for_local_nodes(F f) const;
  std::vector<std::pair<MatStencil, double>> h_stencil(const Node& nd) const;
  void assemble_H(Mat H) const;
  void make_ksp(Mat A, Mat P, KSPType type, PCType pc, double rtol, const char* prefix, KSP* ksp) const;
  void assemble_cn(double a, Mat* A) const;
  int solve_checked(KSP ksp, Vec b, Vec x, const char* what, int64_t step) const;
  std::vector<double> gather(Vec v, int dof) const;            // full grid on every rank
  void scatter(const std::vector<double>& full, Vec v, int dof) const;
  void make_da(int dof, DM* da, bool wall_ghosts = false) const;

  Grid grid_;
  bool periodic_;
  double hbar_, mass_;
  std::vector<double> V_;
  MPI_Comm comm_;
};

}  // namespace gcnn
