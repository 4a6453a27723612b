#include "gcnn/schrodinger_solver.hpp"

#include "gcnn/hamiltonian_stencil.hpp"
#include "gcnn/mpi_env.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace gcnn {

namespace {
// DMDA axis x is the last q dimension (fastest in C order), y the one before, z the first.
inline double bern(double x) {  // B(x) = x / (e^x - 1), B(0) = 1
  return std::fabs(x) < 1e-8 ? 1.0 - 0.5 * x : x / std::expm1(x);
}
}  // namespace

SchrodingerSolver::SchrodingerSolver(const Grid& grid, bool periodic, double hbar, double mass,
                                     const std::vector<double>& V, MPI_Comm comm)
    : grid_(grid), periodic_(periodic), hbar_(hbar), mass_(mass), V_(V), comm_(comm) {
  if (static_cast<int64_t>(V_.size()) != grid_.size()) throw std::logic_error("potential has the wrong size");
}

void SchrodingerSolver::make_da(int dof, DM* da, bool wall_ghosts) const {
  // The partition depends only on the sizes and the communicator, never on
  // the boundary type, so every DMDA made here agrees on who owns which node.
  const DMBoundaryType b =
      periodic_ ? DM_BOUNDARY_PERIODIC : wall_ghosts ? DM_BOUNDARY_GHOSTED : DM_BOUNDARY_NONE;
  const int K = grid_.K();
  if (K == 1) {
    GCNN_PETSC(DMDACreate1d(comm_, b, static_cast<PetscInt>(grid_.n(0)), dof, 1, nullptr, da));
  } else if (K == 2) {
    GCNN_PETSC(DMDACreate2d(comm_, b, b, DMDA_STENCIL_STAR, static_cast<PetscInt>(grid_.n(1)),
                            static_cast<PetscInt>(grid_.n(0)), PETSC_DECIDE, PETSC_DECIDE, dof, 1, nullptr, nullptr, da));
  } else {
    GCNN_PETSC(DMDACreate3d(comm_, b, b, b, DMDA_STENCIL_STAR, static_cast<PetscInt>(grid_.n(2)),
                            static_cast<PetscInt>(grid_.n(1)), static_cast<PetscInt>(grid_.n(0)), PETSC_DECIDE,
                            PETSC_DECIDE, PETSC_DECIDE, dof, 1, nullptr, nullptr, nullptr, da));
  }
  GCNN_PETSC(DMSetUp(*da));
}

template <class F>
void SchrodingerSolver::for_local_nodes(F f) const {
  // The decomposition depends only on the grid and the communicator, so a
  // dof = 1 DMDA tells every caller which nodes this rank owns.
  PDM da;
  make_da(1, da.out());
  PetscInt xs, ys, zs, xm, ym, zm;
  GCNN_PETSC(DMDAGetCorners(da, &xs, &ys, &zs, &xm, &ym, &zm));
  const int K = grid_.K();
  const int64_t nx = grid_.n(K - 1), ny = K > 1 ? grid_.n(K - 2) : 1;
  for (PetscInt k = zs; k < zs + zm; ++k)
    for (PetscInt j = ys; j < ys + ym; ++j)
      for (PetscInt i = xs; i < xs + xm; ++i) f(Node{i, j, k, (static_cast<int64_t>(k) * ny + j) * nx + i});
}

// The 2K+1 point stencil of H at a node: (column, value); the diagonal last.
std::vector<std::pair<MatStencil, double>> SchrodingerSolver::h_stencil(const Node& nd) const {
  const int K = grid_.K();
  const double c = hbar_ * hbar_ / (2.0 * mass_);
  MatStencil row{};
  row.i = nd.i; row.j = nd.j; row.k = nd.k;
  std::vector<std::pair<MatStencil, double>> out;
  double diag = V_[static_cast<size_t>(nd.g)];
  for (int ax = 0; ax < K; ++ax) {
    const int q = K - 1 - ax;
    const double h2 = grid_.h(q) * grid_.h(q);
    diag += 2.0 * c / h2;
    for (int s : {-1, 1}) {
      MatStencil nb = row;
      PetscInt* idx = ax == 0 ? &nb.i : ax == 1 ? &nb.j : &nb.k;
      *idx += s;
      if (!periodic_ && (*idx < 0 || *idx >= grid_.n(q))) continue;  // psi = 0 outside
      out.emplace_back(nb, -c / h2);
    }
  }
  out.emplace_back(row, diag);
  return out;
}

void SchrodingerSolver::assemble_H(Mat H) const {
  for_local_nodes([&](const Node& nd) {
    const auto st = h_stencil(nd);
    std::vector<MatStencil> cols;
    std::vector<PetscScalar> vals;
    for (auto& [col, v] : st) { cols.push_back(col); vals.push_back(v); }
    const MatStencil row = st.back().first;
    GCNN_PETSC(MatSetValuesStencil(H, 1, &row, static_cast<PetscInt>(cols.size()), cols.data(), vals.data(),
                                   INSERT_VALUES));
  });
  GCNN_PETSC(MatAssemblyBegin(H, MAT_FINAL_ASSEMBLY));
  GCNN_PETSC(MatAssemblyEnd(H, MAT_FINAL_ASSEMBLY));
}

// Our method and tolerance first, then the user's options; every solve checked.
void SchrodingerSolver::make_ksp(Mat A, Mat P, KSPType type, PCType pc, double rtol, const char* prefix,
                                 KSP* ksp) const {
  GCNN_PETSC(KSPCreate(comm_, ksp));
  GCNN_PETSC(KSPSetOperators(*ksp, A, P));
  GCNN_PETSC(KSPSetType(*ksp, type));
  if (pc) {
    PC p;
    GCNN_PETSC(KSPGetPC(*ksp, &p));
    GCNN_PETSC(PCSetType(p, pc));
  }
  GCNN_PETSC(KSPSetTolerances(*ksp, rtol, 1e-300, PETSC_DEFAULT, 10000));
  if (prefix) GCNN_PETSC(KSPSetOptionsPrefix(*ksp, prefix));
  GCNN_PETSC(KSPSetFromOptions(*ksp));
}

int SchrodingerSolver::solve_checked(KSP ksp, Vec b, Vec x, const char* what, int64_t step) const {
  GCNN_PETSC(KSPSolve(ksp, b, x));
  KSPConvergedReason why;
  PetscInt its;
  GCNN_PETSC(KSPGetConvergedReason(ksp, &why));
  GCNN_PETSC(KSPGetIterationNumber(ksp, &its));
  if (why < 0)
    throw std::runtime_error(std::string(what) + " step " + std::to_string(step) + ": KSP did not converge (reason " +
                             std::to_string(static_cast<int>(why)) + "); try -ksp_type / -pc_type or a smaller dt");
  return static_cast<int>(its);
}

std::vector<double> SchrodingerSolver::gather(Vec v, int dof) const {
  std::vector<double> full(static_cast<size_t>(grid_.size()) * dof, 0.0);
  const PetscScalar* a;
  GCNN_PETSC(VecGetArrayRead(v, &a));
  size_t l = 0;
  for_local_nodes([&](const Node& nd) {
    for (int c = 0; c < dof; ++c) full[static_cast<size_t>(nd.g) * dof + c] = a[l++];
  });
  GCNN_PETSC(VecRestoreArrayRead(v, &a));
  // One owner per entry: the sum is exact.
  mpi_check(MPI_Allreduce(MPI_IN_PLACE, full.data(), static_cast<int>(full.size()), MPI_DOUBLE, MPI_SUM, comm_),
            "MPI_Allreduce(gather)");
  return full;
}

void SchrodingerSolver::scatter(const std::vector<double>& full, Vec v, int dof) const {
  PetscScalar* a;
  GCNN_PETSC(VecGetArray(v, &a));
  size_t l = 0;
  for_local_nodes([&](const Node& nd) {
    for (int c = 0; c < dof; ++c) a[l++] = full[static_cast<size_t>(nd.g) * dof + c];
  });
  GCNN_PETSC(VecRestoreArray(v, &a));
}

SchrodingerSolver::Eigen SchrodingerSolver::eigenpairs(int nev) const {
  PDM da;
  make_da(1, da.out());
  PMat H;
  GCNN_PETSC(DMCreateMatrix(da, H.out()));
  assemble_H(H);
  PEPS eps;
  GCNN_PETSC(EPSCreate(comm_, eps.out()));
  GCNN_PETSC(EPSSetOperators(eps, H, nullptr));
  GCNN_PETSC(EPSSetProblemType(eps, EPS_HEP));
  GCNN_PETSC(EPSSetWhichEigenpairs(eps, EPS_SMALLEST_REAL));
  // A generous subspace: degenerate levels (2-D, 3-D oscillators) are otherwise missed.
  GCNN_PETSC(EPSSetDimensions(eps, nev, std::max(2 * nev + 16, 32), PETSC_DEFAULT));
  GCNN_PETSC(EPSSetTolerances(eps, 1e-12, 100000));
  GCNN_PETSC(EPSSetFromOptions(eps));  // users tune with -eps_* / -st_* options
  GCNN_PETSC(EPSSolve(eps));
  PetscInt nconv = 0, its = 0;
  GCNN_PETSC(EPSGetConverged(eps, &nconv));
  GCNN_PETSC(EPSGetIterationNumber(eps, &its));
  if (nconv < nev)
    throw std::runtime_error("SLEPc converged only " + std::to_string(nconv) + " of " + std::to_string(nev) +
                             " eigenpairs (try -eps_max_it, -st_type sinvert or a coarser grid)");
  Eigen out;
  out.iterations = static_cast<int>(its);
  PVec x;
  GCNN_PETSC(DMCreateGlobalVector(da, x.out()));
  const double dV = grid_.cell_volume();
  for (int i = 0; i < nev; ++i) {
    PetscScalar kr, ki;
    GCNN_PETSC(EPSGetEigenpair(eps, i, &kr, &ki, x, nullptr));
    auto v = gather(x, 1);
    double norm = 0, big = 0;
    for (double a : v) {
      norm += a * a;
      if (std::fabs(a) > std::fabs(big)) big = a;
    }
    const double s = (big < 0 ? -1.0 : 1.0) / std::sqrt(norm * dV);
    for (double& a : v) a *= s;
    out.values.push_back(kr);
    out.vectors.push_back(std::move(v));
  }
  return out;
}

SchrodingerSolver::Evolution SchrodingerSolver::tdse(const std::vector<double>& psi0, double dt, int64_t steps,
                                                     int64_t n_snap) const {
  // (I + i a H) psi^{n+1} = (I - i a H) psi^n, a = dt / (2 hbar), psi = (Re, Im) as 2 dof.
  const double a = dt / (2.0 * hbar_);
  PDM da2;
  make_da(2, da2.out(), true);
  std::vector<double> V_owned;
  for_local_nodes([&](const Node& nd) { V_owned.push_back(V_[static_cast<size_t>(nd.g)]); });
  const HamiltonianStencil H(da2, grid_, hbar_ * hbar_ / (2.0 * mass_), V_owned);
  PMat A, P;
  H.make_shell(a, A.out());
  // The spectrum of I + i a H is the segment 1 + i a [E_min, E_max], parallel
  // to the imaginary axis. Plain BiCGStab's degree-1 real stabilising step
  // cannot damp such a spectrum (it stalled for hundreds of iterations in
  // 1-D and 3-D tests); BiCGStab(2)'s degree-2 step can, at a short
  // recurrence's memory traffic. Preconditioning by each node's 2x2 diagonal
  // block pays when a d >> 1 somewhere (stiff potential, dt >> h^2): there it
  // turns the segment into a real interval; where a d ~ 1 and d is nearly
  // constant it would only rotate it. A user who asks for a preconditioner
  // (-pc_type) gets it built on the assembled operator; -ksp_type overrides
  // the method.
  PetscBool user_pc = PETSC_FALSE;
  GCNN_PETSC(PetscOptionsHasName(nullptr, nullptr, "-pc_type", &user_pc));
  if (user_pc) assemble_cn(a, P.out());
  PKSP ksp;
  // rtol 1e-12: ~100x above the rounding floor Krylov methods stagnate at on
  // this operator, far below CN's O(dt^3) truncation error, and a norm drift
  // of at most ~1e-12 per step.
  make_ksp(A, user_pc ? P.get() : A.get(), KSPBCGSL, user_pc ? nullptr : PCNONE, 1e-12, nullptr, ksp.out());
  GCNN_PETSC(KSPSetInitialGuessNonzero(ksp, PETSC_TRUE));
  if (!user_pc && a * H.max_diagonal(comm_) > 2.0) {
    PC pc;
    GCNN_PETSC(KSPGetPC(ksp, &pc));
    H.set_diagonal_pc(a, pc);
  }
  PVec v0, v1, v2, rhs;
  GCNN_PETSC(DMCreateGlobalVector(da2, v0.out()));
  for (auto* v : {&v1, &v2, &rhs}) GCNN_PETSC(VecDuplicate(v0, v->out()));
  Vec prev = v0, psi = v1, next = v2;
  scatter(psi0, psi, 2);
  const double dV = grid_.cell_volume();
  Evolution ev;
  // State s's norm and energy come from the same stencil pass that builds
  // the right-hand side of step s + 1: one pass and one reduction per step.
  auto record = [&](int64_t s, const HamiltonianStencil::Moments& m) {
    double sums[2] = {m.norm2, m.energy};
    mpi_check(MPI_Allreduce(MPI_IN_PLACE, sums, 2, MPI_DOUBLE, MPI_SUM, comm_), "MPI_Allreduce(sums)");
    ev.t.push_back(static_cast<double>(s) * dt);
    ev.norm.push_back(sums[0] * dV);
    ev.energy.push_back(sums[1] / sums[0]);
    if (s == 0 || (n_snap > 0 && (s * n_snap) / std::max<int64_t>(steps, 1) !=
                                     ((s - 1) * n_snap) / std::max<int64_t>(steps, 1))) {
      ev.snap_t.push_back(static_cast<double>(s) * dt);
      ev.snapshots.push_back(gather(psi, 2));
    }
  };
  double t_loop = MPI_Wtime();
  for (int64_t s = 1; s <= steps; ++s) {
    record(s - 1, H.apply_with_moments(psi, rhs, -a));
    // Guess: linear extrapolation in time, O(dt^2) from the answer. At 1024^2
    // it starts ~1e3 closer than psi^n and saves a third of the iterations.
    if (s == 1) GCNN_PETSC(VecCopy(psi, next));
    else GCNN_PETSC(VecAXPBYPCZ(next, 2.0, -1.0, 0.0, psi, prev));
    ev.max_ksp_iterations = std::max(ev.max_ksp_iterations, solve_checked(ksp, rhs, next, "Crank-Nicolson", s));
    std::swap(prev, psi);
    std::swap(psi, next);
    if (s == 1) t_loop = MPI_Wtime();  // step 1 also sets up the solver
  }
  ev.loop_seconds = MPI_Wtime() - t_loop;
  record(steps, H.apply_with_moments(psi, rhs, -a));
  return ev;
}

// The assembled CN matrix A = [[I, -aH], [aH, I]] in (Re, Im) blocks, for
// preconditioners that need entries.
void SchrodingerSolver::assemble_cn(double a, Mat* A) const {
  PDM da2;
  make_da(2, da2.out());
  GCNN_PETSC(DMCreateMatrix(da2, A));
  for_local_nodes([&](const Node& nd) {
    const auto hs = h_stencil(nd);
    const MatStencil row = hs.back().first;
    for (int comp = 0; comp < 2; ++comp) {
      MatStencil r = row;
      r.c = comp;
      std::vector<MatStencil> cols;
      std::vector<PetscScalar> va;
      for (auto& [nb, h] : hs) {
        MatStencil col = nb;
        col.c = 1 - comp;
        cols.push_back(col);
        va.push_back((comp == 0 ? -1.0 : 1.0) * a * h);  // Re row: -aH Im; Im row: +aH Re
      }
      cols.push_back(r);
      va.push_back(1.0);
      GCNN_PETSC(MatSetValuesStencil(*A, 1, &r, static_cast<PetscInt>(cols.size()), cols.data(), va.data(), INSERT_VALUES));
    }
  });
  GCNN_PETSC(MatAssemblyBegin(*A, MAT_FINAL_ASSEMBLY));
  GCNN_PETSC(MatAssemblyEnd(*A, MAT_FINAL_ASSEMBLY));
}

SchrodingerSolver::FokkerPlanckStepper::FokkerPlanckStepper(const SchrodingerSolver& solver, double D, double dt)
    : s_(solver), D_(D), dt_(dt) {
  s_.make_da(1, da_.out());
  s_.for_local_nodes([&](const Node& nd) { nodes_.push_back(nd); });
  GCNN_PETSC(DMCreateMatrix(da_, A_.out()));
  GCNN_PETSC(DMCreateGlobalVector(da_, p_.out()));
  GCNN_PETSC(VecDuplicate(p_, prev_.out()));
}

void SchrodingerSolver::FokkerPlanckStepper::set_drift(const std::vector<double>& omT) {
  const Grid& grid = s_.grid_;
  if (static_cast<int64_t>(omT.size()) != grid.size()) throw std::logic_error("drift potential has the wrong size");
  const int K = grid.K();
  // Row i of (I - dt L): Scharfetter-Gummel flux J_{i+1/2} = (D/h)[B(d) p_i - B(-d) p_{i+1}],
  // d = (Omega_{i+1} - Omega_i)/T_q; columns of L sum to zero (probability is conserved).
  for (const Node& nd : nodes_) {
    MatStencil row{};
    row.i = nd.i; row.j = nd.j; row.k = nd.k;
    MatStencil cols[7];
    PetscScalar vals[7];
    int n = 0;
    double diag = 1.0;
    for (int ax = 0; ax < K; ++ax) {
      const int q = K - 1 - ax;
      const double w = D_ / (grid.h(q) * grid.h(q));
      int64_t stride = 1;
      for (int qq = q + 1; qq < K; ++qq) stride *= grid.n(qq);
      const PetscInt pos = ax == 0 ? nd.i : ax == 1 ? nd.j : nd.k;
      for (int s : {-1, 1}) {
        PetscInt p = pos + s;
        if (!s_.periodic_ && (p < 0 || p >= grid.n(q))) continue;  // no flux through the wall
        const PetscInt pw = (p + static_cast<PetscInt>(grid.n(q))) % static_cast<PetscInt>(grid.n(q));
        const int64_t gn = nd.g + (pw - pos) * stride;
        const double d = omT[static_cast<size_t>(gn)] - omT[static_cast<size_t>(nd.g)];  // neighbour minus self
        // outflow from this node B(d), inflow from the neighbour B(-d)
        diag += dt_ * w * bern(d);
        MatStencil nb = row;
        (ax == 0 ? nb.i : ax == 1 ? nb.j : nb.k) = p;
        cols[n] = nb;
        vals[n++] = -dt_ * w * bern(-d);
      }
    }
    cols[n] = row;
    vals[n++] = diag;
    GCNN_PETSC(MatSetValuesStencil(A_, 1, &row, n, cols, vals, INSERT_VALUES));
  }
  GCNN_PETSC(MatAssemblyBegin(A_, MAT_FINAL_ASSEMBLY));
  GCNN_PETSC(MatAssemblyEnd(A_, MAT_FINAL_ASSEMBLY));
  // The solver is made once the operator has entries; later drifts change
  // the values only, and KSPSolve rebuilds the preconditioner for them.
  if (!ksp_.get()) s_.make_ksp(A_, A_, KSPGMRES, nullptr, 1e-13, "fp_", ksp_.out());
}

void SchrodingerSolver::FokkerPlanckStepper::set_density(const std::vector<double>& p) {
  if (static_cast<int64_t>(p.size()) != s_.grid_.size()) throw std::logic_error("density has the wrong size");
  PetscScalar* a;
  GCNN_PETSC(VecGetArray(p_, &a));
  for (size_t l = 0; l < nodes_.size(); ++l) a[l] = p[static_cast<size_t>(nodes_[l].g)];
  GCNN_PETSC(VecRestoreArray(p_, &a));
}

int SchrodingerSolver::FokkerPlanckStepper::solve() {
  if (!ksp_.get()) throw std::logic_error("Fokker-Planck step before set_drift");
  return s_.solve_checked(ksp_, prev_, p_, "Fokker-Planck", steps_);
}

int SchrodingerSolver::FokkerPlanckStepper::step() {
  GCNN_PETSC(VecCopy(p_, prev_));
  ++steps_;
  return solve();
}

int SchrodingerSolver::FokkerPlanckStepper::redo_step() {
  if (steps_ == 0) throw std::logic_error("redo_step before the first step");
  return solve();
}

std::vector<double> SchrodingerSolver::FokkerPlanckStepper::density() const {
  std::vector<double> full(static_cast<size_t>(s_.grid_.size()), 0.0);
  const PetscScalar* a;
  GCNN_PETSC(VecGetArrayRead(p_, &a));
  for (size_t l = 0; l < nodes_.size(); ++l) full[static_cast<size_t>(nodes_[l].g)] = a[l];
  GCNN_PETSC(VecRestoreArrayRead(p_, &a));
  // One owner per entry: the sum is exact.
  mpi_check(MPI_Allreduce(MPI_IN_PLACE, full.data(), static_cast<int>(full.size()), MPI_DOUBLE, MPI_SUM, s_.comm_),
            "MPI_Allreduce(density)");
  return full;
}

double SchrodingerSolver::FokkerPlanckStepper::probability() const {
  PetscScalar sum;
  GCNN_PETSC(VecSum(p_, &sum));
  return sum * s_.grid_.cell_volume();
}

SchrodingerSolver::Evolution SchrodingerSolver::fokker_planck(const std::vector<double>& omT, double D,
                                                              const std::vector<double>& p0, double dt, int64_t steps,
                                                              int64_t n_snap) const {
  FokkerPlanckStepper fp(*this, D, dt);
  fp.set_drift(omT);
  fp.set_density(p0);
  Evolution ev;
  auto record = [&](int64_t s) {
    ev.t.push_back(static_cast<double>(s) * dt);
    ev.norm.push_back(fp.probability());
    if (s == 0 || (n_snap > 0 && (s * n_snap) / steps != ((s - 1) * n_snap) / steps)) {
      ev.snap_t.push_back(static_cast<double>(s) * dt);
      ev.snapshots.push_back(fp.density());
    }
  };
  record(0);
  double t_loop = MPI_Wtime();
  for (int64_t s = 1; s <= steps; ++s) {
    ev.max_ksp_iterations = std::max(ev.max_ksp_iterations, fp.step());
    record(s);
    if (s == 1) t_loop = MPI_Wtime();  // step 1 also builds the preconditioner
  }
  ev.loop_seconds = MPI_Wtime() - t_loop;
  return ev;
}

}  // namespace gcnn
