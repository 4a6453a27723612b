// docs/model.md §5 Madelung fields: the probability current measured from each
// network's displacement over the last learning step before a sample
// (/observables/current, Stratonovich midpoint rule) reproduces a known
// current. An Ornstein-Uhlenbeck ensemble (K = 1, harmonic U, sigma_w =
// sigma_c = 0 so every f_i is constant and grad F = grad U, no exchange)
// started displaced relaxes with a Gaussian p(q,t):
//   m(t) = m0 e^{-gamma kappa t},
//   v(t) = Tq/kappa + (v0 - Tq/kappa) e^{-2 gamma kappa t},
//   j(q,t) = p [m' + (q - m) v' / (2 v)],
// whose cell integral is exact: m' [Phi(b) - Phi(a)] + (v'/2) [p(a) - p(b)].
// The run goes through run_simulation and the results file, as `gcnn run`.
// chi^2 over cells and samples, the per-cell error from the stored sum of
// (dq/eta)^2 (networks are independent: the cell sum is compound Poisson);
// bound 1 + 5 sqrt(2/dof), five standard deviations of chi^2/dof.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "gcnn/h5.hpp"
#include "gcnn/simulation.hpp"
#include "test_util.hpp"

namespace {
using namespace gcnn;

constexpr double kKappa = 1.0, kGamma = 1.0, kTq = 1.0, kEta = 0.002;
constexpr int64_t kM = 20000, kSteps = 1000, kEvery = 10;
constexpr double kLo = -3.0, kHi = 4.0;
constexpr int64_t kCells = 35;

struct Gaussian {  // the OU ensemble's p(q,t)
  double m0, v0;
  double mean(double t) const { return m0 * std::exp(-kGamma * kKappa * t); }
  double dmean(double t) const { return -kGamma * kKappa * mean(t); }
  double var(double t) const { return kTq / kKappa + (v0 - kTq / kKappa) * std::exp(-2 * kGamma * kKappa * t); }
  double dvar(double t) const { return -2 * kGamma * kKappa * (v0 - kTq / kKappa) * std::exp(-2 * kGamma * kKappa * t); }
  double pdf(double q, double t) const {
    const double v = var(t), d = q - mean(t);
    return std::exp(-d * d / (2 * v)) / std::sqrt(2 * M_PI * v);
  }
  double cdf(double q, double t) const { return 0.5 * std::erfc(-(q - mean(t)) / std::sqrt(2 * var(t))); }
  // integral of j(q,t) over [a, b]
  double current(double a, double b, double t) const {
    return dmean(t) * (cdf(b, t) - cdf(a, t)) + 0.5 * dvar(t) * (pdf(a, t) - pdf(b, t));
  }
};

struct Measured {
  std::vector<double> current;  // [sample, cell, 2]
  std::vector<int64_t> counted, steps;
  size_t samples = 0;
};

Measured run_ou(const Comm& comm, const std::string& tag, double centre, double width) {
  const std::string path = "test_madelung_" + tag + "_np" + std::to_string(comm.size()) + ".h5";
  const auto cfg = test::config({{"model.M", std::to_string(kM)}, {"model.K", "1"}, {"model.rho", "1"},
                                 {"model.sigma_w", "0"}, {"model.sigma_c", "0"}, {"model.loss", "harmonic"},
                                 {"model.kappa", "1"}, {"model.q0", "0"}, {"model.T", "1"},
                                 {"learning.mode", "mean"}, {"learning.gamma", "1"}, {"learning.Tq", "1"},
                                 {"learning.eta", std::to_string(kEta)}, {"exchange.every", "0"},
                                 {"init.q_center", std::to_string(centre)}, {"init.q_width", std::to_string(width)},
                                 {"grid.lo", std::to_string(kLo)}, {"grid.hi", std::to_string(kHi)},
                                 {"grid.n", std::to_string(kCells)}, {"run.steps", std::to_string(kSteps)},
                                 {"run.seed", "4242"}, {"observables.sample_every", std::to_string(kEvery)},
                                 {"observables.hbar_n", "2"}, {"checkpoint.at_end", "false"},
                                 {"checkpoint.dir", path + ".ckpt"}, {"output.file", path}});
  std::ostringstream log;
  run_simulation(cfg, comm, true, log);
  comm.barrier();
  Measured m;
  if (!comm.root()) return m;
  h5::Handle f = h5::open_file(path, false, MPI_COMM_SELF);
  std::vector<hsize_t> dims;
  m.current = h5::read_dataset<double>(f, "observables/current/value", &dims);
  EXPECT_EQ(dims, (std::vector<hsize_t>{static_cast<hsize_t>(kSteps / kEvery + 1), kCells, 1, 2}));
  m.samples = dims[0];
  m.counted = h5::read_dataset<int64_t>(f, "observables/current_samples/value");
  m.steps = h5::read_dataset<int64_t>(f, "observables/clock/step");
  return m;
}

struct Chi2 {
  double vs_model = 0, vs_zero = 0, dof = 0;
};

// Sample s > 0 measures the step (step_s - 1 -> step_s), midpoint time
// (step_s - 1/2) eta. Cells where the model expects >= 200 networks.
Chi2 compare(const Measured& m, const Gaussian& p) {
  const double h = (kHi - kLo) / kCells;
  Chi2 c;
  for (size_t s = 1; s < m.samples; ++s) {
    const double t = (static_cast<double>(m.steps[s]) - 0.5) * kEta;
    for (int64_t g = 0; g < kCells; ++g) {
      const double a = kLo + h * static_cast<double>(g), b = a + h;
      if (kM * (p.cdf(b, t) - p.cdf(a, t)) < 200) continue;
      const double sum = m.current[(s * kCells + g) * 2], sum2 = m.current[(s * kCells + g) * 2 + 1];
      const double expect = kM * p.current(a, b, t);
      c.vs_model += (sum - expect) * (sum - expect) / sum2;
      c.vs_zero += sum * sum / sum2;
      c.dof += 1;
    }
  }
  return c;
}

double bound(double dof) { return 1.0 + 5.0 * std::sqrt(2.0 / dof); }

TEST(MadelungCurrent, RelaxingOrnsteinUhlenbeckEnsembleHasTheAnalyticCurrent) {
  Comm comm;
  const Gaussian p{1.5, 0.09};
  const Measured m = run_ou(comm, "quench", p.m0, std::sqrt(p.v0));
  if (!comm.root()) return;
  // the sample at step 0 has no step before it: zeros, nothing counted
  EXPECT_EQ(m.counted[0], 0);
  for (size_t i = 0; i < kCells * 2; ++i) EXPECT_EQ(m.current[i], 0.0);
  for (size_t s = 1; s < m.samples; ++s) EXPECT_GT(m.counted[s], kM * 99 / 100) << "sample " << s;
  const Chi2 c = compare(m, p);
  std::cout << "OU relaxation: chi2/dof against j(q,t) " << c.vs_model / c.dof << ", against 0 " << c.vs_zero / c.dof
            << " (dof " << c.dof << ", bound " << bound(c.dof) << ")\n";
  ASSERT_GT(c.dof, 1000);
  EXPECT_LT(c.vs_model / c.dof, bound(c.dof));
  EXPECT_GT(c.vs_model / c.dof, 1.0 - 5.0 * std::sqrt(2.0 / c.dof));
  // the measurement sees the current: j = 0 is rejected
  EXPECT_GT(c.vs_zero / c.dof, bound(c.dof));
}

TEST(MadelungCurrent, EquilibriumEnsembleHasNoCurrent) {
  Comm comm;
  const Gaussian p{0.0, kTq / kKappa};  // started at learning equilibrium: j = 0 at all t
  const Measured m = run_ou(comm, "equilibrium", p.m0, std::sqrt(p.v0));
  if (!comm.root()) return;
  const Chi2 c = compare(m, p);
  std::cout << "OU equilibrium: chi2/dof against 0 " << c.vs_zero / c.dof << " (dof " << c.dof << ", bound "
            << bound(c.dof) << ")\n";
  ASSERT_GT(c.dof, 1000);
  EXPECT_LT(c.vs_zero / c.dof, bound(c.dof));
  EXPECT_GT(c.vs_zero / c.dof, 1.0 - 5.0 * std::sqrt(2.0 / c.dof));
}

}  // namespace
