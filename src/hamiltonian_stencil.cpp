#include "gcnn/hamiltonian_stencil.hpp"

#include "gcnn/mpi_env.hpp"

#include <algorithm>
#include <stdexcept>

namespace gcnn {

HamiltonianStencil::HamiltonianStencil(DM da2, const Grid& grid, double kinetic, const std::vector<double>& V_owned)
    : da_(da2), K_(grid.K()) {
  // DMDA x is the last q axis (fastest in C order), y the one before, z the first.
  const auto c = [&](int q) { return kinetic / (grid.h(q) * grid.h(q)); };
  cx_ = c(K_ - 1);
  if (K_ > 1) cy_ = c(K_ - 2);
  if (K_ > 2) cz_ = c(0);
  const double d0 = 2.0 * (cx_ + cy_ + cz_);
  diag_.resize(V_owned.size());
  for (size_t n = 0; n < V_owned.size(); ++n) diag_[n] = V_owned[n] + d0;
  GCNN_PETSC(DMCreateLocalVector(da_, local_.out()));
  GCNN_PETSC(VecSet(local_, 0.0));  // the halo scatter never writes wall ghosts: they stay psi = 0
  PetscInt xs, ys, zs, gxs, gys, gzs, gzm;
  Box& b = box_;
  GCNN_PETSC(DMDAGetCorners(da_, &xs, &ys, &zs, &b.xm, &b.ym, &b.zm));
  GCNN_PETSC(DMDAGetGhostCorners(da_, &gxs, &gys, &gzs, &b.gxm, &b.gym, &gzm));
  b.ox = xs - gxs;
  b.oy = ys - gys;
  b.oz = zs - gzs;
  if (static_cast<size_t>(b.xm) * b.ym * b.zm != diag_.size())
    throw std::logic_error("HamiltonianStencil: V has the wrong size");
  build_halo();
}

// The halo: the ghost nodes one step off the owned box along each axis (a
// star stencil needs no corners), in the ghosted local numbering, mapped to
// global indices by the DMDA. Wall ghosts map to -1 and are left out.
void HamiltonianStencil::build_halo() {
  const Box& b = box_;
  std::vector<PetscInt> local_nodes;
  auto ghost = [&](PetscInt i, PetscInt j, PetscInt k) {  // owned-box coordinates
    local_nodes.push_back(((k + b.oz) * b.gym + (j + b.oy)) * b.gxm + (i + b.ox));
  };
  for (PetscInt k = 0; k < b.zm; ++k)
    for (PetscInt j = 0; j < b.ym; ++j) { ghost(-1, j, k); ghost(b.xm, j, k); }
  if (K_ > 1)
    for (PetscInt k = 0; k < b.zm; ++k)
      for (PetscInt i = 0; i < b.xm; ++i) { ghost(i, -1, k); ghost(i, b.ym, k); }
  if (K_ > 2)
    for (PetscInt j = 0; j < b.ym; ++j)
      for (PetscInt i = 0; i < b.xm; ++i) { ghost(i, j, -1); ghost(i, j, b.zm); }
  ISLocalToGlobalMapping ltog;
  GCNN_PETSC(DMGetLocalToGlobalMapping(da_, &ltog));
  std::vector<PetscInt> global_nodes(local_nodes.size());
  GCNN_PETSC(ISLocalToGlobalMappingApplyBlock(ltog, static_cast<PetscInt>(local_nodes.size()), local_nodes.data(),
                                              global_nodes.data()));
  std::vector<PetscInt> from, to;
  for (size_t n = 0; n < local_nodes.size(); ++n) {
    if (global_nodes[n] < 0) continue;  // a wall: psi = 0 there
    for (PetscInt c = 0; c < 2; ++c) {
      from.push_back(2 * global_nodes[n] + c);
      to.push_back(2 * local_nodes[n] + c);
    }
  }
  MPI_Comm comm;
  GCNN_PETSC(PetscObjectGetComm(reinterpret_cast<PetscObject>(da_), &comm));
  IS is_from, is_to;
  GCNN_PETSC(ISCreateGeneral(PETSC_COMM_SELF, static_cast<PetscInt>(from.size()), from.data(), PETSC_COPY_VALUES,
                             &is_from));
  GCNN_PETSC(ISCreateGeneral(PETSC_COMM_SELF, static_cast<PetscInt>(to.size()), to.data(), PETSC_COPY_VALUES, &is_to));
  Vec g;
  GCNN_PETSC(DMGetGlobalVector(da_, &g));
  GCNN_PETSC(VecScatterCreate(g, is_from, local_, is_to, halo_.out()));
  GCNN_PETSC(DMRestoreGlobalVector(da_, &g));
  GCNN_PETSC(ISDestroy(&is_from));
  GCNN_PETSC(ISDestroy(&is_to));
}

namespace {
// Neighbour rows of one owned row of nodes, each pointing at the (Re, Im)
// pair of the row's first node: owned rows are read in place from the global
// vector, rows outside the owned box from the ghosted halo copy.
struct Rows {
  const double* c;            // the row itself
  const double* left;         // the pair before the row's first node
  const double* right;        // the pair after its last node
  const double *yd, *yu, *zd, *zu;
};

// Hx at one node and the update y = x + s J (H x) with J (a, b) = (-b, a),
// i.e. (I + i s H) psi in (Re, Im) form; optionally the moments of x.
template <int K, bool WithMoments>
inline void node(const double* c, const double* l, const double* r, const double* yd, const double* yu,
                 const double* zd, const double* zu, double dg, double cx, double cy, double cz, double s,
                 double* y, double& nacc, double& eacc) {
  double hr = dg * c[0] - cx * (l[0] + r[0]);
  double hm = dg * c[1] - cx * (l[1] + r[1]);
  if constexpr (K > 1) {
    hr -= cy * (yd[0] + yu[0]);
    hm -= cy * (yd[1] + yu[1]);
  }
  if constexpr (K > 2) {
    hr -= cz * (zd[0] + zu[0]);
    hm -= cz * (zd[1] + zu[1]);
  }
  y[0] = c[0] - s * hm;
  y[1] = c[1] + s * hr;
  if constexpr (WithMoments) {
    nacc += c[0] * c[0] + c[1] * c[1];
    eacc += c[0] * hr + c[1] * hm;
  }
}

template <int K, bool WithMoments>
inline void stencil_row(const Rows& rw, double* __restrict y, const double* __restrict diag, PetscInt xm, double cx,
                        double cy, double cz, double s, double& n2, double& en) {
  const double* __restrict c = rw.c;
  const double *yd = rw.yd, *yu = rw.yu, *zd = rw.zd, *zu = rw.zu;
  double nacc = 0, eacc = 0;
  if (xm == 1) {
    node<K, WithMoments>(c, rw.left, rw.right, yd, yu, zd, zu, diag[0], cx, cy, cz, s, y, nacc, eacc);
  } else {
    node<K, WithMoments>(c, rw.left, c + 2, yd, yu, zd, zu, diag[0], cx, cy, cz, s, y, nacc, eacc);
    // The interior of the row: unit stride, vectorised.
#pragma omp simd reduction(+ : nacc, eacc)
    for (PetscInt n = 1; n < xm - 1; ++n) {
      const PetscInt o = 2 * n;
      node<K, WithMoments>(c + o, c + o - 2, c + o + 2, yd + o, yu + o, zd + o, zu + o, diag[n], cx, cy, cz, s,
                           y + o, nacc, eacc);
    }
    const PetscInt o = 2 * (xm - 1);
    node<K, WithMoments>(c + o, c + o - 2, rw.right, yd + o, yu + o, zd + o, zu + o, diag[xm - 1], cx, cy, cz, s,
                         y + o, nacc, eacc);
  }
  n2 += nacc;
  en += eacc;
}
}  // namespace

template <bool WithMoments>
HamiltonianStencil::Moments HamiltonianStencil::run(Vec x, Vec y, double s) const {
  // Only the halo moves; the owned values are read where they are.
  GCNN_PETSC(VecScatterBegin(halo_, x, local_, INSERT_VALUES, SCATTER_FORWARD));
  GCNN_PETSC(VecScatterEnd(halo_, x, local_, INSERT_VALUES, SCATTER_FORWARD));
  const Box& b = box_;
  const PetscScalar *xg, *xl;
  PetscScalar* yo;
  GCNN_PETSC(VecGetArrayRead(x, &xg));
  GCNN_PETSC(VecGetArrayRead(local_, &xl));
  GCNN_PETSC(VecGetArray(y, &yo));
  // Row (j, k), in owned-box coordinates, may lie one outside the box.
  auto row = [&](PetscInt j, PetscInt k) -> const double* {
    if (j >= 0 && j < b.ym && k >= 0 && k < b.zm) return xg + 2 * ((k * b.ym + j) * b.xm);
    return xl + 2 * (((k + b.oz) * b.gym + (j + b.oy)) * b.gxm + b.ox);
  };
  Moments m;
  for (PetscInt k = 0; k < b.zm; ++k)
    for (PetscInt j = 0; j < b.ym; ++j) {
      const double* ghosted = xl + 2 * (((k + b.oz) * b.gym + (j + b.oy)) * b.gxm + b.ox);
      Rows rw{row(j, k), ghosted - 2, ghosted + 2 * b.xm, nullptr, nullptr, nullptr, nullptr};
      if (K_ > 1) { rw.yd = row(j - 1, k); rw.yu = row(j + 1, k); }
      if (K_ > 2) { rw.zd = row(j, k - 1); rw.zu = row(j, k + 1); }
      double* yr = yo + 2 * ((k * b.ym + j) * b.xm);
      const double* dr = diag_.data() + (k * b.ym + j) * b.xm;
      switch (K_) {
        case 1: stencil_row<1, WithMoments>(rw, yr, dr, b.xm, cx_, cy_, cz_, s, m.norm2, m.energy); break;
        case 2: stencil_row<2, WithMoments>(rw, yr, dr, b.xm, cx_, cy_, cz_, s, m.norm2, m.energy); break;
        default: stencil_row<3, WithMoments>(rw, yr, dr, b.xm, cx_, cy_, cz_, s, m.norm2, m.energy); break;
      }
    }
  GCNN_PETSC(VecRestoreArray(y, &yo));
  GCNN_PETSC(VecRestoreArrayRead(local_, &xl));
  GCNN_PETSC(VecRestoreArrayRead(x, &xg));
  return m;
}

void HamiltonianStencil::apply(Vec x, Vec y, double s) const { run<false>(x, y, s); }

HamiltonianStencil::Moments HamiltonianStencil::apply_with_moments(Vec x, Vec y, double s) const {
  return run<true>(x, y, s);
}

void HamiltonianStencil::apply_diagonal_inverse(Vec x, Vec y, double s) const {
  const PetscScalar* xa;
  PetscScalar* ya;
  GCNN_PETSC(VecGetArrayRead(x, &xa));
  GCNN_PETSC(VecGetArray(y, &ya));
  const size_t n = diag_.size();
  const double* __restrict d = diag_.data();
#pragma omp simd
  for (size_t i = 0; i < n; ++i) {
    // (xr + i xm) / (1 + i s d) = (xr + i xm)(1 - i s d) / (1 + s^2 d^2)
    const double sd = s * d[i], w = 1.0 / (1.0 + sd * sd), xr = xa[2 * i], xm = xa[2 * i + 1];
    ya[2 * i] = w * (xr + sd * xm);
    ya[2 * i + 1] = w * (xm - sd * xr);
  }
  GCNN_PETSC(VecRestoreArray(y, &ya));
  GCNN_PETSC(VecRestoreArrayRead(x, &xa));
}

double HamiltonianStencil::max_diagonal(MPI_Comm comm) const {
  double m = diag_.empty() ? 0.0 : *std::max_element(diag_.begin(), diag_.end());
  mpi_check(MPI_Allreduce(MPI_IN_PLACE, &m, 1, MPI_DOUBLE, MPI_MAX, comm), "MPI_Allreduce(max diagonal)");
  return m;
}

namespace {
// PETSc callbacks for the MatShell (Op = apply) and the PCSHELL (Op =
// apply_diagonal_inverse): fetch the context, call, and turn a C++ exception
// into a PETSc error so that it unwinds through KSPSolve.
template <class Obj, PetscErrorCode (*GetContext)(Obj, void*),
          void (HamiltonianStencil::*Op)(Vec, Vec, double) const>
PetscErrorCode shell_callback(Obj obj, Vec x, Vec y) {
  void* ctx = nullptr;
  PetscFunctionBeginUser;
  PetscCall(GetContext(obj, &ctx));
  const auto* c = static_cast<const HamiltonianStencil::ShellContext*>(ctx);
  try {
    (c->op->*Op)(x, y, c->s);
  } catch (const std::exception&) {
    SETERRQ(PetscObjectComm(reinterpret_cast<PetscObject>(obj)), PETSC_ERR_LIB, "HamiltonianStencil shell failed");
  }
  PetscFunctionReturn(0);
}
constexpr auto shell_mult = shell_callback<Mat, MatShellGetContext, &HamiltonianStencil::apply>;
constexpr auto shell_pc = shell_callback<PC, PCShellGetContext, &HamiltonianStencil::apply_diagonal_inverse>;
}  // namespace

void HamiltonianStencil::make_shell(double s, Mat* A) const {
  shells_.push_back(std::make_unique<ShellContext>(ShellContext{this, s}));
  PetscInt n;
  Vec probe;
  GCNN_PETSC(DMGetGlobalVector(da_, &probe));
  GCNN_PETSC(VecGetLocalSize(probe, &n));
  GCNN_PETSC(DMRestoreGlobalVector(da_, &probe));
  MPI_Comm comm;
  GCNN_PETSC(PetscObjectGetComm(reinterpret_cast<PetscObject>(da_), &comm));
  GCNN_PETSC(MatCreateShell(comm, n, n, PETSC_DETERMINE, PETSC_DETERMINE, shells_.back().get(), A));
  GCNN_PETSC(MatShellSetOperation(*A, MATOP_MULT, reinterpret_cast<void (*)(void)>(shell_mult)));
}

void HamiltonianStencil::set_diagonal_pc(double s, PC pc) const {
  shells_.push_back(std::make_unique<ShellContext>(ShellContext{this, s}));
  GCNN_PETSC(PCSetType(pc, PCSHELL));
  GCNN_PETSC(PCShellSetContext(pc, shells_.back().get()));
  GCNN_PETSC(PCShellSetApply(pc, shell_pc));
  GCNN_PETSC(PCShellSetName(pc, "gcnn node-diagonal (I + i s D)^-1"));
}

}  // namespace gcnn
