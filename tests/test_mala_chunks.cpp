// MALA in chunks (issue 16 item 6): the learning step of `mala` is computed
// chunk by chunk (fields, one flat vector loop for tanh, lane sums per
// network). Its result must not depend on the chunk size, and must be the
// per-network algorithm's: the same q after every step, bitwise.
#include <gtest/gtest.h>

#include <cmath>

#include "gcnn/boundary_loss.hpp"
#include "gcnn/ensemble.hpp"
#include "gcnn/exchange_sweep.hpp"
#include "gcnn/learning_step.hpp"
#include "test_util.hpp"

namespace {
using namespace gcnn;

// The per-network MALA step (docs/model.md §3) written with the public per-network
// functions: grad F_a by hidden_gradient(), F_a by set_free_energy() (one
// log_two_cosh per neuron). The chunked step computes sum_j ln 2cosh y_j
// differently (to rounding, ~1e-14 here), which could flip an accept decision
// only if the uniform fell within ~1e-14 of alpha: probability ~1e-14 per
// decision, ~1e-9 over the ~1e5 decisions of this test.
int64_t reference_mala(Ensemble& e, uint64_t step, const BoundaryLoss& loss) {
  const auto& c = e.config();
  const int K = c.K;
  const double h = c.eta * c.gamma, kick = std::sqrt(2.0 * h * c.Tq);
  int64_t acc = 0;
  for (int64_t la = 0; la < e.n_local(); ++la) {
    const NeuronBlock& nb = e.active();
    const int64_t b = e.begin(la), en = e.end(la);
    double* q = e.q(la);
    double g[3] = {0, 0, 0}, gp[3] = {0, 0, 0}, qp[3] = {0, 0, 0}, xi[3] = {0, 0, 0};
    loss.add_gradient(q, g);
    hidden_gradient(K, nb, b, en, q, c.T, g);
    const uint64_t a = static_cast<uint64_t>(e.a_lo() + la);
    if (K == 1) e.rng().normals<1>(Purpose::LearningNoise, step, a, xi);
    if (K == 2) e.rng().normals<2>(Purpose::LearningNoise, step, a, xi);
    if (K == 3) e.rng().normals<3>(Purpose::LearningNoise, step, a, xi);
    for (int k = 0; k < K; ++k) qp[k] = q[k] - h * g[k] + kick * xi[k];
    e.wrap(qp);
    loss.add_gradient(qp, gp);
    hidden_gradient(K, nb, b, en, qp, c.T, gp);
    const double F = set_free_energy(K, nb, b, en, q, c.T, loss);
    const double Fp = set_free_energy(K, nb, b, en, qp, c.T, loss);
    double fwd = 0, bwd = 0;
    for (int k = 0; k < K; ++k) {
      double d = qp[k] - q[k];
      if (c.periodic) {
        const double Lk = c.grid_hi[k] - c.grid_lo[k];
        d -= Lk * std::round(d / Lk);
      }
      fwd += (d + h * g[k]) * (d + h * g[k]);
      bwd += (-d + h * gp[k]) * (-d + h * gp[k]);
    }
    const double log_alpha = -(Fp - F) / c.Tq - (bwd - fwd) / (4.0 * h * c.Tq);
    const auto r = e.rng().draw(Purpose::MalaAccept, step, a);
    if (std::log(CounterRng::u01_64(r.v[0], r.v[1])) < log_alpha) {
      for (int k = 0; k < K; ++k) q[k] = qp[k];
      ++acc;
    }
  }
  return acc;
}

using Kv = std::vector<std::pair<std::string, std::string>>;

// Workloads: chunk boundaries inside a rank's networks (K = 1, 2, 3, loss or
// none, periodic or not), and networks of ~1e4 neurons, more than one chunk
// and more than one fold of the lane products (8000 neurons).
std::vector<Kv> workloads() {
  return {
      {{"model.M", "300"}, {"model.rho", "40"}, {"model.K", "1"}, {"model.mu", "0"}, {"learning.eta", "0.02"}},
      {{"model.M", "150"}, {"model.rho", "30"}, {"model.K", "2"}, {"model.mu", "-0.2"}, {"learning.eta", "0.02"},
       {"model.periodic", "true"}, {"model.loss", "none"}, {"grid.lo", "-3"}, {"grid.hi", "3"}},
      {{"model.M", "120"}, {"model.rho", "25"}, {"model.K", "3"}, {"model.mu", "0.3"}, {"learning.eta", "0.02"}},
      {{"model.M", "3"}, {"model.rho", "10000"}, {"model.K", "1"}, {"model.mu", "0"}, {"learning.eta", "0.001"}},
  };
}

// The networks' positions after `steps` MALA steps (chunks of `chunk`
// neurons, or the reference if chunk == 0), with an exchange sweep after each
// so that the networks change size; accepted moves counted in `accepted`.
std::vector<double> run(const Config& cfg, int64_t chunk, int steps, int64_t& accepted) {
  Comm comm;
  Ensemble e(cfg, comm);
  auto loss = make_boundary_loss(cfg);
  ExchangeSweep sweep(e, cfg);
  Buffer<double> scratch;
  accepted = 0;
  for (int s = 0; s < steps; ++s) {
    const uint64_t key = static_cast<uint64_t>(s);
    accepted += chunk == 0 ? reference_mala(e, key, *loss) : mala_step(e, key, *loss, cfg, cfg, chunk, scratch);
    e.set_step(key + 1);
    sweep.run(e, key + 1);
  }
  std::vector<double> q;
  for (int64_t la = 0; la < e.n_local(); ++la)
    for (int k = 0; k < cfg.K; ++k) q.push_back(e.q(la)[k]);
  accepted = comm.sum(accepted);
  return q;
}

TEST(MalaChunks, PositionsAreBitwiseIndependentOfTheChunkSizeAndEqualThePerNetworkAlgorithm) {
  for (const Kv& kv : workloads()) {
    const Config cfg = test::config(kv);
    const int steps = cfg.rho > 1000 ? 10 : 30;
    int64_t acc_ref = 0;
    const std::vector<double> ref = run(cfg, 0, steps, acc_ref);
    // 1: every network its own chunk; kMalaChunk: the production size; a
    // huge size: all of the rank's networks in one chunk.
    for (int64_t chunk : {int64_t{1}, int64_t{97}, kMalaChunk, int64_t{1} << 40}) {
      int64_t acc = 0;
      const std::vector<double> q = run(cfg, chunk, steps, acc);
      ASSERT_EQ(q.size(), ref.size());
      EXPECT_EQ(acc, acc_ref) << "K=" << cfg.K << " rho=" << cfg.rho << " chunk " << chunk;
      size_t differ = 0;
      for (size_t i = 0; i < q.size(); ++i) differ += q[i] != ref[i];  // bitwise: no tolerance
      EXPECT_EQ(differ, 0u) << "K=" << cfg.K << " rho=" << cfg.rho << " chunk " << chunk << ": " << differ
                            << " of " << q.size() << " coordinates differ";
    }
    // MALA must accept some and reject some, or the test checks little.
    const double proposals = static_cast<double>(steps) * static_cast<double>(cfg.M);
    EXPECT_GT(acc_ref, 0.05 * proposals);
    EXPECT_LT(acc_ref, proposals);
  }
}

}  // namespace
