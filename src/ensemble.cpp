#include "gcnn/ensemble.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace gcnn {

void NeuronBlock::resize(size_t n) {
  // Grow by 1/8 rather than doubling: the buffers are the bulk of the memory
  // (docs/model.md §8 budgets a few tens of bytes per neuron), and after a short
  // transient the occupancy fluctuates by far less than 12%.
  if (n > capacity()) reserve(n + n / 8 + 64);
  id.resize(n);
  for (int k = 0; k < K; ++k) w[k].resize(n);
  c.resize(n);
}
void NeuronBlock::reserve(size_t n) {
  id.reserve(n);
  for (int k = 0; k < K; ++k) w[k].reserve(n);
  c.reserve(n);
}

Ensemble::Ensemble(const EnsembleParams& cfg, const Comm& comm)
    : cfg_(cfg), comm_(comm), rng_(cfg.seed), active_(cfg.K), active_next_(cfg.K), reservoir_(cfg.K) {
  nets_ = Blocks{cfg.M, comm.size()};
  a_lo_ = nets_.lo(comm.rank());
  a_hi_ = nets_.hi(comm.rank());
  const int64_t n = a_hi_ - a_lo_;
  const int K = cfg.K;

  q_.resize(static_cast<size_t>(n) * K);
  for (int64_t la = 0; la < n; ++la) {
    double xi[3];
    const uint64_t a = static_cast<uint64_t>(a_lo_ + la);
    switch (K) {
      case 1: rng_.normals<1>(Purpose::InitialQ, 0, a, xi); break;
      case 2: rng_.normals<2>(Purpose::InitialQ, 0, a, xi); break;
      default: rng_.normals<3>(Purpose::InitialQ, 0, a, xi); break;
    }
    // two_packets: the last fraction2 of the ids form the second sub-ensemble.
    const bool second = cfg.init_mode == InitMode::TwoPackets &&
                        static_cast<double>(a) >= (1.0 - cfg.init_fraction2) * static_cast<double>(cfg.M);
    const std::vector<double>& centre = second ? cfg.init_center2 : cfg.init_center;
    for (int k = 0; k < K; ++k) q(la)[k] = centre[k] + cfg.init_width * xi[k];
    wrap(q(la));
  }

  // Neuron i starts in network floor(i / rho): ids rho*a .. rho*a + rho - 1,
  // already in canonical order. Capacity for fluctuations is reserved once.
  const int64_t nn = n * cfg.rho;
  active_.resize(static_cast<size_t>(nn));
  offsets_.resize(static_cast<size_t>(n) + 1);
  offsets_next_.resize(static_cast<size_t>(n) + 1);
  for (int64_t la = 0; la <= n; ++la) offsets_[la] = la * cfg.rho;
  for (int64_t j = 0; j < nn; ++j) {
    const int64_t id = a_lo_ * cfg.rho + j;
    active_.set(static_cast<size_t>(j), id, draw_neuron_params(rng_, static_cast<uint64_t>(id), cfg.sigma_w, cfg.sigma_c));
  }
  reservoir_.resize(0);
}

Ensemble::Ensemble(const EnsembleParams& cfg, const Comm& comm, Unset)
    : cfg_(cfg), comm_(comm), rng_(cfg.seed), active_(cfg.K), active_next_(cfg.K), reservoir_(cfg.K) {
  nets_ = Blocks{cfg.M, comm.size()};
  a_lo_ = nets_.lo(comm.rank());
  a_hi_ = nets_.hi(comm.rank());
  offsets_.assign(static_cast<size_t>(a_hi_ - a_lo_) + 1, 0);
  offsets_next_ = offsets_;
}

void Ensemble::restore(uint64_t step, std::vector<double> q, const std::vector<int64_t>& N, NeuronBlock active,
                       NeuronBlock reservoir) {
  const int64_t n = n_local();
  if (static_cast<int64_t>(q.size()) != n * cfg_.K || static_cast<int64_t>(N.size()) != n)
    throw std::logic_error("Ensemble::restore: block sizes do not match this rank's networks");
  q_ = std::move(q);
  offsets_.assign(static_cast<size_t>(n) + 1, 0);
  for (int64_t la = 0; la < n; ++la) offsets_[la + 1] = offsets_[la] + N[la];
  offsets_next_ = offsets_;
  if (offsets_[n] != static_cast<int64_t>(active.size()))
    throw std::logic_error("Ensemble::restore: sum of N_a differs from the active neurons read");
  active_ = std::move(active);
  reservoir_ = std::move(reservoir);
  active_next_ = NeuronBlock(cfg_.K);
  // Same headroom as a fresh start, so the first sweeps do not reallocate.
  active_next_.reserve(active_.size() + active_.size() / 8 + 64);
  step_ = step;
}

void Ensemble::swap_active() {
  std::swap(active_, active_next_);
  std::swap(offsets_, offsets_next_);
}

void Ensemble::check_conservation() const {
  int64_t counts[2] = {static_cast<int64_t>(active_.size()), static_cast<int64_t>(reservoir_.size())};
  comm_.sum(counts, 2);
  if (counts[0] + counts[1] != cfg_.R())
    throw std::logic_error("neuron conservation violated at step " + std::to_string(step_) + ": sum N_a = " +
                           std::to_string(counts[0]) + ", N_res = " + std::to_string(counts[1]) +
                           ", R = " + std::to_string(cfg_.R()));
}


double Ensemble::bytes_per_neuron() const {
  const double per = 8.0 + 4.0 * cfg_.K + 4.0;
  double bytes = 0;
  for (const NeuronBlock* b : {&active_, &active_next_, &reservoir_})
    bytes += per * static_cast<double>(b->capacity());
  const double neurons = static_cast<double>(active_.size() + reservoir_.size());
  return neurons > 0 ? bytes / neurons : 0.0;
}

void Ensemble::displace_tagged(int64_t n_tagged, const std::vector<double>& shift) {
  const int64_t end = std::min(n_tagged, a_hi_);
  for (int64_t a = a_lo_; a < end; ++a) {
    double* qa = q(a - a_lo_);
    for (int k = 0; k < cfg_.K; ++k) qa[k] += shift[k];
    wrap(qa);
  }
}

double Ensemble::displacement(int k, double to, double from) const {
  double d = to - from;
  if (cfg_.periodic) {
    const double Lk = cfg_.grid_hi[k] - cfg_.grid_lo[k];
    d -= Lk * std::round(d / Lk);
  }
  return d;
}

void Ensemble::wrap(double* qv) const {
  if (!cfg_.periodic) return;
  for (int k = 0; k < cfg_.K; ++k) {
    const double L = cfg_.grid_hi[k] - cfg_.grid_lo[k];
    double x = qv[k] - cfg_.grid_lo[k];
    x -= L * std::floor(x / L);
    if (x >= L) x -= L;  // floor rounding at the upper edge
    qv[k] = cfg_.grid_lo[k] + x;
  }
}

}  // namespace gcnn
