#include "gcnn/solver_potential.hpp"

#include <algorithm>
#include <cmath>

#include "gcnn/boundary_loss.hpp"
#include "gcnn/grand_potential.hpp"

namespace gcnn {

// The registry: one line per potential.
const SolverPotentialRegistry& solver_potentials() {
  static const SolverPotentialRegistry registry(
      "solver.potential",
      {
          {"learning_equilibrium", "V = (hbar^2/2m)(|grad phi|^2 - lap phi), phi = Omega/(2 T_q)",
           make_style<SolverPotential, LearningEquilibriumPotential>},
          {"harmonic", "V = m omega^2 |q|^2 / 2", make_style<SolverPotential, HarmonicPotential>},
          {"double_well", "V = U of model.loss = double_well", make_style<SolverPotential, DoubleWellPotential>},
          {"free", "V = 0", make_style<SolverPotential, FreePotential>},
      });
  return registry;
}

// psi_0 = e^{-phi}, phi = Omega/(2 T_q): where p_eq matters, phi may change
// by at most 3 per cell.
void check_equilibrium_resolved(const Grid& grid, int K, double Tq, const std::vector<double>& om,
                                const std::vector<double>& gr) {
  const auto pts = grid.centres();
  const double inv = 1.0 / (2.0 * Tq);
  const double om_min = *std::min_element(om.begin(), om.end());
  double worst = 0, where = 0;
  for (size_t g = 0; g < om.size(); ++g) {
    if ((om[g] - om_min) / Tq > 8) continue;  // p_eq below e^-8 of its peak: the tail need not be resolved
    for (int k = 0; k < K; ++k) {
      const double x = std::fabs(gr[g * K + k]) * inv * grid.h(k);
      if (x > worst) { worst = x; where = pts[g * K + k]; }
    }
  }
  if (worst > 3.0)
    throw ConfigError("grid too coarse for the potential: sqrt(p_eq) = e^{-Omega/(2 T_q)} changes by a factor e^" +
                      std::to_string(worst) + " across one cell (near q = " + std::to_string(where) +
                      "); at most e^3 resolves it: raise grid.n");
}

void LearningEquilibriumPotential::fill(SolveSetup& s, const Config& c, const Comm& comm) const {
  const auto pts = s.grid.centres();
  const size_t N = static_cast<size_t>(s.grid.size());
  const int K = c.K;
  GrandPotential gp(c, comm);
  std::vector<double> om(N), gr(N * K), lap(N);
  gp.evaluate(pts, om.data(), gr.data(), lap.data());
  const double pref = s.hbar * s.hbar / (2.0 * s.mass), inv = 1.0 / (2.0 * c.Tq);
  s.omega_Tq.resize(N);
  for (size_t g = 0; g < N; ++g) {
    double g2 = 0;
    for (int k = 0; k < K; ++k) g2 += gr[g * K + k] * inv * gr[g * K + k] * inv;
    s.V[g] = pref * (g2 - lap[g] * inv);
    s.omega_Tq[g] = om[g] / c.Tq;
  }
  check_equilibrium_resolved(s.grid, K, c.Tq, om, gr);
}

void HarmonicPotential::fill(SolveSetup& s, const Config& c, const Comm&) const {
  const auto pts = s.grid.centres();
  const int K = c.K;
  for (size_t g = 0; g < s.V.size(); ++g)
    for (int k = 0; k < K; ++k) s.V[g] += 0.5 * s.mass * c.solver_omega * c.solver_omega * pts[g * K + k] * pts[g * K + k];
}

void DoubleWellPotential::fill(SolveSetup& s, const Config& c, const Comm&) const {
  const auto pts = s.grid.centres();
  const DoubleWellLoss U(c);  // the model's own double well: one formula
  for (size_t g = 0; g < s.V.size(); ++g) s.V[g] = U.value(&pts[g * static_cast<size_t>(c.K)]);
}

double DoubleWellPotential::well_frequency(const Config& c, double mass) const {
  return std::sqrt(8.0 * c.kappa * c.s * c.s / mass);
}

}  // namespace gcnn
