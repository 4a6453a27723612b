#pragma once
// The potential V(q) of the Schroedinger operator (solver.potential) as
// styles registered by name (style_registry.hpp): learning_equilibrium,
// harmonic, double_well, free. A new potential is a class here or in its own
// file pair, plus one line in solver_potentials().
#include "gcnn/solve_setup.hpp"
#include "gcnn/style_registry.hpp"

namespace gcnn {

class SolverPotential {
 public:
  virtual ~SolverPotential() = default;
  // Collective. V at the grid nodes into s.V (s.grid, s.hbar and s.mass are
  // set); a style may also fill s.omega_Tq (the Fokker-Planck drift).
  virtual void fill(SolveSetup& s, const Config& c, const Comm& comm) const = 0;
  // Frequency of the harmonic well near the minimum (0: not harmonic-like),
  // for the check that the ground state spans at least one cell.
  virtual double well_frequency(const Config&, double /*mass*/) const { return 0; }
  // Whether the ground-state energy is exactly 0 in the continuum (a grid
  // that cannot resolve psi_0 shows up as E_0 != 0).
  virtual bool zero_ground_energy() const { return false; }
};

using SolverPotentialRegistry = StyleRegistry<SolverPotential>;
const SolverPotentialRegistry& solver_potentials();

// V = (hbar^2/2m)(|grad phi|^2 - lap phi), phi = Omega/(2 T_q): psi_0 = sqrt(p_eq), E_0 = 0.
class LearningEquilibriumPotential final : public SolverPotential {
 public:
  void fill(SolveSetup& s, const Config& c, const Comm& comm) const override;
  bool zero_ground_energy() const override { return true; }
};
// The learning equilibrium's resolution test (fill's, and the run's at its
// start): throws the ConfigError of a too-coarse grid if sqrt(p_eq) =
// e^{-Omega/(2 T_q)} changes by more than e^3 across a cell where p_eq is
// above e^-8 of its peak. om[g], gr[g K + k]: Omega and its gradient at the
// grid's cell centres.
void check_equilibrium_resolved(const Grid& grid, int K, double Tq, const std::vector<double>& om,
                                const std::vector<double>& gr);
// V = m omega^2 |q|^2 / 2
class HarmonicPotential final : public SolverPotential {
 public:
  void fill(SolveSetup& s, const Config& c, const Comm& comm) const override;
  double well_frequency(const Config& c, double) const override { return c.solver_omega; }
};
// The model's own double well (kappa, s, centred at model.q0): the same formula as the loss.
class DoubleWellPotential final : public SolverPotential {
 public:
  void fill(SolveSetup& s, const Config& c, const Comm& comm) const override;
  double well_frequency(const Config& c, double mass) const override;
};
// V = 0
class FreePotential final : public SolverPotential {
 public:
  void fill(SolveSetup& s, const Config&, const Comm&) const override { s.V.assign(s.V.size(), 0.0); }
};

}  // namespace gcnn
