#pragma once
// Run configuration: one table of parameter specs (name, type, default, unit,
// allowed range, help) drives the INI parser, the command line, --help, the
// validation messages and the echo into every output file.
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <map>
#include <utility>
#include <vector>

namespace gcnn {

// A bad value, an unknown key or an unreadable config file. The CLI turns it
// into one message and exit code 2, identically on every rank.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class ParamType { Int, Real, Bool, String, RealList, IntList, Choice };

// Whether a parameter changes the trajectory of a run (the state at every
// step). A resumed run may change only the Output ones: how long it runs,
// what it writes, and the solver / verify settings that read its results.
enum class Affects { Trajectory, Output };

struct Config;

// One parameter, declared once (config.cpp, parameter_specs()): its INI
// name, type, default, unit, allowed range, help, the member of Config it
// binds to and whether it changes the trajectory.
struct ParamSpec {
  std::string name;      // "section.key", as in the INI file
  ParamType type;
  std::string def;       // default, as text
  std::string unit;      // "energy", "q", "steps", "1", ...
  std::string help;
  double lo = -1e308, hi = 1e308;  // allowed closed range for numbers
  bool lo_open = false, hi_open = false;
  std::vector<std::string> choices;  // for Choice
  Affects affects = Affects::Trajectory;
  // The binder: parses the (trimmed) text into the member, throwing the
  // ConfigError that names the key and the range; compares the member.
  std::function<void(const ParamSpec&, Config&, const std::string&)> store;
  std::function<bool(const Config&, const Config&)> same;
  // Lists of 1 or K values (one is broadcast to all K dimensions); empty otherwise.
  std::function<void(const ParamSpec&, Config&, const std::string&)> fit_to_K;
  // The subcommands that read it ("run", "solve", "verify", "bench"), from
  // its section's row of section_users() (config.cpp); `gcnn config` reads all.
  std::vector<std::string> commands;
  bool used_by(const std::string& command) const;
  std::string range_text() const;
};

const std::vector<ParamSpec>& parameter_specs();

// Choices that are not styles (styles are registry names, style_registry.hpp).
enum class InitMode { Gaussian, TwoPackets };            // init.mode
enum class SolverBC { Dirichlet, Periodic };             // solver.bc
enum class TdseInit { Eigen, Superposition, Gaussian };  // solver.init
enum class FpInit { Gaussian, Results };                 // solver.fp_init
// solver.hbar: nelson (2 T_q), mu (hbar_scale |mu| / 2 pi) or a fixed value.
struct HbarChoice {
  enum class Rule { Nelson, Mu, Value } rule = Rule::Nelson;
  double value = 0;  // for Rule::Value
  static HbarChoice parse(const std::string& text);  // throws ConfigError
  std::string text() const;
  bool operator==(const HbarChoice&) const = default;
};

// The configuration by INI section. Config inherits every section, so a
// parameter reads as cfg.M or cfg.solver_dt wherever the whole run is at
// hand, and a component takes only the sections it uses.

// [model] docs/model.md §1-2
struct ModelParams {
  int64_t M = 0;
  int K = 1;
  int64_t rho = 64;
  double sigma_w = 0, sigma_c = 0, T = 1, mu = 0;
  std::string loss = "double_well";  // boundary-loss style (boundary_losses())
  double kappa = 1, s = 1;
  std::vector<double> q0;  // size K
  bool periodic = false;
  int64_t R() const { return M * rho; }
};
// [learning] docs/model.md §3
struct LearningParams {
  std::string mode = "mean";  // learning style (learning_modes())
  double gamma = 1, eta = 1e-3, Tq = 1;
};
// [exchange]
struct ExchangeParams {
  int64_t exchange_every = 10;
};
// [init]
struct InitParams {
  InitMode init_mode = InitMode::Gaussian;  // TwoPackets: the superposition experiment
  std::vector<double> init_center;  // size K
  double init_width = 1;
  std::vector<double> init_center2; // size K
  double init_fraction2 = 0.5;
};
// [quench] docs/model.md §6 items 4 and 7
struct QuenchParams {
  int64_t quench_step = 0;
  std::vector<double> quench_shift;  // size K
  double quench_kappa_factor = 1, quench_mu_shift = 0;
  // Tagged-minority quench (docs/model.md §4 last paragraph): > 0 displaces the
  // networks a < round(fraction*M) by quench_shift instead of shifting U.
  double quench_displace_fraction = 0;
  int64_t quench_dense_every = 0, quench_dense_steps = 0;
};
// [run]
struct RunParams {
  int64_t steps = 0;
  uint64_t seed = 0;
  double progress_seconds = 5;
  double max_hours = 0;  // wall-time limit of one process (0: none), run_control.hpp
};
// [grid] observation grid; also the solver grid and the periodic box
struct GridParams {
  std::vector<double> grid_lo, grid_hi;  // size K
  std::vector<int64_t> grid_n;           // size K
  bool grid_check = true;  // refuse a grid too coarse for verify's learning equilibrium (solve_setup.hpp)
  int64_t grid_cells() const;
  double cell_volume() const;
};
// [observables] docs/model.md §5
struct ObservablesParams {
  int64_t sample_every = 100;
  int64_t n_max = 0;  // N histogram upper edge
  double hbar_min = 0.01, hbar_max = 10, hbar_scale = 1;
  int64_t hbar_n = 48;
  int64_t sector_exact_max = 2048;
  int64_t particles = 0;
  int64_t nq_cells = 10;  // pooled q cells per axis of n_given_q (at most grid.n)
};
// [output]
struct OutputParams {
  std::string output;
};
// [verify] gcnn verify
struct VerifyParams {
  double verify_burn_in = 0.3;
  int64_t verify_blocks = 10, verify_dynamics_samples = 20;
};
// [checkpoint] restart files (README "Restart")
struct CheckpointParams {
  int64_t checkpoint_every = 0, checkpoint_keep = 2;
  double checkpoint_minutes = 0;
  bool checkpoint_at_end = true;
  std::string checkpoint_dir;
  // Striping and MPI-IO hints of the checkpoint file (0: the file system or the MPI library decides)
  int64_t checkpoint_stripe_count = 0, checkpoint_stripe_size_mb = 0, checkpoint_cb_nodes = 0, checkpoint_cb_buffer_mb = 0;
};
// [solver] docs/model.md §4
struct SolverParams {
  std::string solver_potential = "learning_equilibrium";  // solver-potential style (solver_potentials())
  HbarChoice solver_hbar;
  SolverBC solver_bc = SolverBC::Dirichlet;
  TdseInit solver_init = TdseInit::Gaussian;
  FpInit solver_fp_init = FpInit::Gaussian;
  std::string solver_fp_results, solver_petsc;
  double solver_omega = 1, solver_dt = 1e-3, solver_fp_dt = 1e-3, solver_packet_width = 0.5;
  int64_t solver_n_eig = 6, solver_tdse_steps = 0, solver_fp_steps = 0, solver_snapshots = 10;
  std::vector<double> solver_packet_center, solver_packet_momentum, solver_init_coeffs;
  std::vector<int64_t> solver_init_states;
};

struct Config : ModelParams, LearningParams, ExchangeParams, InitParams, QuenchParams, RunParams, GridParams,
                ObservablesParams, OutputParams, VerifyParams, CheckpointParams, SolverParams {
  // Every parameter as (name, text as given), in spec order.
  std::vector<std::pair<std::string, std::string>> values;
  std::string value(const std::string& key) const;
};

// A component's inputs: the sections it uses, by value. Built implicitly
// from the run's Config, so a component is still constructed from `cfg`.
template <class... Section>
struct Sections : Section... {
  Sections() = default;
  Sections(const Config& c) : Section(c)... {}  // NOLINT: implicit on purpose
};

// Builds a Config from raw text values (missing keys take their defaults).
// Throws ConfigError naming the key and the allowed range.
Config make_config(const std::vector<std::pair<std::string, std::string>>& raw);

// Parses `argv` (after the subcommand) plus an INI file given with --config
// (text supplied by the caller, so that rank 0 alone reads the disk).
struct CliRequest {
  std::vector<std::pair<std::string, std::string>> raw;  // key, value (command line wins)
  std::string config_path;  // empty: built-in demo defaults
  bool overwrite = false, help = false, version = false;
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> extra;  // subcommand options: --resume etc.
  std::string extra_value(const std::string& key) const;
};
CliRequest parse_command_line(int argc, const char* const* argv,
                              const std::vector<std::string>& extra_flags = {});
void merge_config_text(CliRequest& req, const std::string& ini_text, const std::string& origin);
// `gcnn COMMAND --help`: usage, the common options and the keys COMMAND
// reads ("config": every key, with the commands that read it); "" (gcnn
// --help): the subcommands and the common options.
std::string help_text(const std::string& command);
std::string config_echo(const Config& c);  // INI text that reproduces the run


}  // namespace gcnn
