// Configuration: defaults, INI + command line precedence, and one clear
// message naming the key for every kind of bad input.
#include <gtest/gtest.h>

#include <set>

#include "gcnn/boundary_loss.hpp"
#include "gcnn/config.hpp"
#include "gcnn/learning_step.hpp"
#include "gcnn/solver_potential.hpp"
#include "gcnn/schedule.hpp"
#include "test_util.hpp"

namespace {
using gcnn::ConfigError;
using gcnn::make_config;

std::string error_of(std::vector<std::pair<std::string, std::string>> kv) {
  try {
    make_config(kv);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Config, DefaultsAreTheDemo) {
  const auto c = make_config({});
  EXPECT_EQ(c.M, 4096);
  EXPECT_EQ(c.K, 1);
  EXPECT_EQ(c.rho, 64);
  EXPECT_EQ(c.R(), 4096 * 64);
  EXPECT_EQ(c.loss, "double_well");
  EXPECT_EQ(c.n_max, 4 * 64);  // 0 means 4*rho
  ASSERT_EQ(c.grid_n.size(), 1u);
  EXPECT_EQ(c.values.size(), gcnn::parameter_specs().size());
}

TEST(Config, BadValuesNameTheKeyAndTheRange) {
  struct Case { std::vector<std::pair<std::string, std::string>> kv; std::string needle; };
  const std::vector<Case> cases = {
      {{{"model.T", "-1"}}, "model.T = '-1' is out of range; allowed: (0, inf)"},
      {{{"model.T", "0"}}, "model.T = '0' is out of range"},
      {{{"model.K", "4"}}, "model.K = '4' is out of range; allowed: [1, 3]"},
      {{{"model.M", "0"}}, "model.M = '0' is out of range"},
      {{{"model.M", "12abc"}}, "model.M = '12abc' is not an integer"},
      {{{"model.M", "1.5e0"}}, "model.M = '1.5e0' is not an integer"},
      {{{"model.M", "1e16"}}, "model.M = '1e16' is out of range"},
      {{{"model.mu", "lots"}}, "model.mu = 'lots' is not a number"},
      {{{"model.loss", "quartic"}}, "one of {harmonic, double_well, none}"},
      {{{"model.nonsense", "1"}}, "unknown key 'model.nonsense'"},
      {{{"grid.lo", "3"}}, "grid.lo must be below grid.hi"},
      {{{"grid.n", "1"}}, "grid.n = '1' is out of range"},
      {{{"model.K", "2"}, {"grid.n", "10,10,10"}}, "must have 1 or 2 values"},
      {{{"model.K", "3"}, {"grid.n", "1000"}}, "must be <= 1e8"},
      {{{"model.loss", "none"}}, "model.loss = none needs model.periodic = true"},
      {{{"model.periodic", "maybe"}}, "model.periodic = 'maybe' is not a boolean"},
      {{{"solver.hbar", "-2"}}, "solver.hbar = '-2' is not valid"},
  };
  for (const auto& c : cases) {
    const std::string msg = error_of(c.kv);
    EXPECT_NE(msg.find(c.needle), std::string::npos) << "message was: '" << msg << "'";
  }
}

TEST(Config, CommandLineOverridesIniFile) {
  const char* argv[] = {"run", "--model.mu", "-3", "--config", "x.ini"};
  auto req = gcnn::parse_command_line(5, argv);
  EXPECT_EQ(req.config_path, "x.ini");
  gcnn::merge_config_text(req, "[model]\nmu = -1\nM = 77\n", "x.ini");
  const auto c = make_config(req.raw);
  EXPECT_DOUBLE_EQ(c.mu, -3.0);
  EXPECT_EQ(c.M, 77);
}

TEST(Config, UnknownKeyInIniFileIsNamed) {
  gcnn::CliRequest req;
  try {
    gcnn::merge_config_text(req, "[model]\nmuu = 1\n", "typo.ini");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("typo.ini"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("model.muu"), std::string::npos) << e.what();
  }
}

TEST(Config, EchoReproducesTheConfiguration) {
  EXPECT_EQ(make_config({{"model.M", "1e15"}}).M, 1000000000000000);  // scientific notation, exactly integral
  EXPECT_EQ(make_config({{"model.M", "2.5e3"}}).M, 2500);
  const auto a = make_config({{"model.M", "123"}, {"model.K", "2"}, {"grid.n", "8,9"}, {"model.mu", "-2.5"}});
  gcnn::CliRequest req;
  gcnn::merge_config_text(req, gcnn::config_echo(a), "echo");
  const auto b = make_config(req.raw);
  EXPECT_EQ(a.values, b.values);
}

}  // namespace

namespace {

// Tagged-minority quench (docs/model.md §4, last paragraph): the landscape stays,
// round(f M) networks move; anything that would also change U or mu is refused.
TEST(Config, TaggedQuenchKeepsThePhysicsAndCountsTheTaggedNetworks) {
  const auto c = gcnn::test::config({{"model.M", "8192"}, {"model.loss", "harmonic"}, {"model.kappa", "4"},
                                     {"quench.step", "40"}, {"quench.shift", "0.8"},
                                     {"quench.displace_fraction", "0.25"}});
  EXPECT_EQ(gcnn::tagged_networks(c), 2048);
  for (uint64_t step : {uint64_t{0}, uint64_t{39}, uint64_t{40}, uint64_t{5000}}) {
    const auto p = gcnn::physics_at(c, step);
    EXPECT_EQ(p.q0, c.q0) << "U's centre moved at step " << step;
    EXPECT_EQ(p.kappa, c.kappa);
    EXPECT_EQ(p.mu, c.mu);
  }
  // round(f M), not floor: 0.3 * 10 is 2.9999999999999996 in binary.
  EXPECT_EQ(gcnn::tagged_networks(gcnn::test::config(
                {{"model.M", "10"}, {"quench.step", "5"}, {"quench.displace_fraction", "0.3"}})),
            3);
  EXPECT_EQ(gcnn::tagged_networks(gcnn::test::config({{"model.M", "10"}, {"quench.step", "5"},
                                                      {"quench.displace_fraction", "1"}})),
            10);
  // A collective quench has no tagged networks and shifts U.
  const auto q = gcnn::test::config({{"quench.step", "40"}, {"quench.shift", "0.8"}});
  EXPECT_EQ(gcnn::tagged_networks(q), 0);
  EXPECT_EQ(gcnn::physics_at(q, 40).q0[0], q.q0[0] + 0.8);
}

TEST(Config, TaggedQuenchRefusesAChangedLandscape) {
  const std::vector<std::pair<std::string, std::string>> base = {{"quench.step", "40"}, {"quench.shift", "0.5"},
                                                                 {"quench.displace_fraction", "0.25"}};
  auto with = [&](std::pair<std::string, std::string> extra) {  // the first value of a key wins
    std::vector<std::pair<std::string, std::string>> kv = {std::move(extra)};
    kv.insert(kv.end(), base.begin(), base.end());
    return error_of(kv);
  };
  EXPECT_EQ(error_of(base), "");
  const std::string landscape = "cannot be combined with quench.kappa_factor != 1 or quench.mu_shift != 0";
  EXPECT_NE(with({"quench.kappa_factor", "2"}).find(landscape), std::string::npos);
  EXPECT_NE(with({"quench.mu_shift", "-0.1"}).find(landscape), std::string::npos);
  EXPECT_NE(with({"quench.step", "0"}).find("needs quench.step > 0"), std::string::npos);
  EXPECT_NE(with({"model.M", "1"}).find("rounds to no network"), std::string::npos);  // round(0.25) = 0
  EXPECT_NE(with({"quench.displace_fraction", "1.5"}).find("quench.displace_fraction = '1.5' is out of range"),
            std::string::npos);
}

}  // namespace

namespace {

using KV = std::vector<std::pair<std::string, std::string>>;

// Two configurations that between them give every parameter a value other
// than its default (a collective and a tagged-minority quench cannot be one
// run). A parameter added to the table without a line here fails the test.
KV every_parameter_changed(bool tagged) {
  KV kv = {
      {"model.M", "300"}, {"model.K", "2"}, {"model.rho", "16"}, {"model.sigma_w", "0.5"}, {"model.sigma_c", "0.4"},
      {"model.T", "1.5"}, {"model.mu", "-2"}, {"model.loss", "harmonic"}, {"model.kappa", "3"}, {"model.s", "0.7"},
      {"model.q0", "0.1, 0.2"}, {"model.periodic", "true"}, {"learning.mode", "sampled"}, {"learning.gamma", "2"},
      {"learning.eta", "0.01"}, {"learning.Tq", "1.2"}, {"exchange.every", "3"}, {"init.q_center", "0.3"},
      {"init.q_width", "0.5"}, {"init.mode", "two_packets"}, {"init.q_center2", "-0.3,0.4"},
      {"init.fraction2", "0.25"}, {"quench.step", "50"}, {"quench.shift", "0.2"}, {"quench.dense_every", "2"},
      {"quench.dense_steps", "20"}, {"run.steps", "100"}, {"run.seed", "12345678901234567890"},
      {"run.progress_seconds", "0"}, {"run.max_hours", "2.5"}, {"grid.lo", "-2,-3"}, {"grid.hi", "3"}, {"grid.n", "20,30"}, {"grid.check", "false"},
      {"observables.sample_every", "7"}, {"observables.n_max", "40"}, {"observables.hbar_min", "0.02"},
      {"observables.hbar_max", "5"}, {"observables.hbar_n", "10"}, {"observables.hbar_scale", "2"},
      {"observables.sector_exact_max", "100"}, {"observables.particles", "5"}, {"observables.nq_cells", "4"},
      {"output.file", "x.h5"}, {"checkpoint.every", "10"}, {"checkpoint.minutes", "1.5"}, {"checkpoint.keep", "3"},
      {"checkpoint.at_end", "false"}, {"checkpoint.dir", "/tmp/ck"}, {"checkpoint.stripe_count", "4"},
      {"checkpoint.stripe_size_mb", "2"}, {"checkpoint.cb_nodes", "3"}, {"checkpoint.cb_buffer_mb", "8"}, {"solver.potential", "harmonic"},
      {"solver.hbar", "0.75"}, {"solver.bc", "periodic"}, {"solver.omega", "2"}, {"solver.n_eig", "8"},
      {"solver.tdse_steps", "5"}, {"solver.dt", "0.002"}, {"solver.snapshots", "3"}, {"solver.init", "superposition"},
      {"solver.init_states", "0,2"}, {"solver.init_coeffs", "1,0,0,1"}, {"solver.packet_center", "0.5"},
      {"solver.packet_width", "0.3"}, {"solver.packet_momentum", "1,2"}, {"solver.fp_steps", "4"},
      {"solver.fp_dt", "0.02"}, {"solver.fp_init", "results"}, {"solver.fp_results", "r.h5"},
      {"solver.petsc", "-ksp_type gmres -pc_type ilu"}, {"verify.burn_in", "0.2"}, {"verify.blocks", "5"},
      {"verify.dynamics_samples", "8"}};
  if (tagged) kv.insert(kv.begin(), {"quench.displace_fraction", "0.5"});
  else kv.insert(kv.begin(), {{"quench.kappa_factor", "2"}, {"quench.mu_shift", "0.5"}});
  return kv;
}

gcnn::Config echoed(const gcnn::Config& c) {
  gcnn::CliRequest req;
  gcnn::merge_config_text(req, gcnn::config_echo(c), "echo");
  return make_config(req.raw);
}

// Each parameter is declared once, with the member it binds to: a value
// given for it lands in that member (it differs from the default), and the
// INI echo of a run reads back to the same members, key by key.
TEST(Config, EveryParameterRoundTripsThroughTheEcho) {
  const gcnn::Config def = make_config({});
  std::set<std::string> changed;
  for (bool tagged : {false, true}) {
    const gcnn::Config a = make_config(every_parameter_changed(tagged));
    const gcnn::Config b = echoed(a);
    for (const gcnn::ParamSpec& s : gcnn::parameter_specs()) {
      EXPECT_TRUE(s.same(a, b)) << s.name << " = '" << a.value(s.name) << "' does not survive config_echo";
      if (!s.same(def, a)) changed.insert(s.name);
    }
    EXPECT_EQ(a.values, b.values);
  }
  for (const gcnn::ParamSpec& s : gcnn::parameter_specs())
    EXPECT_TRUE(changed.count(s.name)) << s.name << ": its value never reached its member (or the test lacks it)";
  // The binders really read the members: a few by hand.
  const gcnn::Config a = make_config(every_parameter_changed(false));
  EXPECT_EQ(a.seed, 12345678901234567890ull);
  EXPECT_EQ(a.q0, (std::vector<double>{0.1, 0.2}));
  EXPECT_EQ(a.init_center, (std::vector<double>{0.3, 0.3}));  // one value, broadcast to K
  EXPECT_EQ(a.solver_init_states, (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(a.solver_hbar.rule, gcnn::HbarChoice::Rule::Value);
  EXPECT_EQ(a.solver_hbar.value, 0.75);
  EXPECT_EQ(a.solver_bc, gcnn::SolverBC::Periodic);
  EXPECT_EQ(a.init_mode, gcnn::InitMode::TwoPackets);
  EXPECT_EQ(a.solver_petsc, "-ksp_type gmres -pc_type ilu");
}

// Each key binds to its own member: setting one key back to its default
// changes that key's member and no other one's.
TEST(Config, EachParameterBindsItsOwnMember) {
  std::set<std::string> isolated;
  const gcnn::Config def = make_config({});
  for (bool tagged : {false, true}) {
    const KV kv = every_parameter_changed(tagged);
    const gcnn::Config a = make_config(kv);
    for (const gcnn::ParamSpec& x : gcnn::parameter_specs()) {
      if (x.same(a, def)) continue;  // not changed in this configuration
      KV reset = kv;
      reset.insert(reset.begin(), {x.name, x.def});  // the first value of a key wins
      gcnn::Config b;
      try {
        b = make_config(reset);
      } catch (const ConfigError&) {
        continue;  // the default does not fit this configuration (e.g. K lists)
      }
      EXPECT_FALSE(x.same(a, b)) << x.name << ": its default did not reach its member";
      for (const gcnn::ParamSpec& y : gcnn::parameter_specs()) {
        if (&y != &x) {
          EXPECT_TRUE(y.same(a, b)) << "setting " << x.name << " changed " << y.name;
        }
      }
      isolated.insert(x.name);
    }
  }
  // Only these cannot be reset alone: K sizes every list, and the init
  // states and their coefficients (re, im per state) come in pairs.
  for (const gcnn::ParamSpec& x : gcnn::parameter_specs()) {
    if (x.name != "model.K" && x.name != "solver.init_states" && x.name != "solver.init_coeffs") {
      EXPECT_TRUE(isolated.count(x.name)) << x.name << " was never checked alone";
    }
  }
}

// The keys a resumed run may change are exactly the ones that do not move
// the trajectory: run length and wall-time limit, the grid check, output, sampling interval, checkpoints, and
// the solver and verify settings that only read results.
TEST(Config, OnlyOutputParametersMayChangeOnResume) {
  std::set<std::string> output;
  for (const gcnn::ParamSpec& s : gcnn::parameter_specs())
    if (s.affects == gcnn::Affects::Output) output.insert(s.name);
  for (const gcnn::ParamSpec& s : gcnn::parameter_specs()) {
    const std::string sec = s.name.substr(0, s.name.find('.'));
    const bool want = sec == "checkpoint" || sec == "solver" || sec == "verify" || s.name == "run.steps" ||
                      s.name == "run.progress_seconds" || s.name == "run.max_hours" || s.name == "output.file" ||
                      s.name == "grid.check" ||
                      s.name == "observables.sample_every";
    EXPECT_EQ(output.count(s.name) == 1, want) << s.name;
  }
}

template <class Registry>
std::string listed(const Registry& r) {
  std::string out;
  for (auto& n : r.names()) out += (out.empty() ? "" : ", ") + n;
  return "one of {" + out + "}";
}

// Every registered style builds, through the registry and through the
// config, and an unknown name is refused with the registered ones listed.
TEST(Config, EveryRegisteredStyleBuildsAndUnknownOnesAreListed) {
  for (const std::string& name : gcnn::boundary_losses().names()) {
    const auto c = make_config({{"model.loss", name}, {"model.periodic", "true"}});
    const auto loss = gcnn::make_boundary_loss(c);
    ASSERT_NE(loss, nullptr) << name;
    EXPECT_EQ(loss->K(), c.K);
    for (const std::string& mode : gcnn::learning_modes().names()) {
      const auto lc = make_config({{"learning.mode", mode}});
      EXPECT_NE(gcnn::make_learning_step(lc, *loss), nullptr) << mode;
    }
  }
  for (const std::string& name : gcnn::solver_potentials().names())
    EXPECT_NE(gcnn::solver_potentials().make(make_config({{"solver.potential", name}}).solver_potential), nullptr);
  EXPECT_EQ(gcnn::learning_modes().names(), (std::vector<std::string>{"mean", "sampled", "mala", "frozen"}));

  EXPECT_NE(error_of({{"model.loss", "quartic"}}).find("model.loss = 'quartic' is not a valid choice; allowed: " +
                                                       listed(gcnn::boundary_losses())),
            std::string::npos);
  EXPECT_NE(error_of({{"learning.mode", "adam"}}).find(listed(gcnn::learning_modes())), std::string::npos);
  EXPECT_NE(error_of({{"solver.potential", "morse"}}).find(listed(gcnn::solver_potentials())), std::string::npos);
  try {
    gcnn::solver_potentials().make("morse");
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(listed(gcnn::solver_potentials())), std::string::npos) << e.what();
  }
}

}  // namespace
