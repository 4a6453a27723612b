#pragma once
// The distributed state of the grand canonical ensemble (docs/model.md §1-2).
//
// Networks are block-distributed by global id a. A rank stores, for its
// networks, the trainable vectors q and the active neurons in a structure of
// arrays grouped by network (CSR offsets), each group in canonical id order so
// that sums over a network's neurons are bitwise reproducible. Reservoir
// neurons live on some rank in no particular order: where a reservoir neuron
// sits is not part of the physical state (its moves depend only on its id).
#include <array>
#include <cstdint>
#include <vector>

#include "gcnn/buffer.hpp"
#include "gcnn/config.hpp"
#include "gcnn/mpi_env.hpp"
#include "gcnn/neuron_model.hpp"
#include "gcnn/rng.hpp"

namespace gcnn {

// Neurons as a structure of arrays: id, w_0..w_{K-1}, c.
struct NeuronBlock {
  int K = 1;
  Buffer<int64_t> id;
  std::array<Buffer<float>, 3> w;
  Buffer<float> c;

  explicit NeuronBlock(int K_ = 1) : K(K_) {}
  size_t size() const { return id.size(); }
  void resize(size_t n);
  void reserve(size_t n);
  size_t capacity() const { return id.capacity(); }
  void set(size_t j, int64_t nid, const NeuronParams& p) {
    id[j] = nid;
    for (int k = 0; k < K; ++k) w[k][j] = p.w[k];
    c[j] = p.c;
  }
};

// A neuron in flight between ranks, or a join decision waiting for rebuild.
struct Mover {
  int64_t a;   // target network (global id)
  int64_t id;  // neuron id
  NeuronParams p;
};

// What the ensemble is built from: its shape (M, K, rho, the box), the
// neuron parameters' law and seed, the initial q and eta (t = step*eta).
// The [model] physics a quench changes (U, mu) is not the ensemble's: the
// learning style and the exchange sweep receive the physics in force when
// they are built, so config().mu is the value at step 0.
using EnsembleParams = Sections<ModelParams, LearningParams, InitParams, GridParams, RunParams>;

class Ensemble {
 public:
  // Step-0 state: theta_i drawn by id, neuron i in network floor(i / rho),
  // q_a ~ N(init.q_center, init.q_width^2) keyed by a.
  Ensemble(const EnsembleParams& cfg, const Comm& comm);
  // No state yet: for restore() from a checkpoint (skips drawing step 0).
  struct Unset {};
  Ensemble(const EnsembleParams& cfg, const Comm& comm, Unset);
  // Installs a state read from a checkpoint: q and N_a of this rank's
  // networks, their neurons in canonical order, and a share of the reservoir.
  void restore(uint64_t step, std::vector<double> q, const std::vector<int64_t>& N, NeuronBlock active,
               NeuronBlock reservoir);

  const EnsembleParams& config() const { return cfg_; }
  const Comm& comm() const { return comm_; }
  const CounterRng& rng() const { return rng_; }
  const Blocks& network_blocks() const { return nets_; }

  int64_t a_lo() const { return a_lo_; }
  int64_t n_local() const { return a_hi_ - a_lo_; }
  double* q(int64_t local_a) { return &q_[static_cast<size_t>(local_a) * cfg_.K]; }
  const double* q(int64_t local_a) const { return &q_[static_cast<size_t>(local_a) * cfg_.K]; }
  int64_t begin(int64_t local_a) const { return offsets_[local_a]; }
  int64_t end(int64_t local_a) const { return offsets_[local_a + 1]; }
  int64_t N(int64_t local_a) const { return end(local_a) - begin(local_a); }

  NeuronBlock& active() { return active_; }
  const NeuronBlock& active() const { return active_; }
  NeuronBlock& reservoir() { return reservoir_; }
  const NeuronBlock& reservoir() const { return reservoir_; }

  // The active neurons are double-buffered for the rebuild after an exchange
  // sweep; the reservoir is compacted and appended in place.
  NeuronBlock& next_active() { return active_next_; }
  std::vector<int64_t>& next_offsets() { return offsets_next_; }
  const std::vector<int64_t>& offsets() const { return offsets_; }
  void swap_active();

  uint64_t step() const { return step_; }
  void set_step(uint64_t s) { step_ = s; }
  double time() const { return static_cast<double>(step_) * cfg_.eta; }

  // Sum_a N_a + N_res over all ranks; throws if it differs from R (a bug).
  void check_conservation() const;
  // Bytes of neuron storage per neuron on this rank (capacities, both buffers).
  double bytes_per_neuron() const;

  // Wraps q into the box [grid.lo, grid.hi) when model.periodic.
  void wrap(double* q) const;
  // The minimal-image displacement `to - from` along axis k (periodic q),
  // else the plain difference.
  double displacement(int k, double to, double from) const;
  // Tagged-minority quench: q_a += shift (wrapped) for the networks with
  // global id a < n_tagged; the rest of the ensemble is untouched.
  void displace_tagged(int64_t n_tagged, const std::vector<double>& shift);

 private:
  EnsembleParams cfg_;
  Comm comm_;
  CounterRng rng_;
  Blocks nets_;
  int64_t a_lo_ = 0, a_hi_ = 0;
  uint64_t step_ = 0;
  std::vector<double> q_;
  std::vector<int64_t> offsets_, offsets_next_;
  NeuronBlock active_, active_next_, reservoir_;
};

}  // namespace gcnn
