#pragma once
// The analytic grand potential Omega(q) of docs/model.md §2 and the sector free
// energies F_N(q) of §5, evaluated from the model parameters alone.
//
//   b'_i(q) = e^{-(f_i(q) - mu)/T} / (M (1 + s_i))
//   Omega(q) = U(q) - T sum_i ln(1 + b'_i(q))
// For M = 1, s_i = 0 and this is exact. For M > 1 it is the conditional law
// of one network given the others' odds s_i, which we solve self-consistently
// (mean field): s_i = ((M-1)/M) E_p[e^{-(f_i - mu)/T}], p = e^{-Omega/T_q}/Z
// on the grid. See docs/model-notes.md for why ln(1+b') is kept rather
// than its first-order expansion.
//
// Neurons are distributed by id block; every sum over i ends in an allreduce.
#include <string>
#include <vector>

#include "gcnn/boundary_loss.hpp"
#include "gcnn/config.hpp"
#include "gcnn/grid.hpp"
#include "gcnn/mpi_env.hpp"
#include "gcnn/neuron_model.hpp"

namespace gcnn {

class MeanFieldGroup;  // mean_field_group.hpp: the setup's blocked kernels

// What a run needs of a GrandPotential after its setup: the observables'
// tables and the numbers it reports. A checkpoint stores them
// (grand_potential_tables.hpp), so that a resume recomputes nothing.
struct GrandPotentialTables {
  std::string physics;  // GrandPotential::physics_key of the parameters they were computed from
  std::vector<double> omega, log_lambda, log_eN;  // [G], [G], [G * (n_max + 2)]
  std::string sector_method;
  int64_t n_max = 0, iterations = 0;
  double residual = 0, occupancy = 0;
};

class GrandPotential {
 public:
  // The model, T_q (p_eq), the grid, the N table's size and the seed of the
  // neuron parameters: the sections it is computed from.
  using Params = Sections<ModelParams, LearningParams, GridParams, ObservablesParams, RunParams>;
  GrandPotential(const Params& c, const Comm& comm);
  // Restored from stored tables (a resume): nothing is computed and the
  // neuron-level functions evaluate() and occupancy_moments() throw.
  // Throws std::invalid_argument if the tables are not for these parameters.
  GrandPotential(const Params& c, const Comm& comm, GrandPotentialTables t);

  // Every parameter the tables depend on, as text (%.17g): the model, T_q,
  // the grid, n_max, sector_exact_max and the seed.
  static std::string physics_key(const Params& c);
  GrandPotentialTables tables() const;
  bool restored() const { return restored_; }
  double setup_seconds() const { return setup_seconds_; }  // wall time of the solve (0 if restored)

  // Collective. omega[n], grad[n*K] and lap[n] at n points (grad/lap may be null).
  void evaluate(const std::vector<double>& points, double* omega, double* grad, double* lap) const;

  // Collective. Moments of f_i(q) over the neurons a network at q holds,
  // weighted by their odds beta_i(q) = e^{-(f_i(q) - mu)/T}/(M(1 + s_i)):
  // m0 = sum beta_i (= <N|q> in the dilute limit), m1 = sum beta_i f_i,
  // m2 = sum beta_i f_i^2, at n points (verify's static null of C_set).
  void occupancy_moments(const std::vector<double>& points, double* m0, double* m1, double* m2) const;

  const Grid& grid() const { return grid_; }
  const std::vector<double>& omega() const { return omega_; }  // at grid cell centres
  std::vector<double> p_eq() const;                               // normalised density on the grid
  double predicted_occupancy() const { return occupancy_; }      // fraction of neurons in networks
  int iterations() const { return iterations_; }  // passes of the (Anderson-mixed) fixed point
  double residual() const { return residual_; }
  // ln(1 + s_i) of this rank's neurons (id block) at the fixed point; empty if restored.
  const std::vector<double>& log1p_s() const { return log1p_s_; }

  // ln e_N(b(q)) for N = 0..n_max+1 at every grid cell (table[g*(n_max+2) + N]),
  // b_i = e^{-f_i/T}/(M(1+s_i)). Exact when R <= observables.sector_exact_max.
  const std::vector<double>& log_eN() const { return log_eN_; }
  const std::vector<double>& log_lambda() const { return log_lambda_; }
  const std::string& sector_method() const { return sector_method_; }
  int64_t n_max() const { return n_max_; }

 private:
  friend class MeanFieldOmega;
  void solve_mean_field();
  // At the fixed point's s_i: occupancy_ and log_lambda_ (one more pass).
  void occupancy_and_lambda(MeanFieldGroup& group, const std::vector<size_t>& group_end,
                            const std::vector<double>& pg);
  void build_sector_tables();

  Params cfg_;
  Comm comm_;
  Grid grid_;
  std::unique_ptr<BoundaryLoss> loss_;
  std::vector<NeuronParams> params_;  // this rank's id block
  std::vector<double> log1p_s_;       // ln(1 + s_i)
  std::vector<double> omega_, log_lambda_, log_eN_;
  std::string sector_method_;
  double occupancy_ = 0, residual_ = 0;
  int iterations_ = 0;
  int64_t n_max_ = 0;
  bool restored_ = false;
  double setup_seconds_ = 0;
};

// Omega[p] of docs/model.md §4 for an ensemble density away from equilibrium
// (the McKean-Vlasov drift): the odds follow the whole ensemble,
//   s_i[P] = ((M-1)/M) sum_g P_g x_i(q_g),   x_i = e^{-(f_i - mu)/T},
//   Omega_g = U(q_g) - T sum_i ln(1 + x_i(q_g) / (M (1 + s_i[P]))),
// with P the cell probabilities (sum 1) at the grid's cell centres, instead
// of the self-consistent p_eq of GrandPotential. The table of 2cosh(y_i(q_g))
// (x_i = e^{mu/T} 2cosh y_i) for this rank's neurons, R/P x G doubles, is
// built once, so an evaluation is one pass over it: per neuron a dot product
// (s_i), and per group of up to 16 consecutive neurons one logarithm of the
// product of their (1 + x_i/(M(1+s_i))), vectorised over the cells with the
// fm:: functions. Groups are cut so that no product can overflow (s_i >= 0
// bounds every factor by its s = 0 value). Rounding: ~2e-16 per neuron and
// cell, absolute, in Omega/T; Omega[p_eq] reproduces GrandPotential::omega()
// to that and the fixed point's residual.
class MeanFieldOmega {
 public:
  explicit MeanFieldOmega(const GrandPotential& gp);
  // Collective. omega[g] for all G cells; P on every rank.
  void evaluate(const std::vector<double>& P, double* omega) const;
  // ln(1 + s_i[P]) for this rank's neurons (id block), from the last evaluate.
  const std::vector<double>& log1p_s() const { return log1p_s_; }
  size_t table_bytes() const { return two_cosh_.size() * sizeof(double); }

 private:
  double T_, mu_, M_;
  Comm comm_;
  size_t G_ = 0;
  std::vector<double> two_cosh_;  // [local neuron][cell]
  std::vector<size_t> group_end_; // one past the last neuron of each product group
  std::vector<double> U_;         // loss at the cell centres
  mutable std::vector<double> log1p_s_;
};

}  // namespace gcnn
