// What `gcnn solve` and `gcnn verify` need from a configuration: hbar, m and
// V(q) on the grid, with the a-priori resolution check (solve_setup.hpp).
#include "gcnn/solve_setup.hpp"

#include <cmath>
#include <numbers>
#include <string>

#include "gcnn/grand_potential.hpp"
#include "gcnn/schedule.hpp"
#include "gcnn/solver_potential.hpp"

namespace gcnn {

double resolve_hbar(const Config& c) {
  switch (c.solver_hbar.rule) {
    case HbarChoice::Rule::Nelson: return 2.0 * c.Tq;
    case HbarChoice::Rule::Mu:
      if (c.mu == 0) throw ConfigError("solver.hbar = mu needs model.mu != 0 (hbar_mu = hbar_scale |mu| / 2 pi)");
      return c.hbar_scale * std::fabs(c.mu) / (2.0 * std::numbers::pi);
    case HbarChoice::Rule::Value: break;
  }
  return c.solver_hbar.value;
}

SolveSetup make_solve_setup(const Config& c, const Comm& comm) {
  SolveSetup s;
  s.grid = Grid(c);
  s.hbar = resolve_hbar(c);
  s.mass = 1.0 / c.gamma;
  const int K = c.K;
  s.V.assign(static_cast<size_t>(s.grid.size()), 0.0);
  const auto potential = solver_potentials().make(c.solver_potential);
  potential->fill(s, c, comm);
  s.zero_ground_energy = potential->zero_ground_energy();
  // Harmonic-like potentials: the ground-state width must span at least one cell.
  const double omega_eff = potential->well_frequency(c, s.mass);
  if (omega_eff > 0) {
    const double width = std::sqrt(s.hbar / (s.mass * omega_eff));
    for (int k = 0; k < K; ++k)
      if (s.grid.h(k) > width)
        throw ConfigError("grid too coarse for the potential: cell size " + std::to_string(s.grid.h(k)) +
                          " exceeds the ground-state width sqrt(hbar/(m omega)) = " + std::to_string(width) +
                          "; raise grid.n or shrink [grid.lo, grid.hi]");
  }
  return s;
}

namespace {

// A too-coarse grid's error, saying which equilibrium and how to run anyway.
ConfigError unverifiable(const ConfigError& e, bool after_quench) {
  return ConfigError(std::string(e.what()) + " (the learning equilibrium" + (after_quench ? " after the quench" : "") +
                     " that gcnn verify compares the run with, on the run's grid: grid.lo, grid.hi, grid.n; "
                     "grid.check = false runs it anyway, unverifiable)");
}

}  // namespace

void check_grid_resolves(const Config& c, const Comm& comm, bool from_quench) {
  if (!c.grid_check) return;
  std::vector<uint64_t> steps;
  if (!from_quench) steps.push_back(0);
  if (c.quench_step > 0 && tagged_networks(c) == 0) steps.push_back(static_cast<uint64_t>(c.quench_step));
  for (const uint64_t step : steps) {
    Config x = physics_at(c, step);
    x.solver_potential = "learning_equilibrium";  // what verify compares with (verify::with)
    x.solver_hbar = HbarChoice{};                 // nelson: 2 T_q
    try {
      make_solve_setup(x, comm);
    } catch (const ConfigError& e) {
      throw unverifiable(e, step > 0);
    }
  }
}

void check_start_grid(const GrandPotential& gp, const Config& phys) {
  if (!phys.grid_check) return;
  const Grid grid(phys);
  const std::vector<double> pts = grid.centres();
  const size_t n = static_cast<size_t>(grid.size());
  std::vector<double> om(n), gr(n * static_cast<size_t>(phys.K));
  gp.evaluate(pts, om.data(), gr.data(), nullptr);
  try {
    check_equilibrium_resolved(grid, phys.K, phys.Tq, om, gr);
  } catch (const ConfigError& e) {
    throw unverifiable(e, false);
  }
}

}  // namespace gcnn
