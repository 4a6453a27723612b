// docs/model.md §6 Tier 1 item 2: with T_q = T the learning-equilibrium histogram
// of q matches e^{-Omega/T}: exactly for M = 1 (MALA: no step-size bias),
// and the mean-field Omega for M > 1 in the dilute regime. Chi-square over
// the grid cells, standard errors from batch means over time.
#include <gtest/gtest.h>

#include <cmath>

#include "gcnn/boundary_loss.hpp"
#include "gcnn/ensemble.hpp"
#include "gcnn/exchange_sweep.hpp"
#include "gcnn/grand_potential.hpp"
#include "gcnn/learning_step.hpp"
#include "test_util.hpp"

namespace {
using namespace gcnn;

// Probability of each grid cell under e^{-Omega/T_q} (16-point midpoint rule per cell).
std::vector<double> cell_probabilities(const Config& cfg, const Comm& comm) {
  GrandPotential gp(cfg, comm);
  const Grid grid(cfg);
  const int sub = 16;
  std::vector<double> pts;
  for (int64_t g = 0; g < grid.size(); ++g) {
    double c;
    grid.centre(g, &c);
    for (int s = 0; s < sub; ++s) pts.push_back(c + grid.h(0) * ((s + 0.5) / sub - 0.5));
  }
  std::vector<double> om(pts.size());
  gp.evaluate(pts, om.data(), nullptr, nullptr);
  const double om0 = *std::min_element(om.begin(), om.end());
  std::vector<double> p(static_cast<size_t>(grid.size()), 0.0);
  double z = 0;
  for (size_t i = 0; i < pts.size(); ++i) {
    const double w = std::exp(-(om[i] - om0) / cfg.Tq);
    p[i / sub] += w;
    z += w;
  }
  for (double& x : p) x /= z;
  return p;
}

struct Fit {
  double chi2 = 0, dof = 0, pvalue = 0, l1 = 0;
};

// `predicted` gives the analytic side; `cfg` is what is simulated.
Fit sample_and_compare(const Config& cfg, const Config& predicted, const Comm& comm, int burn, int batches,
                       int per_batch) {
  const auto P = cell_probabilities(predicted, comm);
  Ensemble e(cfg, comm);
  auto loss = make_boundary_loss(cfg);
  auto learn = make_learning_step(cfg, *loss);
  ExchangeSweep sweep(e, cfg);
  const Grid grid(cfg);
  const size_t G = static_cast<size_t>(grid.size());
  std::vector<double> hist(static_cast<size_t>(batches) * G, 0.0);
  uint64_t s = 0;
  auto step = [&] {
    learn->advance(e, s);
    e.set_step(++s);
    if (s % static_cast<uint64_t>(cfg.exchange_every) == 0) sweep.run(e, s);
  };
  for (int i = 0; i < burn; ++i) step();
  const double norm = 1.0 / (static_cast<double>(per_batch) * cfg.M);
  for (int b = 0; b < batches; ++b)
    for (int i = 0; i < per_batch; ++i) {
      step();
      for (int64_t la = 0; la < e.n_local(); ++la) {
        const int64_t g = grid.cell(e.q(la));
        if (g >= 0) hist[static_cast<size_t>(b) * G + static_cast<size_t>(g)] += norm;
      }
    }
  comm.sum(hist.data(), hist.size());
  Fit f;
  for (size_t g = 0; g < G; ++g) {
    std::vector<double> x(batches);
    for (int b = 0; b < batches; ++b) x[b] = hist[static_cast<size_t>(b) * G + g];
    const auto me = test::batch_means(x);
    f.l1 += std::fabs(me.mean - P[g]);
    if (P[g] < 1e-5) continue;  // too rare to estimate a spread
    const double z = (me.mean - P[g]) / std::max(me.err, 1e-6);
    f.chi2 += z * z;
    f.dof += 1;
  }
  f.pvalue = test::chi2_pvalue(f.chi2, f.dof);
  const double acc =
      static_cast<double>(comm.sum(learn->accepted())) / std::max<int64_t>(1, comm.sum(learn->proposals()));
  if (comm.root())
    std::printf("M=%lld: chi2 = %.1f over %g cells, p-value %.3g, L1 = %.4f, mala acceptance %.3f\n",
                static_cast<long long>(cfg.M), f.chi2, f.dof, f.pvalue, f.l1, acc);
  return f;
}

// One network, 6 neurons, MALA: the exact case.
std::vector<std::pair<std::string, std::string>> single_network() {
  return {{"model.M", "1"}, {"model.rho", "6"}, {"model.mu", "-0.5"}, {"model.sigma_w", "0.6"},
          {"model.sigma_c", "0.4"}, {"learning.mode", "mala"}, {"learning.eta", "0.04"}, {"grid.lo", "-2.2"},
          {"grid.hi", "2.2"}, {"grid.n", "44"}, {"run.seed", "17"}};
}

TEST(Equilibrium, SingleNetworkHistogramMatchesExactOmega) {
  Comm comm;
  const auto cfg = test::config(single_network());
  const Fit f = sample_and_compare(cfg, cfg, comm, 2000, 50, 6000);
  EXPECT_GT(f.pvalue, 1e-4) << "chi2 " << f.chi2 << " over " << f.dof;
}

TEST(Equilibrium, DiluteEnsembleMatchesMeanFieldOmega) {
  Comm comm;
  const auto cfg = test::config({{"model.M", "64"}, {"model.rho", "8"}, {"model.mu", "-2.5"},
                                 {"model.sigma_w", "0.8"}, {"model.sigma_c", "0.4"}, {"learning.mode", "mala"},
                                 {"learning.eta", "0.04"}, {"grid.lo", "-2.2"}, {"grid.hi", "2.2"},
                                 {"grid.n", "44"}, {"run.seed", "23"}});
  const Fit f = sample_and_compare(cfg, cfg, comm, 1000, 40, 1000);
  EXPECT_GT(f.pvalue, 1e-4) << "chi2 " << f.chi2 << " over " << f.dof;
}

}  // namespace

// Negative control: the same comparison has the power to reject a run whose
// learning noise is 20% too hot (T_q = 1.2 T) against the T_q = T prediction.
TEST(Equilibrium, WrongLearningTemperatureIsRejected) {
  Comm comm;
  auto kv = single_network();
  const auto predicted = test::config(kv);
  kv.emplace_back("learning.Tq", "1.2");
  const auto hot = test::config(kv);
  const Fit f = sample_and_compare(hot, predicted, comm, 2000, 50, 6000);
  EXPECT_LT(f.pvalue, 1e-6) << "chi2 " << f.chi2 << " over " << f.dof;
}
