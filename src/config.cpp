#include "gcnn/config.hpp"

#include <boost/program_options.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <sstream>

namespace po = boost::program_options;

namespace gcnn {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

ParamSpec num(std::string name, ParamType t, std::string def, std::string unit, std::string help,
              double lo, double hi, bool lo_open = false, bool hi_open = false) {
  ParamSpec s{std::move(name), t, std::move(def), std::move(unit), std::move(help), -1e308, 1e308, false, false, {}};
  s.lo = lo; s.hi = hi; s.lo_open = lo_open; s.hi_open = hi_open;
  return s;
}
ParamSpec choice(std::string name, std::string def, std::vector<std::string> ch, std::string help) {
  ParamSpec s{std::move(name), ParamType::Choice, std::move(def), "-", std::move(help), -1e308, 1e308, false, false, {}};
  s.choices = std::move(ch);
  return s;
}
ParamSpec text(std::string name, std::string def, std::string help) {
  return ParamSpec{std::move(name), ParamType::String, std::move(def), "-", std::move(help), -1e308, 1e308, false, false, {}};
}
ParamSpec flag(std::string name, std::string def, std::string help) {
  return ParamSpec{std::move(name), ParamType::Bool, std::move(def), "-", std::move(help), -1e308, 1e308, false, false, {}};
}
using PT = ParamType;
}  // namespace

// The defaults are the built-in demo: a 1-D double-well ensemble of 4096
// networks that equilibrates in well under a minute on two cores.
const std::vector<ParamSpec>& parameter_specs() {
  static const std::vector<ParamSpec> specs = {
      num("model.M", PT::Int, "4096", "networks", "ensemble size M", 1, 1e15),
      num("model.K", PT::Int, "1", "1", "dimension K of the trainable vector q", 1, 3),
      num("model.rho", PT::Int, "64", "neurons/network", "neurons per network; R = rho*M", 1, 1e6),
      num("model.sigma_w", PT::Real, "0.3", "energy/q", "std. dev. of neuron weights w_i", 0, kInf, false, true),
      num("model.sigma_c", PT::Real, "0.3", "energy", "std. dev. of neuron biases c_i", 0, kInf, false, true),
      num("model.T", PT::Real, "1", "energy", "temperature T of the hidden neurons", 0, kInf, true, true),
      num("model.mu", PT::Real, "-1.5", "energy", "chemical potential mu of neurons", -1e6, 1e6),
      choice("model.loss", "double_well", {"harmonic", "double_well", "none"},
             "boundary loss U(q): harmonic 0.5*kappa*|q-q0|^2; double_well kappa*sum_k (q_k^2-s^2)^2; none"),
      num("model.kappa", PT::Real, "1", "energy/q^2 or energy/q^4", "stiffness of U", 0, kInf, true, true),
      num("model.s", PT::Real, "1", "q", "double_well: minima at q_k = +-s", 0, kInf, true, true),
      num("model.q0", PT::RealList, "0", "q", "centre q0 of U, harmonic and double_well (1 or K values)", -1e6, 1e6),
      flag("model.periodic", "false", "periodic q, box = [grid.lo, grid.hi)"),
      choice("learning.mode", "mala", {"mean", "sampled", "mala", "frozen"},
             "gradient: mean = exact grad F; sampled = Ising-sampled; mala = Metropolis-adjusted "
             "Langevin; frozen = q never moves (exchange tests)"),
      num("learning.gamma", PT::Real, "1", "q^2/(energy time)", "learning rate gamma (mobility), m = 1/gamma", 0,
          kInf, true, true),
      num("learning.eta", PT::Real, "0.004", "time", "integration step eta; t = step*eta", 0, kInf, true, true),
      num("learning.Tq", PT::Real, "1", "energy", "learning-noise temperature T_q (T_q = T: learning equilibrium)", 0,
          kInf, true, true),
      num("exchange.every", PT::Int, "2", "steps", "learning steps between exchange sweeps (0: no exchange)", 0, 1e15),
      num("init.q_center", PT::RealList, "0", "q", "centre of the initial q distribution (1 or K values)", -1e6, 1e6),
      num("init.q_width", PT::Real, "1", "q", "std. dev. of the initial q distribution", 0, kInf, false, true),
      choice("init.mode", "gaussian", {"gaussian", "two_packets"},
             "initial q: one Gaussian, or two sub-ensembles (superposition experiment, MODEL 6.8)"),
      num("init.q_center2", PT::RealList, "0", "q", "two_packets: centre of the second sub-ensemble", -1e6, 1e6),
      num("init.fraction2", PT::Real, "0.5", "1", "two_packets: fraction of networks in the second", 0, 1),
      num("quench.step", PT::Int, "0", "steps", "quench experiment: steps >= this use the changed U and mu (0: none)",
          0, 1e14),
      num("quench.shift", PT::RealList, "0", "q", "quench: shift of the centre of U (1 or K values)", -1e6, 1e6),
      num("quench.kappa_factor", PT::Real, "1", "1", "quench: kappa is multiplied by this", 0, kInf, true, true),
      num("quench.mu_shift", PT::Real, "0", "energy", "quench: mu changes by this", -1e6, 1e6),
      num("quench.displace_fraction", PT::Real, "0", "1",
          "tagged-minority quench: > 0 leaves U and mu unchanged and instead moves q of the networks with id "
          "a < round(fraction*M) by quench.shift at quench.step (the bulk stays at equilibrium)",
          0, 1),
      num("quench.dense_every", PT::Int, "0", "steps", "sample interval in the window after the quench (0: sample_every)",
          0, 1e14),
      num("quench.dense_steps", PT::Int, "0", "steps", "length of the densely sampled window after the quench", 0,
          1e14),
      num("run.steps", PT::Int, "10000", "steps", "learning steps to run", 0, 1e14),
      num("run.seed", PT::Int, "20211", "1", "seed of every random stream", 0, 1.8e19),
      num("run.progress_seconds", PT::Real, "5", "s", "wall-clock interval of progress lines (0: none)", 0, kInf,
          false, true),
      num("grid.lo", PT::RealList, "-2.5", "q", "lower grid edge (1 or K values)", -1e6, 1e6),
      num("grid.hi", PT::RealList, "2.5", "q", "upper grid edge (1 or K values)", -1e6, 1e6),
      num("grid.n", PT::IntList, "100", "cells", "grid cells per dimension (1 or K values)", 2, 1e6),
      num("observables.sample_every", PT::Int, "50", "steps", "steps between samples", 1, 1e14),
      num("observables.n_max", PT::Int, "0", "neurons", "upper edge of the N histogram (0: 4*rho)", 0, 1e7),
      num("observables.hbar_min", PT::Real, "0.01", "energy time", "smallest hbar of the coherence scan", 0, kInf,
          true, true),
      num("observables.hbar_max", PT::Real, "10", "energy time", "largest hbar of the coherence scan", 0, kInf, true,
          true),
      num("observables.hbar_n", PT::Int, "48", "1", "points of the log-spaced hbar scan", 2, 1e5),
      num("observables.hbar_scale", PT::Real, "1", "1", "hbar_mu = hbar_scale*|mu|/(2 pi)", 0, kInf, true, true),
      num("observables.sector_exact_max", PT::Int, "2048", "neurons",
          "exact e_N for the sector free energy when R <= this, else Poisson form", 0, 1e7),
      num("observables.particles", PT::Int, "0", "networks", "networks stored in /particles each sample", 0, 1e9),
      num("observables.nq_cells", PT::Int, "10", "cells",
          "n_given_q: pooled q cells per axis, min(this, grid.n) contiguous blocks of fine cells", 1, 1e6),
      text("output.file", "gcnn_results.h5", "results file (HDF5)"),
      num("checkpoint.every", PT::Int, "0", "steps", "learning steps between checkpoints (0: none)", 0, 1e14),
      num("checkpoint.minutes", PT::Real, "0", "min", "wall-clock minutes between checkpoints (0: none)", 0, kInf,
          false, true),
      num("checkpoint.keep", PT::Int, "2", "files", "checkpoints kept (older ones are deleted)", 1, 1e6),
      flag("checkpoint.at_end", "true", "write a checkpoint at the last step"),
      text("checkpoint.dir", "", "checkpoint directory (empty: output.file without .h5, plus .ckpt)"),
      choice("solver.potential", "learning_equilibrium", {"learning_equilibrium", "harmonic", "double_well", "free"},
             "potential V(q) of the Schroedinger operator"),
      text("solver.hbar", "nelson", "hbar: nelson (2 T_q), mu (hbar_scale |mu|/2pi) or a positive number"),
      choice("solver.bc", "dirichlet", {"dirichlet", "periodic"}, "boundary condition of the solver grid"),
      num("solver.omega", PT::Real, "1", "1/time", "harmonic potential V = m omega^2 |q|^2 / 2", 0, kInf, true, true),
      num("solver.n_eig", PT::Int, "6", "1", "eigenpairs of H to compute", 1, 1000),
      num("solver.tdse_steps", PT::Int, "0", "steps", "Crank-Nicolson steps of i hbar dpsi/dt = H psi", 0, 1e9),
      num("solver.dt", PT::Real, "0.001", "time", "Crank-Nicolson time step", 0, kInf, true, true),
      num("solver.snapshots", PT::Int, "10", "1", "psi / density snapshots stored per evolution", 1, 1e5),
      choice("solver.init", "gaussian", {"eigen", "superposition", "gaussian"}, "initial psi of the TDSE"),
      num("solver.init_states", PT::IntList, "0", "1", "eigenstate indices for init = eigen|superposition", 0, 1e3),
      num("solver.init_coeffs", PT::RealList, "1,0", "1", "complex coefficients re,im per listed state", -1e6, 1e6),
      num("solver.packet_center", PT::RealList, "0", "q", "Gaussian packet centre (1 or K values)", -1e6, 1e6),
      num("solver.packet_width", PT::Real, "0.5", "q", "Gaussian packet width sigma", 0, kInf, true, true),
      num("solver.packet_momentum", PT::RealList, "0", "hbar/q", "Gaussian packet momentum (1 or K values)",
          -1e6, 1e6),
      num("solver.fp_steps", PT::Int, "0", "steps", "implicit Fokker-Planck steps", 0, 1e9),
      num("solver.fp_dt", PT::Real, "0.01", "time", "Fokker-Planck time step", 0, kInf, true, true),
      choice("solver.fp_init", "gaussian", {"gaussian", "results"},
             "initial density: Gaussian packet, or the first q histogram of solver.fp_results"),
      text("solver.fp_results", "", "gcnn results file for fp_init = results"),
      num("verify.burn_in", PT::Real, "0.3", "1", "verify: fraction of the pre-quench run discarded as burn-in", 0,
          0.95),
      num("verify.blocks", PT::Int, "10", "1", "verify: blocks for time-blocked error bars", 2, 1000),
      num("verify.dynamics_samples", PT::Int, "20", "samples", "verify: samples compared after a quench or t = 0", 2,
          1e6),
      text("solver.petsc", "", "extra PETSc options, e.g. \"-ksp_type gmres -pc_type ilu\""),
  };
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

int64_t to_int(const ParamSpec& s, const std::string& v) {
  size_t pos = 0;
  long long x = 0;
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

}  // namespace

int64_t Config::grid_cells() const {
  int64_t n = 1;
  for (auto g : grid_n) n *= g;
  return n;
}
double Config::cell_volume() const {
  double v = 1;
  for (int k = 0; k < K; ++k) v *= (grid_hi[k] - grid_lo[k]) / static_cast<double>(grid_n[k]);
  return v;
}
std::string Config::value(const std::string& key) const {
  for (auto& [k, v] : values)
    if (k == key) return v;
  throw ConfigError("no parameter named '" + key + "'");
}

Config make_config(const std::vector<std::pair<std::string, std::string>>& raw) {
  std::map<std::string, std::string> given;
  for (auto& [k, v] : raw)
    if (!given.count(k)) given[k] = trim(v);  // first one wins: command line before file
  std::map<std::string, const ParamSpec*> by_name;
  for (auto& s : parameter_specs()) by_name[s.name] = &s;
  for (auto& [k, v] : given)
    if (!by_name.count(k)) throw ConfigError("unknown key '" + k + "' (gcnn run --help lists every key)");

  Config c;
  std::map<std::string, std::string> text_of;
  auto get = [&](const std::string& key) -> std::pair<const ParamSpec&, std::string> {
    const ParamSpec& s = *by_name.at(key);
    auto it = given.find(key);
    return {s, it == given.end() ? s.def : it->second};
  };
  auto real = [&](const std::string& key) { auto [s, v] = get(key); text_of[key] = v; return to_real(s, v); };
  auto integer = [&](const std::string& key) { auto [s, v] = get(key); text_of[key] = v; return to_int(s, v); };
  auto str = [&](const std::string& key) {
    auto [s, v] = get(key);
    text_of[key] = v;
    if (s.type == PT::Choice) {
      bool ok = false;
      for (auto& ch : s.choices) ok = ok || ch == v;
      if (!ok) bad(s, v, "is not a valid choice");
    }
    return v;
  };
  auto boolean = [&](const std::string& key) {
    auto [s, v] = get(key);
    text_of[key] = v;
    if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
    if (v == "false" || v == "0" || v == "no" || v == "off") return false;
    bad(s, v, "is not a boolean");
  };
  // Lists take 1 value (broadcast to all K dimensions) or exactly `len`.
  auto reals = [&](const std::string& key, int len) {
    auto [s, v] = get(key);
    text_of[key] = v;
    std::vector<double> out;
    for (auto& item : split_list(v)) out.push_back(to_real(s, item));
    if (len > 0) {
      if (out.size() == 1) out.assign(len, out[0]);
      if (static_cast<int>(out.size()) != len) bad(s, v, "must have 1 or " + std::to_string(len) + " values");
    }
    return out;
  };
  auto ints = [&](const std::string& key, int len) {
    auto [s, v] = get(key);
    text_of[key] = v;
    std::vector<int64_t> out;
    for (auto& item : split_list(v)) out.push_back(to_int(s, item));
    if (len > 0) {
      if (out.size() == 1) out.assign(len, out[0]);
      if (static_cast<int>(out.size()) != len) bad(s, v, "must have 1 or " + std::to_string(len) + " values");
    }
    return out;
  };

  c.M = integer("model.M");
  c.K = static_cast<int>(integer("model.K"));
  c.rho = integer("model.rho");
  c.sigma_w = real("model.sigma_w");
  c.sigma_c = real("model.sigma_c");
  c.T = real("model.T");
  c.mu = real("model.mu");
  const std::string loss = str("model.loss");
  c.loss = loss == "harmonic" ? LossKind::Harmonic : loss == "double_well" ? LossKind::DoubleWell : LossKind::None;
  c.kappa = real("model.kappa");
  c.s = real("model.s");
  c.q0 = reals("model.q0", c.K);
  c.periodic = boolean("model.periodic");
  const std::string mode = str("learning.mode");
  c.mode = mode == "mean" ? GradMode::Mean : mode == "sampled" ? GradMode::Sampled
         : mode == "mala" ? GradMode::Mala : GradMode::Frozen;
  c.gamma = real("learning.gamma");
  c.eta = real("learning.eta");
  c.Tq = real("learning.Tq");
  c.exchange_every = integer("exchange.every");
  c.init_center = reals("init.q_center", c.K);
  c.init_width = real("init.q_width");
  c.init_two_packets = str("init.mode") == "two_packets";
  c.init_center2 = reals("init.q_center2", c.K);
  c.init_fraction2 = real("init.fraction2");
  c.quench_step = integer("quench.step");
  c.quench_shift = reals("quench.shift", c.K);
  c.quench_kappa_factor = real("quench.kappa_factor");
  c.quench_mu_shift = real("quench.mu_shift");
  c.quench_displace_fraction = real("quench.displace_fraction");
  c.quench_dense_every = integer("quench.dense_every");
  c.quench_dense_steps = integer("quench.dense_steps");
  c.steps = integer("run.steps");
  {
    auto [s, v] = get("run.seed");
    text_of["run.seed"] = v;
    if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) bad(s, v, "is not an integer");
    try { c.seed = std::stoull(v); } catch (...) { bad(s, v, "is out of range"); }
  }
  c.progress_seconds = real("run.progress_seconds");
  c.grid_lo = reals("grid.lo", c.K);
  c.grid_hi = reals("grid.hi", c.K);
  c.grid_n = ints("grid.n", c.K);
  c.sample_every = integer("observables.sample_every");
  c.n_max = integer("observables.n_max");
  c.hbar_min = real("observables.hbar_min");
  c.hbar_max = real("observables.hbar_max");
  c.hbar_n = integer("observables.hbar_n");
  c.hbar_scale = real("observables.hbar_scale");
  c.sector_exact_max = integer("observables.sector_exact_max");
  c.particles = integer("observables.particles");
  c.nq_cells = integer("observables.nq_cells");
  c.output = str("output.file");
  c.checkpoint_every = integer("checkpoint.every");
  c.checkpoint_minutes = real("checkpoint.minutes");
  c.checkpoint_keep = integer("checkpoint.keep");
  c.checkpoint_at_end = boolean("checkpoint.at_end");
  c.checkpoint_dir = str("checkpoint.dir");
  c.solver_potential = str("solver.potential");
  c.solver_hbar = str("solver.hbar");
  c.solver_bc = str("solver.bc");
  c.solver_omega = real("solver.omega");
  c.solver_n_eig = integer("solver.n_eig");
  c.solver_tdse_steps = integer("solver.tdse_steps");
  c.solver_dt = real("solver.dt");
  c.solver_snapshots = integer("solver.snapshots");
  c.solver_init = str("solver.init");
  c.solver_init_states = ints("solver.init_states", 0);
  c.solver_init_coeffs = reals("solver.init_coeffs", 0);
  c.solver_packet_center = reals("solver.packet_center", c.K);
  c.solver_packet_width = real("solver.packet_width");
  c.solver_packet_momentum = reals("solver.packet_momentum", c.K);
  c.solver_fp_steps = integer("solver.fp_steps");
  c.solver_fp_dt = real("solver.fp_dt");
  c.solver_fp_init = str("solver.fp_init");
  c.solver_fp_results = str("solver.fp_results");
  c.solver_petsc = str("solver.petsc");
  c.verify_burn_in = real("verify.burn_in");
  c.verify_blocks = integer("verify.blocks");
  c.verify_dynamics_samples = integer("verify.dynamics_samples");

  // Cross-parameter checks: things that are each valid but impossible together.
  if (c.n_max == 0) c.n_max = 4 * c.rho;
  if (static_cast<double>(c.M) * static_cast<double>(c.rho) > 4.0e18)
    throw ConfigError("model.M * model.rho = R is too large (R must stay below 4e18 neurons)");
  for (int k = 0; k < c.K; ++k)
    if (!(c.grid_lo[k] < c.grid_hi[k]))
      throw ConfigError("grid.lo must be below grid.hi in every dimension (dimension " + std::to_string(k) +
                        ": lo = " + std::to_string(c.grid_lo[k]) + ", hi = " + std::to_string(c.grid_hi[k]) + ")");
  if (static_cast<double>(c.grid_cells()) > 1.0e8)
    throw ConfigError("grid.n gives " + std::to_string(c.grid_cells()) +
                      " cells; the product of grid.n over the K dimensions must be <= 1e8");
  if (c.loss == LossKind::None && !c.periodic)
    throw ConfigError("model.loss = none needs model.periodic = true: without a confining loss the learning "
                      "equilibrium density e^{-Omega/T} is not normalisable");
  if (!(c.hbar_min < c.hbar_max))
    throw ConfigError("observables.hbar_min must be below observables.hbar_max");
  if (c.solver_hbar != "nelson" && c.solver_hbar != "mu") {
    const ParamSpec& s = *by_name.at("solver.hbar");
    size_t pos = 0;
    double h = 0;
    try { h = std::stod(c.solver_hbar, &pos); } catch (...) { pos = 0; }
    if (pos != c.solver_hbar.size() || !(h > 0) || !std::isfinite(h))
      throw ConfigError(s.name + " = '" + c.solver_hbar + "' is not valid; allowed: nelson, mu or a positive number");
  }
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
  if (c.solver_init_coeffs.size() != 2 * c.solver_init_states.size() && c.solver_init == "superposition")
    throw ConfigError("solver.init_coeffs needs 2 numbers (re, im) per entry of solver.init_states");
  for (auto st : c.solver_init_states)
    if (st >= c.solver_n_eig)
      throw ConfigError("solver.init_states lists state " + std::to_string(st) + " but solver.n_eig = " +
                        std::to_string(c.solver_n_eig) + " computes only states 0.." +
                        std::to_string(c.solver_n_eig - 1));

  for (auto& s : parameter_specs()) c.values.emplace_back(s.name, text_of.count(s.name) ? text_of[s.name] : s.def);
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
    throw ConfigError(std::string("command line: ") + e.what() + " (gcnn --help lists every option)");
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
                      "' (gcnn run --help lists every key)");
  } catch (const po::error& e) {
    throw ConfigError("config file '" + origin + "': " + e.what());
  }
  // Command-line values were stored first and win.
  for (auto& s : parameter_specs())
    if (vm.count(s.name)) req.raw.emplace_back(s.name, vm[s.name].as<std::string>());
}

std::string help_text(const std::string& command) {
  std::ostringstream o;
  o << "usage: gcnn <command> [options]\n\n"
       "commands:\n"
       "  run      simulate the grand canonical ensemble and write a results file\n"
       "  solve    solve the derived Schroedinger / Fokker-Planck equations with PETSc/SLEPc\n"
       "  verify   check a results file against MODEL.md section 6: gcnn verify --results FILE\n"
       "  digest   print the state digest stored in a results or checkpoint file: gcnn digest FILE\n"
       "  config   validate a configuration and print it complete, as INI\n"
       "  bench    print throughput figures of the hot loops\n\n"
       "common options:\n"
       "  --config FILE   INI file; [section] key = value, keys as listed below\n"
       "  --output FILE   same as --output.file\n"
       "  --overwrite     replace an existing output file\n"
       "  --help, --version\n"
       "  --<section>.<key> VALUE overrides the config file, e.g. --model.mu -2\n\n";
  o << "parameters (" << (command.empty() ? "all commands" : command) << "):\n";
  for (auto& s : parameter_specs()) {
    o << "  " << s.name << "\n      " << s.help << "\n      default " << (s.def.empty() ? "(empty)" : s.def)
      << "; unit " << s.unit << "; allowed " << s.range_text() << "\n";
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

namespace gcnn {

Config physics_at(const Config& c, uint64_t step) {
  if (c.quench_step <= 0 || step < static_cast<uint64_t>(c.quench_step)) return c;
  if (c.quench_displace_fraction > 0) return c;  // tagged minority: the networks move, the physics does not
  Config q = c;
  for (int k = 0; k < c.K; ++k) q.q0[k] += c.quench_shift[k];
  q.kappa *= c.quench_kappa_factor;
  q.mu += c.quench_mu_shift;
  q.quench_step = 0;  // the changed physics itself has no further quench
  return q;
}

int64_t tagged_networks(const Config& c) {
  if (c.quench_displace_fraction <= 0) return 0;
  return std::min<int64_t>(c.M, std::llround(c.quench_displace_fraction * static_cast<double>(c.M)));
}

bool sample_due(const Config& c, uint64_t step) {
  if (step % static_cast<uint64_t>(c.sample_every) == 0 || step == static_cast<uint64_t>(c.steps)) return true;
  if (c.quench_step > 0 && c.quench_dense_every > 0) {
    const uint64_t s0 = static_cast<uint64_t>(c.quench_step);
    if (step >= s0 && step - s0 <= static_cast<uint64_t>(c.quench_dense_steps) &&
        (step - s0) % static_cast<uint64_t>(c.quench_dense_every) == 0)
      return true;
  }
  return false;
}

}  // namespace gcnn
