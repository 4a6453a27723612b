// Configuration: defaults, INI + command line precedence, and one clear
// message naming the key for every kind of bad input.
#include <gtest/gtest.h>

#include "gcnn/config.hpp"
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
  EXPECT_EQ(c.loss, gcnn::LossKind::DoubleWell);
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
  const auto a = make_config({{"model.M", "123"}, {"model.K", "2"}, {"grid.n", "8,9"}, {"model.mu", "-2.5"}});
  gcnn::CliRequest req;
  gcnn::merge_config_text(req, gcnn::config_echo(a), "echo");
  const auto b = make_config(req.raw);
  EXPECT_EQ(a.values, b.values);
}

}  // namespace

namespace {

// Tagged-minority quench (MODEL.md §4, last paragraph): the landscape stays,
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
