#include "gcnn/config.hpp"

#include "gcnn/boundary_loss.hpp"
#include "gcnn/learning_step.hpp"
#include "gcnn/solver_potential.hpp"
#include "gcnn/schedule.hpp"

#include <boost/program_options.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <type_traits>
#include <sstream>

namespace po = boost::program_options;

namespace gcnn {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
using PT = ParamType;

[[noreturn]] void bad(const ParamSpec& s, const std::string& v, const std::string& why);
double to_real(const ParamSpec& s, const std::string& v);
int64_t to_int(const ParamSpec& s, const std::string& v);
bool to_bool(const ParamSpec& s, const std::string& v);
uint64_t to_uint64(const ParamSpec& s, const std::string& v);
std::vector<std::string> split_list(const std::string& v);

// ---- binders: text -> member, and member equality -------------------------
template <class T>
void bind(ParamSpec& s, T Config::*m) {
  s.same = [m](const Config& a, const Config& b) { return a.*m == b.*m; };
  if constexpr (std::is_same_v<T, double>) {
    s.store = [m](const ParamSpec& sp, Config& c, const std::string& v) { c.*m = to_real(sp, v); };
  } else if constexpr (std::is_same_v<T, uint64_t>) {
    s.store = [m](const ParamSpec& sp, Config& c, const std::string& v) { c.*m = to_uint64(sp, v); };
  } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    s.store = [m](const ParamSpec& sp, Config& c, const std::string& v) { c.*m = static_cast<T>(to_int(sp, v)); };
  } else if constexpr (std::is_same_v<T, bool>) {
    s.store = [m](const ParamSpec& sp, Config& c, const std::string& v) { c.*m = to_bool(sp, v); };
  } else if constexpr (std::is_same_v<T, std::string>) {
    s.store = [m](const ParamSpec& sp, Config& c, const std::string& v) {
      if (sp.type == PT::Choice && std::find(sp.choices.begin(), sp.choices.end(), v) == sp.choices.end())
        bad(sp, v, "is not a valid choice");
      c.*m = v;
    };
  } else {  // lists
    s.store = [m](const ParamSpec& sp, Config& c, const std::string& v) {
      (c.*m).clear();
      for (auto& item : split_list(v)) {
        if constexpr (std::is_same_v<T, std::vector<double>>) (c.*m).push_back(to_real(sp, item));
        else (c.*m).push_back(to_int(sp, item));
      }
    };
  }
}

// The part every spec has: name, type, default, unit, help (the binder and
// the range are set by the functions below).
ParamSpec spec(std::string name, ParamType type, std::string def, std::string unit, std::string help) {
  ParamSpec s;
  s.name = std::move(name);
  s.type = type;
  s.def = std::move(def);
  s.unit = std::move(unit);
  s.help = std::move(help);
  return s;
}

template <class T> constexpr ParamType type_of() {
  if constexpr (std::is_same_v<T, double>) return PT::Real;
  else if constexpr (std::is_same_v<T, std::vector<double>>) return PT::RealList;
  else if constexpr (std::is_same_v<T, std::vector<int64_t>>) return PT::IntList;
  else return PT::Int;
}

// A number or a list of numbers in [lo, hi] (open ends as flagged).
template <class T, class S>
ParamSpec num(std::string name, T S::*m, std::string def, std::string unit, std::string help, double lo,
              double hi, bool lo_open = false, bool hi_open = false) {
  ParamSpec s = spec(std::move(name), type_of<T>(), std::move(def), std::move(unit), std::move(help));
  s.lo = lo; s.hi = hi; s.lo_open = lo_open; s.hi_open = hi_open;
  bind(s, static_cast<T Config::*>(m));
  return s;
}
// A list of 1 or K numbers, one per dimension of q.
template <class T, class S>
ParamSpec per_dim(std::string name, T S::*m, std::string def, std::string unit, std::string help, double lo,
                  double hi) {
  ParamSpec s = num(std::move(name), m, std::move(def), std::move(unit), std::move(help), lo, hi);
  T Config::*cm = m;
  s.fit_to_K = [cm](const ParamSpec& sp, Config& c, const std::string& v) {
    auto& list = c.*cm;
    if (list.size() == 1) list.assign(static_cast<size_t>(c.K), list[0]);
    if (static_cast<int>(list.size()) != c.K) bad(sp, v, "must have 1 or " + std::to_string(c.K) + " values");
  };
  return s;
}
// An enum choice: `names` in the order of the enum's values.
template <class E, class S>
ParamSpec choice(std::string name, E S::*em, std::string def, std::vector<std::string> names, std::string help) {
  ParamSpec s = spec(std::move(name), PT::Choice, std::move(def), "-", std::move(help));
  s.choices = std::move(names);
  E Config::*m = em;
  s.same = [m](const Config& a, const Config& b) { return a.*m == b.*m; };
  s.store = [m](const ParamSpec& sp, Config& c, const std::string& v) {
    const auto it = std::find(sp.choices.begin(), sp.choices.end(), v);
    if (it == sp.choices.end()) bad(sp, v, "is not a valid choice");
    c.*m = static_cast<E>(it - sp.choices.begin());
  };
  return s;
}
// A style: the name of an entry of a registry (style_registry.hpp).
ParamSpec style(std::string name, std::string Config::*m, std::string def, std::vector<std::string> names,
                std::string help) {
  ParamSpec s = spec(std::move(name), PT::Choice, std::move(def), "-", std::move(help));
  s.choices = std::move(names);
  bind(s, m);
  return s;
}
ParamSpec text(std::string name, std::string Config::*m, std::string def, std::string help) {
  ParamSpec s = spec(std::move(name), PT::String, std::move(def), "-", std::move(help));
  bind(s, m);
  return s;
}
ParamSpec flag(std::string name, bool Config::*m, std::string def, std::string help) {
  ParamSpec s = spec(std::move(name), PT::Bool, std::move(def), "-", std::move(help));
  bind(s, m);
  return s;
}
// solver.hbar: nelson, mu or a positive number.
ParamSpec hbar_choice(std::string name, HbarChoice Config::*m, std::string def, std::string help) {
  ParamSpec s = spec(std::move(name), PT::String, std::move(def), "-", std::move(help));
  s.same = [m](const Config& a, const Config& b) { return a.*m == b.*m; };
  s.store = [m](const ParamSpec&, Config& c, const std::string& v) { c.*m = HbarChoice::parse(v); };
  return s;
}
// Parameters a resumed run may change (Affects::Output).
ParamSpec output(ParamSpec s) {
  s.affects = Affects::Output;
  return s;
}
}  // namespace

namespace {
// Which subcommands read each section (per-command --help). `run` builds the
// ensemble; `solve` needs the model's Omega (model, learning: m = 1/gamma and
// hbar = 2 T_q; observables.hbar_scale for hbar = mu), the grid and its
// output; `verify` takes the run's configuration from the results file and
// reads only its own section and the PETSc options from the command line;
// `bench` builds an ensemble like run (its own --bench.* options aside).
const std::vector<std::pair<std::string, std::vector<std::string>>>& section_users() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> table = {
      {"model", {"run", "solve", "bench"}},  {"learning", {"run", "solve", "bench"}},
      {"exchange", {"run", "bench"}},        {"init", {"run", "bench"}},
      {"quench", {"run"}},                   {"run", {"run", "bench"}},
      {"grid", {"run", "solve", "bench"}},   {"observables", {"run", "solve", "bench"}},
      {"output", {"run", "solve"}},          {"checkpoint", {"run"}},
      {"solver", {"solve"}},                 {"verify", {"verify"}},
  };
  return table;
}
// Keys read beyond their section's commands.
const std::vector<std::pair<std::string, std::string>> kAlsoUsedBy = {{"solver.petsc", "verify"}};

void set_users(std::vector<ParamSpec>& specs) {
  for (ParamSpec& s : specs) {
    const std::string sec = s.name.substr(0, s.name.find('.'));
    for (const auto& [section, commands] : section_users())
      if (section == sec) s.commands = commands;
    if (s.commands.empty()) throw std::logic_error("section of " + s.name + " has no row in section_users()");
    for (const auto& [key, command] : kAlsoUsedBy)
      if (key == s.name) s.commands.push_back(command);
  }
}
}  // namespace

bool ParamSpec::used_by(const std::string& command) const {
  return command == "config" || std::find(commands.begin(), commands.end(), command) != commands.end();
}

// The defaults are the built-in demo: a 1-D double-well ensemble of 4096
// networks that equilibrates in well under a minute on two cores.
const std::vector<ParamSpec>& parameter_specs() {
  static const std::vector<ParamSpec> specs = [] {
    std::vector<ParamSpec> specs = {
      num("model.M", &Config::M, "4096", "networks", "ensemble size M", 1, 1e15),
      num("model.K", &Config::K, "1", "1", "dimension K of the trainable vector q", 1, 3),
      num("model.rho", &Config::rho, "64", "neurons/network", "neurons per network; R = rho*M", 1, 1e6),
      num("model.sigma_w", &Config::sigma_w, "0.3", "energy/q", "std. dev. of neuron weights w_i", 0, kInf, false, true),
      num("model.sigma_c", &Config::sigma_c, "0.3", "energy", "std. dev. of neuron biases c_i", 0, kInf, false, true),
      num("model.T", &Config::T, "1", "energy", "temperature T of the hidden neurons", 0, kInf, true, true),
      num("model.mu", &Config::mu, "-1.5", "energy", "chemical potential mu of neurons", -1e6, 1e6),
      style("model.loss", &Config::loss, "double_well", boundary_losses().names(),
            "boundary loss U(q): " + boundary_losses().help()),
      num("model.kappa", &Config::kappa, "1", "energy/q^2 or energy/q^4", "stiffness of U", 0, kInf, true, true),
      num("model.s", &Config::s, "1", "q", "double_well: minima at q_k = +-s", 0, kInf, true, true),
      per_dim("model.q0", &Config::q0, "0", "q", "centre q0 of U, harmonic and double_well (1 or K values)", -1e6, 1e6),
      flag("model.periodic", &Config::periodic, "false", "periodic q, box = [grid.lo, grid.hi)"),
      style("learning.mode", &Config::mode, "mala", learning_modes().names(), "gradient: " + learning_modes().help()),
      num("learning.gamma", &Config::gamma, "1", "q^2/(energy time)", "learning rate gamma (mobility), m = 1/gamma", 0,
          kInf, true, true),
      num("learning.eta", &Config::eta, "0.004", "time", "integration step eta; t = step*eta", 0, kInf, true, true),
      num("learning.Tq", &Config::Tq, "1", "energy", "learning-noise temperature T_q (T_q = T: learning equilibrium)", 0,
          kInf, true, true),
      num("exchange.every", &Config::exchange_every, "2", "steps", "learning steps between exchange sweeps (0: no exchange)", 0, 1e15),
      per_dim("init.q_center", &Config::init_center, "0", "q", "centre of the initial q distribution (1 or K values)", -1e6, 1e6),
      num("init.q_width", &Config::init_width, "1", "q", "std. dev. of the initial q distribution", 0, kInf, false, true),
      choice("init.mode", &Config::init_mode, "gaussian", {"gaussian", "two_packets"},
             "initial q: one Gaussian, or two sub-ensembles (superposition experiment, docs/model.md §6 item 8)"),
      per_dim("init.q_center2", &Config::init_center2, "0", "q", "two_packets: centre of the second sub-ensemble", -1e6, 1e6),
      num("init.fraction2", &Config::init_fraction2, "0.5", "1", "two_packets: fraction of networks in the second", 0, 1),
      num("quench.step", &Config::quench_step, "0", "steps", "quench experiment: steps >= this use the changed U and mu (0: none)",
          0, 1e14),
      per_dim("quench.shift", &Config::quench_shift, "0", "q", "quench: shift of the centre of U (1 or K values)", -1e6, 1e6),
      num("quench.kappa_factor", &Config::quench_kappa_factor, "1", "1", "quench: kappa is multiplied by this", 0, kInf, true, true),
      num("quench.mu_shift", &Config::quench_mu_shift, "0", "energy", "quench: mu changes by this", -1e6, 1e6),
      num("quench.displace_fraction", &Config::quench_displace_fraction, "0", "1",
          "tagged-minority quench: > 0 leaves U and mu unchanged and instead moves q of the networks with id "
          "a < round(fraction*M) by quench.shift at quench.step (the bulk stays at equilibrium)",
          0, 1),
      num("quench.dense_every", &Config::quench_dense_every, "0", "steps", "sample interval in the window after the quench (0: sample_every)",
          0, 1e14),
      num("quench.dense_steps", &Config::quench_dense_steps, "0", "steps", "length of the densely sampled window after the quench", 0,
          1e14),
      output(num("run.steps", &Config::steps, "10000", "steps", "learning steps to run", 0, 1e14)),
      num("run.seed", &Config::seed, "20211", "1", "seed of every random stream", 0, 1.8e19),
      output(num("run.progress_seconds", &Config::progress_seconds, "5", "s", "wall-clock interval of progress lines (0: none)", 0, kInf,
          false, true)),
      output(num("run.max_hours", &Config::max_hours, "0", "h",
          "wall-time limit of this process: checkpoint and exit 75 before it (0: none; as mdrun -maxh)", 0, kInf,
          false, true)),
      per_dim("grid.lo", &Config::grid_lo, "-2.5", "q", "lower grid edge (1 or K values)", -1e6, 1e6),
      per_dim("grid.hi", &Config::grid_hi, "2.5", "q", "upper grid edge (1 or K values)", -1e6, 1e6),
      per_dim("grid.n", &Config::grid_n, "100", "cells", "grid cells per dimension (1 or K values)", 2, 1e6),
      output(flag("grid.check", &Config::grid_check, "true",
                  "run, config: refuse a grid too coarse for the learning equilibrium gcnn verify compares with "
                  "(false: run anyway, for runs never verified; verify will refuse the file)")),
      output(num("observables.sample_every", &Config::sample_every, "50", "steps", "steps between samples", 1, 1e14)),
      num("observables.n_max", &Config::n_max, "0", "neurons", "upper edge of the N histogram (0: 4*rho)", 0, 1e7),
      num("observables.hbar_min", &Config::hbar_min, "0.01", "energy time", "smallest hbar of the coherence scan", 0, kInf,
          true, true),
      num("observables.hbar_max", &Config::hbar_max, "10", "energy time", "largest hbar of the coherence scan", 0, kInf, true,
          true),
      num("observables.hbar_n", &Config::hbar_n, "48", "1", "points of the log-spaced hbar scan", 2, 1e5),
      num("observables.hbar_scale", &Config::hbar_scale, "1", "1", "hbar_mu = hbar_scale*|mu|/(2 pi)", 0, kInf, true, true),
      num("observables.sector_exact_max", &Config::sector_exact_max, "2048", "neurons",
          "exact e_N for the sector free energy when R <= this, else Poisson form", 0, 1e7),
      num("observables.particles", &Config::particles, "0", "networks", "networks stored in /particles each sample", 0, 1e9),
      num("observables.nq_cells", &Config::nq_cells, "10", "cells",
          "n_given_q: pooled q cells per axis, min(this, grid.n) contiguous blocks of fine cells", 1, 1e6),
      output(text("output.file", &Config::output, "gcnn_results.h5", "results file (HDF5)")),
      output(num("checkpoint.every", &Config::checkpoint_every, "0", "steps", "learning steps between checkpoints (0: none)", 0, 1e14)),
      output(num("checkpoint.minutes", &Config::checkpoint_minutes, "0", "min", "wall-clock minutes between checkpoints (0: none)", 0, kInf,
          false, true)),
      output(num("checkpoint.keep", &Config::checkpoint_keep, "2", "files", "checkpoints kept (older ones are deleted)", 1, 1e6)),
      output(flag("checkpoint.at_end", &Config::checkpoint_at_end, "true", "write a checkpoint at the last step")),
      output(text("checkpoint.dir", &Config::checkpoint_dir, "", "checkpoint directory (empty: output.file without .h5, plus .ckpt)")),
      output(num("checkpoint.stripe_count", &Config::checkpoint_stripe_count, "0", "OSTs", "Lustre stripe count of checkpoint files, MPI-IO striping_factor and jobs/ lfs setstripe -c (0: the directory's)", 0, 1e5)),
      output(num("checkpoint.stripe_size_mb", &Config::checkpoint_stripe_size_mb, "0", "MiB", "stripe size of checkpoint files: striping_unit, lfs setstripe -S, HDF5 alignment of the bulk arrays (0: the directory's; aligned to 4 MiB)", 0, 4096)),
      output(num("checkpoint.cb_nodes", &Config::checkpoint_cb_nodes, "0", "ranks", "MPI-IO collective-buffering aggregators writing checkpoints, cb_nodes (0: the MPI library decides)", 0, 1e7)),
      output(num("checkpoint.cb_buffer_mb", &Config::checkpoint_cb_buffer_mb, "0", "MiB", "MPI-IO collective buffer per aggregator, cb_buffer_size (0: the MPI library decides)", 0, 4096)),
      output(style("solver.potential", &Config::solver_potential, "learning_equilibrium", solver_potentials().names(),
                   "potential V(q) of the Schroedinger operator: " + solver_potentials().help())),
      output(hbar_choice("solver.hbar", &Config::solver_hbar, "nelson", "hbar: nelson (2 T_q), mu (hbar_scale |mu|/2pi) or a positive number")),
      output(choice("solver.bc", &Config::solver_bc, "dirichlet", {"dirichlet", "periodic"}, "boundary condition of the solver grid")),
      output(num("solver.omega", &Config::solver_omega, "1", "1/time", "harmonic potential V = m omega^2 |q|^2 / 2", 0, kInf, true, true)),
      output(num("solver.n_eig", &Config::solver_n_eig, "6", "1", "eigenpairs of H to compute", 1, 1000)),
      output(num("solver.tdse_steps", &Config::solver_tdse_steps, "0", "steps", "Crank-Nicolson steps of i hbar dpsi/dt = H psi", 0, 1e9)),
      output(num("solver.dt", &Config::solver_dt, "0.001", "time", "Crank-Nicolson time step", 0, kInf, true, true)),
      output(num("solver.snapshots", &Config::solver_snapshots, "10", "1", "psi / density snapshots stored per evolution", 1, 1e5)),
      output(choice("solver.init", &Config::solver_init, "gaussian", {"eigen", "superposition", "gaussian"}, "initial psi of the TDSE")),
      output(num("solver.init_states", &Config::solver_init_states, "0", "1", "eigenstate indices for init = eigen|superposition", 0, 1e3)),
      output(num("solver.init_coeffs", &Config::solver_init_coeffs, "1,0", "1", "complex coefficients re,im per listed state", -1e6, 1e6)),
      output(per_dim("solver.packet_center", &Config::solver_packet_center, "0", "q", "Gaussian packet centre (1 or K values)", -1e6, 1e6)),
      output(num("solver.packet_width", &Config::solver_packet_width, "0.5", "q", "Gaussian packet width sigma", 0, kInf, true, true)),
      output(per_dim("solver.packet_momentum", &Config::solver_packet_momentum, "0", "hbar/q", "Gaussian packet momentum (1 or K values)",
          -1e6, 1e6)),
      output(num("solver.fp_steps", &Config::solver_fp_steps, "0", "steps", "implicit Fokker-Planck steps", 0, 1e9)),
      output(num("solver.fp_dt", &Config::solver_fp_dt, "0.01", "time", "Fokker-Planck time step", 0, kInf, true, true)),
      output(choice("solver.fp_init", &Config::solver_fp_init, "gaussian", {"gaussian", "results"},
             "initial density: Gaussian packet, or the first q histogram of solver.fp_results")),
      output(text("solver.fp_results", &Config::solver_fp_results, "", "gcnn results file for fp_init = results")),
      output(text("solver.petsc", &Config::solver_petsc, "", "extra PETSc options, e.g. \"-ksp_type gmres -pc_type ilu\"")),
      output(num("verify.burn_in", &Config::verify_burn_in, "0.3", "1", "verify: fraction of the pre-quench run discarded as burn-in", 0,
          0.95)),
      output(num("verify.blocks", &Config::verify_blocks, "10", "1", "verify: blocks for time-blocked error bars", 2, 1000)),
      output(num("verify.dynamics_samples", &Config::verify_dynamics_samples, "20", "samples", "verify: samples compared after a quench or t = 0", 2,
          1e6)),
    };
    set_users(specs);
    return specs;
  }();
  return specs;
}

std::string ParamSpec::range_text() const {
  std::ostringstream o;
  if (type == PT::Choice) {
    o << "one of {";
    for (size_t i = 0; i < choices.size(); ++i) o << (i ? ", " : "") << choices[i];
    o << "}";
    return o.str();
  }
  if (type == PT::Bool) return "true or false";
  if (type == PT::String) return "text";
  o << (lo_open ? "(" : "[") << lo << ", ";
  if (std::isinf(hi)) o << "inf"; else o << hi;
  o << (hi_open ? ")" : "]");
  return o.str();
}

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n\"");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n\"");
  return s.substr(b, e - b + 1);
}

[[noreturn]] void bad(const ParamSpec& s, const std::string& v, const std::string& why) {
  throw ConfigError(s.name + " = '" + v + "' " + why + "; allowed: " + s.range_text() +
                    (s.unit != "-" && s.unit != "1" ? " (" + s.unit + ")" : ""));
}

double to_real(const ParamSpec& s, const std::string& v) {
  size_t pos = 0;
  double x = 0;
  try { x = std::stod(v, &pos); } catch (...) { bad(s, v, "is not a number"); }
  if (pos != v.size() || !std::isfinite(x)) bad(s, v, "is not a finite number");
  const bool below = s.lo_open ? x <= s.lo : x < s.lo;
  const bool above = s.hi_open ? x >= s.hi : x > s.hi;
  if (below || above) bad(s, v, "is out of range");
  return x;
}

// An integer written in scientific notation ("1e15", "2.5e3"): accepted when
// its value is exactly an integer below 2^53 (exact in double).
int64_t scientific_int(const ParamSpec& s, const std::string& v) {
  size_t pos = 0;
  double x = 0;
  try { x = std::stod(v, &pos); } catch (...) { bad(s, v, "is not an integer"); }
  if (pos != v.size() || !std::isfinite(x)) bad(s, v, "is not an integer");
  if (x < s.lo || x > s.hi) bad(s, v, "is out of range");
  if (x != std::floor(x) || std::fabs(x) >= 0x1p53) bad(s, v, "is not an integer");
  return static_cast<int64_t>(x);
}

int64_t to_int(const ParamSpec& s, const std::string& v) {
  size_t pos = 0;
  long long x = 0;
  if (!v.empty() && v.find_first_of("eE") != std::string::npos &&
      v.find_first_not_of("0123456789+-.eE") == std::string::npos)
    return scientific_int(s, v);
  if (v.empty() || v.find_first_not_of("0123456789+-") != std::string::npos) bad(s, v, "is not an integer");
  try { x = std::stoll(v, &pos); } catch (...) { bad(s, v, "is not an integer in range"); }
  if (pos != v.size()) bad(s, v, "is not an integer");
  if (static_cast<double>(x) < s.lo || static_cast<double>(x) > s.hi) bad(s, v, "is out of range");
  return x;
}

std::vector<std::string> split_list(const std::string& v) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : v) {
    if (ch == ',' || ch == ' ') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

bool to_bool(const ParamSpec& s, const std::string& v) {
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  bad(s, v, "is not a boolean");
}

uint64_t to_uint64(const ParamSpec& s, const std::string& v) {
  if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) bad(s, v, "is not an integer");
  try { return std::stoull(v); } catch (...) { bad(s, v, "is out of range"); }
}

// ---- cross-parameter checks: each value valid, but impossible together ----

// Lists of 1 or K values: one value is broadcast to all K dimensions.
void fit_lists_to_K(Config& c, const std::map<std::string, std::string>& text) {
  for (const ParamSpec& s : parameter_specs())
    if (s.fit_to_K) s.fit_to_K(s, c, text.at(s.name));
}

void check_size(const Config& c) {
  if (static_cast<double>(c.M) * static_cast<double>(c.rho) > 4.0e18)
    throw ConfigError("model.M * model.rho = R is too large (R must stay below 4e18 neurons)");
}

void check_grid(const Config& c) {
  for (int k = 0; k < c.K; ++k)
    if (!(c.grid_lo[k] < c.grid_hi[k]))
      throw ConfigError("grid.lo must be below grid.hi in every dimension (dimension " + std::to_string(k) +
                        ": lo = " + std::to_string(c.grid_lo[k]) + ", hi = " + std::to_string(c.grid_hi[k]) + ")");
  if (static_cast<double>(c.grid_cells()) > 1.0e8)
    throw ConfigError("grid.n gives " + std::to_string(c.grid_cells()) +
                      " cells; the product of grid.n over the K dimensions must be <= 1e8");
}

// Without a confining loss the learning equilibrium e^{-Omega/T} is not
// normalisable on an open line.
void check_loss_confines(const Config& c) {
  if (!c.periodic && !make_boundary_loss(c)->confines())
    throw ConfigError("model.loss = " + c.loss + " needs model.periodic = true: without a confining loss the learning "
                      "equilibrium density e^{-Omega/T} is not normalisable");
}

void check_hbar_scan(const Config& c) {
  if (!(c.hbar_min < c.hbar_max)) throw ConfigError("observables.hbar_min must be below observables.hbar_max");
}

void check_quench(const Config& c) {
  if (c.quench_step > 0 && c.quench_step >= c.steps)
    throw ConfigError("quench.step = " + std::to_string(c.quench_step) + " is not before the end of the run (run.steps = " +
                      std::to_string(c.steps) + ")");
  if (c.quench_displace_fraction > 0) {
    // A tagged-minority quench moves networks in an unchanged landscape; a
    // changed U or mu on top would make it a collective quench again.
    if (c.quench_kappa_factor != 1 || c.quench_mu_shift != 0)
      throw ConfigError("quench.displace_fraction > 0 (tagged-minority quench: U and mu stay as they are) cannot be "
                        "combined with quench.kappa_factor != 1 or quench.mu_shift != 0");
    if (c.quench_step <= 0)
      throw ConfigError("quench.displace_fraction > 0 needs quench.step > 0: the step at which the tagged "
                        "networks are displaced");
    if (tagged_networks(c) == 0)
      throw ConfigError("quench.displace_fraction = " + std::to_string(c.quench_displace_fraction) +
                        " of model.M = " + std::to_string(c.M) + " networks rounds to no network");
  }
}

void check_tdse_init(const Config& c) {
  if (c.solver_init_coeffs.size() != 2 * c.solver_init_states.size() && c.solver_init == TdseInit::Superposition)
    throw ConfigError("solver.init_coeffs needs 2 numbers (re, im) per entry of solver.init_states");
  for (auto st : c.solver_init_states)
    if (st >= c.solver_n_eig)
      throw ConfigError("solver.init_states lists state " + std::to_string(st) + " but solver.n_eig = " +
                        std::to_string(c.solver_n_eig) + " computes only states 0.." +
                        std::to_string(c.solver_n_eig - 1));
}

}  // namespace

HbarChoice HbarChoice::parse(const std::string& text) {
  if (text == "nelson") return {Rule::Nelson, 0};
  if (text == "mu") return {Rule::Mu, 0};
  size_t pos = 0;
  double h = 0;
  try { h = std::stod(text, &pos); } catch (...) { pos = 0; }
  if (pos != text.size() || !(h > 0) || !std::isfinite(h))
    throw ConfigError("solver.hbar = '" + text + "' is not valid; allowed: nelson, mu or a positive number");
  return {Rule::Value, h};
}

std::string HbarChoice::text() const {
  if (rule == Rule::Nelson) return "nelson";
  if (rule == Rule::Mu) return "mu";
  std::ostringstream o;
  o.precision(17);
  o << value;
  return o.str();
}

int64_t GridParams::grid_cells() const {
  int64_t n = 1;
  for (auto g : grid_n) n *= g;
  return n;
}
double GridParams::cell_volume() const {
  double v = 1;
  for (size_t k = 0; k < grid_n.size(); ++k) v *= (grid_hi[k] - grid_lo[k]) / static_cast<double>(grid_n[k]);
  return v;
}
std::string Config::value(const std::string& key) const {
  for (auto& [k, v] : values)
    if (k == key) return v;
  throw ConfigError("no parameter named '" + key + "'");
}

// Every parameter through its binder, in table order, then the checks across
// parameters.
Config make_config(const std::vector<std::pair<std::string, std::string>>& raw) {
  std::map<std::string, std::string> given;
  for (auto& [k, v] : raw)
    if (!given.count(k)) given[k] = trim(v);  // first one wins: command line before file
  std::set<std::string> known;
  for (auto& s : parameter_specs()) known.insert(s.name);
  for (auto& [k, v] : given)
    if (!known.count(k)) throw ConfigError("unknown key '" + k + "' (gcnn config --help lists every key)");

  Config c;
  std::map<std::string, std::string> text;
  for (const ParamSpec& s : parameter_specs()) {
    const auto it = given.find(s.name);
    const std::string& v = it == given.end() ? s.def : it->second;
    s.store(s, c, v);
    text[s.name] = v;
    c.values.emplace_back(s.name, v);
  }
  fit_lists_to_K(c, text);
  if (c.n_max == 0) c.n_max = 4 * c.rho;
  check_size(c);
  check_grid(c);
  check_loss_confines(c);
  check_hbar_scan(c);
  check_quench(c);
  check_tdse_init(c);
  return c;
}

std::string CliRequest::extra_value(const std::string& key) const {
  for (auto& [k, v] : extra)
    if (k == key) return v;
  return "";
}

namespace {
po::options_description file_options() {
  po::options_description d;
  for (auto& s : parameter_specs()) d.add_options()(s.name.c_str(), po::value<std::string>());
  return d;
}
}  // namespace

CliRequest parse_command_line(int argc, const char* const* argv, const std::vector<std::string>& extra_flags) {
  po::options_description d = file_options();
  d.add_options()("config", po::value<std::string>())("output", po::value<std::string>())("overwrite", "")(
      "help,h", "")("version", "")("positional", po::value<std::vector<std::string>>());
  for (auto& e : extra_flags) d.add_options()(e.c_str(), po::value<std::string>());
  po::positional_options_description pos;
  pos.add("positional", -1);
  po::variables_map vm;
  CliRequest req;
  try {
    po::store(po::command_line_parser(argc, argv).options(d).positional(pos).run(), vm);
  } catch (const po::error& e) {
    throw ConfigError(std::string("command line: ") + e.what() + " (gcnn COMMAND --help lists its options)");
  }
  req.help = vm.count("help") > 0;
  req.version = vm.count("version") > 0;
  req.overwrite = vm.count("overwrite") > 0;
  if (vm.count("config")) req.config_path = vm["config"].as<std::string>();
  if (vm.count("positional")) req.positional = vm["positional"].as<std::vector<std::string>>();
  if (vm.count("output")) req.raw.emplace_back("output.file", vm["output"].as<std::string>());
  for (auto& s : parameter_specs())
    if (vm.count(s.name)) req.raw.emplace_back(s.name, vm[s.name].as<std::string>());
  for (auto& e : extra_flags)
    if (vm.count(e)) req.extra.emplace_back(e, vm[e].as<std::string>());
  return req;
}

void merge_config_text(CliRequest& req, const std::string& ini_text, const std::string& origin) {
  std::istringstream in(ini_text);
  po::variables_map vm;
  try {
    po::store(po::parse_config_file(in, file_options(), false), vm);
  } catch (const po::unknown_option& e) {
    throw ConfigError("config file '" + origin + "': unknown key '" + e.get_option_name() +
                      "' (gcnn config --help lists every key)");
  } catch (const po::error& e) {
    throw ConfigError("config file '" + origin + "': " + e.what());
  }
  // Command-line values were stored first and win.
  for (auto& s : parameter_specs())
    if (vm.count(s.name)) req.raw.emplace_back(s.name, vm[s.name].as<std::string>());
}

namespace {
// Subcommand usage lines: the top-level help lists them, each --help starts with its own.
const std::vector<std::pair<std::string, std::string>> kCommandUsage = {
    {"run", "run [--config FILE] [--output FILE.h5] [--resume PATH|latest] [--key VALUE ...]\n"
            "           simulate the grand canonical ensemble and write a results file (the default command)"},
    {"solve", "solve [--config FILE] [--output FILE.h5] [--key VALUE ...]\n"
              "           solve the derived Schroedinger / Fokker-Planck equations with PETSc/SLEPc"},
    {"verify", "verify --results FILE [--verify.KEY VALUE ...]\n"
               "           check a results file against docs/model.md section 6"},
    {"digest", "digest FILE\n           print the state digest stored in a results or checkpoint file"},
    {"config", "config [--config FILE] [--key VALUE ...]\n"
               "           validate a configuration (values, grid resolution) and print it complete, as INI"},
    {"bench", "bench [--bench.steps N | --bench.checkpoint DIR | --bench.solver 1|noeig] [--key VALUE ...]\n"
              "           print throughput figures of the hot loops"},
    {"version", "version, --version\n           print the version, the build and the library versions"},
};
}  // namespace

std::string help_text(const std::string& command) {
  std::ostringstream o;
  if (command.empty()) {
    o << "usage: gcnn <command> [options]   (mpirun -np P gcnn ... for more ranks)\n\ncommands:\n";
    for (const auto& [name, usage] : kCommandUsage) o << "  gcnn " << usage << "\n";
    o << "\ngcnn <command> --help lists the options and configuration keys that command reads;\n"
         "gcnn config --help lists every key with the commands that read it.\n";
    return o.str();
  }
  for (const auto& [name, usage] : kCommandUsage)
    if (name == command) o << "usage: gcnn " << usage << "\n\n";
  const bool keys = std::any_of(parameter_specs().begin(), parameter_specs().end(),
                                [&](const ParamSpec& s) { return s.used_by(command); });
  if (!keys) return o.str();
  o << "options:\n"
       "  --config FILE   INI file; [section] key = value, keys as listed below\n"
    << (std::any_of(parameter_specs().begin(), parameter_specs().end(),
                    [&](const ParamSpec& s) { return s.name == "output.file" && s.used_by(command); })
            ? "  --output FILE   same as --output.file\n  --overwrite     replace an existing output file\n"
            : "")
    << "  --<section>.<key> VALUE overrides the config file, e.g. --model.mu -2\n\n";
  o << "parameters read by gcnn " << command << ":\n";
  for (auto& s : parameter_specs()) {
    if (!s.used_by(command)) continue;
    o << "  " << s.name << "\n      " << s.help << "\n      default " << (s.def.empty() ? "(empty)" : s.def)
      << "; unit " << s.unit << "; allowed " << s.range_text()
      << (s.affects == Affects::Output && command == "run" ? "; may change on --resume" : "");
    if (command == "config") {
      o << "; read by";
      for (const std::string& c : s.commands) o << " " << c;
    }
    o << "\n";
  }
  return o.str();
}

std::string config_echo(const Config& c) {
  std::ostringstream o;
  std::string section;
  for (auto& [k, v] : c.values) {
    const auto dot = k.find('.');
    const std::string sec = k.substr(0, dot);
    if (sec != section) {
      o << (section.empty() ? "" : "\n") << "[" << sec << "]\n";
      section = sec;
    }
    o << k.substr(dot + 1) << " = " << v << "\n";
  }
  return o.str();
}

}  // namespace gcnn
