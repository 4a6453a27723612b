#pragma once
// What `gcnn solve` and `gcnn verify` need from a configuration: hbar, m and
// the potential V(q) on the grid nodes (docs/model.md §4).
//   learning_equilibrium: V = (hbar^2/2m)(|grad phi|^2 - lap phi), phi = Omega/(2 T_q),
//                         with grad/lap of the analytic Omega; psi_0 = sqrt(p_eq), E_0 = 0.
//   harmonic: V = m omega^2 |q|^2 / 2;  double_well: kappa sum_k (q_k^2 - s^2)^2;  free: 0.
#include <vector>

#include "gcnn/config.hpp"
#include "gcnn/grid.hpp"
#include "gcnn/mpi_env.hpp"

namespace gcnn {

double resolve_hbar(const Config& c);  // throws ConfigError for hbar = mu with mu = 0
struct SolveSetup {
  Grid grid;
  double hbar = 1, mass = 1;
  std::vector<double> V;         // at the nodes, C order
  std::vector<double> omega_Tq;  // Omega/T_q at the nodes (learning_equilibrium), else empty
  bool zero_ground_energy = false;  // E_0 = 0 in the continuum (learning_equilibrium): checked after the eigen solve
};

// The Fokker-Planck relaxation rate of the mode whose Schroedinger energy is
// `gap` = E_n - E_0 above the ground state, in the learning-equilibrium
// setup: lambda_n = (2 m D / hbar^2)(E_n - E_0), D = gamma T_q (docs/model.md §4).
inline double relaxation_rate(double gap, double D, double mass, double hbar) {
  return 2 * mass * D / (hbar * hbar) * gap;
}
SolveSetup make_solve_setup(const Config& c, const Comm& comm);  // collective

// Collective. The a-priori resolution checks of make_solve_setup for the
// learning-equilibrium setup that `gcnn verify` builds from a run of `c`
// (hbar = 2 T_q, the physics at step 0 and after a collective quench), so
// that `gcnn run` and `gcnn config` refuse a too-coarse grid before anything
// is written instead of verify after the run. Throws the ConfigError naming
// the key to change (grid.n). Nothing with grid.check = false (test and
// benchmark runs on coarse grids that are never verified).
// from_quench: only the physics after a collective quench (`gcnn run`
// checks its start with its own grand potential: check_start_grid).
void check_grid_resolves(const Config& c, const Comm& comm, bool from_quench = false);

class GrandPotential;
// Collective (gp's communicator). The same check for the physics in force at a run's start, on
// the run's own grand potential (one evaluation at the cell centres, no
// second setup). Nothing with grid.check = false.
void check_start_grid(const GrandPotential& gp, const Config& phys);

}  // namespace gcnn
