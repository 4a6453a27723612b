#pragma once
// One hidden Ising neuron (docs/model.md §1): z_i(q) = w_i.q + c_i,
// f_i(q) = -T ln(2 cosh(z_i/T)), grad f_i = -tanh(z_i/T) w_i.
#include <cmath>
#include <cstdint>

#include "gcnn/fastmath.hpp"
#include "gcnn/rng.hpp"

namespace gcnn {

// Parameters are drawn in double and stored as float: the model's parameters
// are these float values (exactly representable in double), which halves the
// memory and bandwidth of the hot loops. See docs/model-notes.md.
// A plain aggregate: `NeuronParams p{}` is zero, while default-initialised
// buffers of movers (exchange_sweep.cpp) are not filled with zeros first.
struct NeuronParams {
  float w[3];
  float c;
};

inline NeuronParams draw_neuron_params(const CounterRng& rng, uint64_t id, double sigma_w, double sigma_c) {
  const auto a = rng.normal2(Purpose::NeuronParams, 0, id, 0);
  const auto b = rng.normal2(Purpose::NeuronParams, 0, id, 1);
  NeuronParams p{};
  p.w[0] = static_cast<float>(sigma_w * a[0]);
  p.w[1] = static_cast<float>(sigma_w * a[1]);
  p.w[2] = static_cast<float>(sigma_w * b[0]);
  p.c = static_cast<float>(sigma_c * b[1]);
  return p;
}

// A by-value view of K weight rows and the biases. Copying the row pointers
// into a local struct lets the compiler see contiguous loads (with a
// pointer-to-pointer it emits gathers).
template <int K>
struct FieldView {
  const float* w[K];
  const float* c;
  template <class Block>
  explicit FieldView(const Block& b) : c(b.c.data()) {
    for (int k = 0; k < K; ++k) w[k] = b.w[k].data();
  }
  // z_j in a fixed evaluation order: c + w0 q0 + w1 q1 + w2 q2.
  inline double field(int64_t j, const double* q) const {
    double z = c[j];
    for (int k = 0; k < K; ++k) z += static_cast<double>(w[k][j]) * q[k];
    return z;
  }
};

// ln(2 cosh y), stable for all y. fastmath's exp and log1p: it vectorises
// (set_free_energy evaluates it for every neuron of a network) and rounds the same
// in vector lanes and scalar code.
inline double log_two_cosh(double y) {
  const double a = std::fabs(y);
  return a + fm::log1p(fm::exp(-2.0 * a));
}

// f_i = -T ln(2 cosh(z/T)).
inline double neuron_free_energy(double z, double T) { return -T * log_two_cosh(z / T); }

}  // namespace gcnn
