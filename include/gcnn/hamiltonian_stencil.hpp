#pragma once
// The Crank-Nicolson operators (I + i s H), s = +-dt/(2 hbar), applied
// matrix-free to psi = (Re, Im) stored as 2 dof on a DMDA.
//
// Why not an assembled matrix: in (Re, Im) form each row of I + i s H holds
// 2K+2 nonzeros, so an AIJ MatMult streams ~12 bytes per nonzero (~120 bytes
// per node in 2-D) where the stencil needs the 16 bytes of psi and 8 of the
// diagonal. The CN step is bandwidth-bound, so this is its whole cost
// (gcnn bench --bench.solver). For the same reason the owned values are read
// in place and only the halo is copied, not the whole ghosted local vector.
// The stencil here is the one SchrodingerSolver
// assembles for SLEPc: -hbar^2/2m times the (2K+1)-point Laplacian plus V,
// with psi = 0 half a cell outside Dirichlet walls or periodic wrap.
#include <memory>
#include <vector>

#include "gcnn/grid.hpp"
#include "gcnn/petsc_env.hpp"

namespace gcnn {

class HamiltonianStencil {
 public:
  // da2: dof-2 DMDA, DM_BOUNDARY_GHOSTED at walls (the outer ghost layer
  // stays zero: psi vanishes there) or DM_BOUNDARY_PERIODIC. V_owned: the
  // potential at this rank's nodes in DMDA order. kinetic = hbar^2 / (2m).
  HamiltonianStencil(DM da2, const Grid& grid, double kinetic, const std::vector<double>& V_owned);
  HamiltonianStencil(const HamiltonianStencil&) = delete;
  HamiltonianStencil& operator=(const HamiltonianStencil&) = delete;

  // y = (I + i s H) x.
  void apply(Vec x, Vec y, double s) const;

  // y = (I + i s H) x and, from the same pass, this rank's sums of |x|^2 and
  // Re <x|H|x> (collective reductions are left to the caller, batched).
  struct Moments { double norm2 = 0, energy = 0; };
  Moments apply_with_moments(Vec x, Vec y, double s) const;

  // y = (I + i s D)^{-1} x with D the diagonal of H: the exact inverse of
  // each node's 2x2 (Re, Im) block.
  void apply_diagonal_inverse(Vec x, Vec y, double s) const;

  // max over all ranks of the diagonal of H (collective).
  double max_diagonal(MPI_Comm comm) const;

  // A MatShell whose MatMult is apply(., ., s), and a PCSHELL that applies
  // apply_diagonal_inverse(., ., s); both refer to *this.
  void make_shell(double s, Mat* A) const;
  void set_diagonal_pc(double s, PC pc) const;
  struct ShellContext { const HamiltonianStencil* op; double s; };  // what a shell's MatMult sees

 private:
  template <bool WithMoments>
  Moments run(Vec x, Vec y, double s) const;
  void build_halo();

  // This rank's box of nodes: sizes, ghosted row lengths, and the offset of
  // the box's first node inside the ghosted local array.
  struct Box { PetscInt xm = 1, ym = 1, zm = 1, gxm = 1, gym = 1, ox = 0, oy = 0, oz = 0; };

  DM da_;
  Box box_;
  PVec local_;                 // ghosted array; only its halo is ever filled, walls stay 0
  PScatter halo_;              // global vector -> the halo entries of local_
  std::vector<double> diag_;   // V + 2 kinetic sum_q 1/h_q^2 at owned nodes
  double cx_ = 0, cy_ = 0, cz_ = 0;  // kinetic / h^2 along DMDA x, y, z
  int K_;
  mutable std::vector<std::unique_ptr<ShellContext>> shells_;  // outlive the shells' use
};

}  // namespace gcnn
