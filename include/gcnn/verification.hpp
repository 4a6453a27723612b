#pragma once
// `gcnn verify`: the verdict on docs/model.md §6, one function per identity.
//
// Each identity is a function `void name(Verification&)` that appends its
// rows (and any arrays it wants written under /verification) and returns.
// `cmd_verify` only reads the results file, builds the shared context once
// (windows, the learning-equilibrium setup, the ground state) and runs the
// list in verify_command.cpp; a new row is one new function plus one line in
// that list.
//
// Tier 1 rows pass when the measurement is within 3 sigma of the prediction
// plus the stated discretisation bound; Tier 2 rows are reported, never
// asserted. Every resampling is keyed by a fixed seed, so the verdict is
// reproducible.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gcnn/boundary_loss.hpp"
#include "gcnn/config.hpp"
#include "gcnn/grid.hpp"
#include "gcnn/mpi_env.hpp"
#include "gcnn/solve_setup.hpp"

namespace gcnn::verify {

constexpr uint64_t kSeed = 0x5EB1F1ED;

struct Row {
  int tier = 1;
  std::string id, name;
  double measured = NAN, prediction = NAN, error = NAN, bound = 0;
  int pass = -1;  // 1 pass, 0 fail, -1 not asserted (Tier 2) or not evaluated
  std::string note;
  std::map<std::string, double> extra;  // further numbers, written as attributes
};

// What verify reads from a results file (rank 0 reads, every rank gets it).
// Datasets added by later versions are optional: empty when absent.
struct Series {
  std::vector<int64_t> step;
  std::vector<double> time;
  int64_t S = 0, cells = 0;
  std::vector<int64_t> hist, outside;  // [S, cells], [S]
  std::vector<int64_t> n_hist;         // [S, n_max + 2]
  std::vector<double> mean_N;          // [S, 2]
  std::vector<double> delta_F;         // [S, 2]
  std::vector<double> coh_n;           // [S, 4, 2]
  std::vector<double> coh_sector, coh_set, coh_hbar;  // [S, H], [S, H], [H]
  std::vector<double> psi;             // [S, cells, 2]
  std::vector<double> widom;           // [S, 2] (optional)
  std::vector<int64_t> n_given_q;      // [S, pooled cells, NT] (optional)
  std::vector<int64_t> nq_pool;        // pooled index of every fine cell, per axis, axis 0 first
  std::vector<int64_t> nq_pooled_n;    // pooled cells per axis
  std::vector<double> phase_field;     // [S, cells, 3] (optional)
  std::vector<double> current;         // [S, cells, K, 2] (optional)
  std::vector<double> log_eN;          // [cells, NT] at the start physics
  int64_t NT = 0;
  std::string config_ini;
};
Series read_series(const std::string& path, const Comm& comm);

// Cell probabilities of sample j (networks inside the grid).
std::vector<double> cell_prob(const Series& s, int64_t j);
std::vector<double> normalised(std::vector<double> p);
// A config with another solver potential / hbar (and the grid coarsened by n_div).
Config with(const Config& c, const std::string& potential, const std::string& hbar, int64_t n_div = 1);

// p_eq = e^{-Omega/T_q} as cell probabilities with the midpoint-rule bound of
// the cell averages; `outside` is the predicted probability off the grid.
struct Equilibrium {
  std::vector<double> P;
  double disc = 0, outside = 0;
};
Equilibrium equilibrium(const SolveSetup& st);

struct EigenResult {
  std::vector<double> E;
  std::vector<std::vector<double>> psi;  // real eigenvectors, sum psi^2 dV = 1
  double hbar = 1, mass = 1;
  // The Fokker-Planck relaxation rate of mode n (solve_setup.hpp).
  double rate(size_t n, double D) const { return relaxation_rate(E[n] - E[0], D, mass, hbar); }
};
EigenResult eigen(const SolveSetup& st, const Config& c, int n, const Comm& comm);

// p(q,t) against the TDSE (hbar_mu, psi(0) = psi_ens) and Fokker-Planck.
struct Dynamics {
  std::vector<double> t, l1_tdse, fid_tdse, l1_fp, fid_fp, floor;
};

// An array written under /verification/<path> with its unit.
struct Array {
  std::vector<double> data;
  std::vector<uint64_t> dims;
  std::string unit;
};

// The shared context of one verification, built once by cmd_verify.
struct Verification {
  Verification(const Config& c, const Series& series, const Comm& cm) : cfg(c), s(series), comm(cm) {}
  const Config& cfg;
  const Series& s;
  const Comm& comm;
  std::string path;
  int blocks = 10;
  std::vector<int64_t> eq_window;  // samples after the burn-in, before a quench
  Config phys0;                    // the physics before a quench (command-line overrides applied)
  double run_mu = 0;               // the mu the run itself used before a quench (stored, never overridden)
  SolveSetup st0, st0c;            // learning equilibrium at the run's grid and at half resolution
  Equilibrium eq;
  std::vector<Row> rows;
  std::map<std::string, Array> arrays;
  std::map<std::string, double> scalars;  // attributes of /verification
  std::vector<std::vector<double>> n_laws;  // P(N|q) per fine cell at the start physics (lazy)
  EigenResult lowest;  // the 2^K + 1 lowest eigenpairs at the run's grid (lazy: T1.2's slow modes, T1.3)
  bool enough_equilibrium() const { return eq_window.size() >= 4; }
  // Collective. The learning-equilibrium setup of `phys` (hbar = 2 T_q) on
  // its grid, or on a grid n_div times coarser. Each costs a mean-field solve
  // and an evaluation over every neuron, and several rows need the same one
  // (the start, after a tagged quench that leaves the physics as it was, the
  // relaxation and Madelung rows after a collective one): computed once per
  // physics and kept for the verify.
  const SolveSetup& equilibrium_setup(const Config& phys, int64_t n_div = 1);
  std::map<std::string, SolveSetup> setups;  // by GrandPotential::physics_key and the mobility
  void put(const std::string& where, std::vector<double> data, std::vector<uint64_t> dims, std::string unit) {
    arrays[where] = Array{std::move(data), std::move(dims), std::move(unit)};
  }
};

// The identities (docs/model.md §6), in the order of the table.
void equilibrium_density(Verification& v);  // T1.2
void ground_state(Verification& v);         // T1.3
void widom_identity(Verification& v);       // T1.5a (docs/model.md §6 4b)
void n_given_q(Verification& v);            // T1.5b (docs/model.md §6 4b)
void delta_F_offset(Verification& v);       // T2.6a
void coherence_vs_null(Verification& v);    // T2.6b-i
void quench_relaxation(Verification& v);    // T1.4, T2.7
void superposition(Verification& v);        // T2.8
void madelung_continuity(Verification& v);  // T2.9a-d (and after a quench)
void hamilton_jacobi_hbar(Verification& v); // T2.9e

// The static-resampling null of C(hbar) for sample j: q uniform in the cells
// of the measured histogram, N drawn from the model's P(N|q) (the file's
// ln e_N table), F_N(q) = U(q) - T ln e_N(q), no dynamics. Deterministic.
// With `moments` (per cell mean and variance of f_i over a network's
// neurons, stride 2) it also gives the null of C_set.
struct NullCoherence {
  std::vector<double> sector, set;
};
NullCoherence static_null_coherence(const Verification& v, const Grid& g, const BoundaryLoss& U, int64_t j,
                                    const std::vector<double>& hbar, const std::vector<double>* moments = nullptr);

// hbar^2 (and a constant) fitted in the quantum Hamilton-Jacobi equation at
// equilibrium over the samples `win`: |grad S|^2/2m + U = c + (hbar^2/2m) Q,
// Q = lap sqrt(p)/sqrt(p), from the file's phase_field and histogram.
struct HamiltonJacobi {
  double hbar2 = NAN, hbar2_err = NAN, chi2 = NAN;
  int64_t dof = 0;
};
HamiltonJacobi hamilton_jacobi(const Verification& v, const std::vector<int64_t>& win);

// Shared pieces.
void density_rows(Verification& v, const std::vector<int64_t>& win, const std::vector<double>& pred, double disc,
                  const std::string& id, const std::string& what, std::vector<double>* mean_out,
                  std::vector<double>* sigma_out, double pred_outside = -1);
std::vector<int64_t> uniform_window(const Series& s, int64_t j0, int64_t nmax);
Dynamics dynamics(const Series& s, const std::vector<int64_t>& win, const Config& phys, const Comm& comm);
std::vector<double> column(const std::vector<double>& x, int64_t stride, int64_t col, const std::vector<int64_t>& win);

}  // namespace gcnn::verify
