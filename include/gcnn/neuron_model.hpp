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

// theta(id) again, in a vector loop (the exchange sweep rebuilds every
// arrived proposer this way): the same Philox words as draw_neuron_params,
// through fastmath's Box-Muller instead of libm's scalar log and
// sincos(PI x) (7 ns against 80 ns of CPU per id here). fastmath's log and
// sincospi are within ~1e-15 of libm's, so each double sigma n (|n| <= 8.6)
// is within ~2e-14 |sigma| of draw_neuron_params' double, and its float is
// the same unless a float rounding boundary lies within tol = 1e-12 |sigma|
// (80x that bound) of the value. That is tested (the floats of value -+ tol
// agree); where it fails (about 1 id in 1000) false is returned, and the
// caller takes draw_neuron_params. always_inline: an out-of-line Philox +
// Box-Muller stops the vectoriser.
[[gnu::always_inline]] inline bool draw_neuron_params_fast(const CounterRng& rng, uint64_t id, double sigma_w,
                                                           double sigma_c, NeuronParams& p) {
  const auto ra = rng.draw(Purpose::NeuronParams, 0, id, 0);
  const auto rb = rng.draw(Purpose::NeuronParams, 0, id, 1);
  auto word64 = [](uint32_t lo, uint32_t hi) { return (static_cast<uint64_t>(hi) << 32) | lo; };
  double a0, a1, b0, b1;  // normal2(sub 0) and normal2(sub 1) of draw_neuron_params
  fm::box_muller(r123::uneg11<double>(word64(ra.v[0], ra.v[1])), r123::u01<double>(word64(ra.v[2], ra.v[3])), a0, a1);
  fm::box_muller(r123::uneg11<double>(word64(rb.v[0], rb.v[1])), r123::u01<double>(word64(rb.v[2], rb.v[3])), b0, b1);
  const double tw = 1e-12 * std::fabs(sigma_w), tc = 1e-12 * std::fabs(sigma_c);
  const double x0 = sigma_w * a0, x1 = sigma_w * a1, x2 = sigma_w * b0, x3 = sigma_c * b1;
  p.w[0] = static_cast<float>(x0);
  p.w[1] = static_cast<float>(x1);
  p.w[2] = static_cast<float>(x2);
  p.c = static_cast<float>(x3);
  const bool s0 = static_cast<float>(x0 - tw) == static_cast<float>(x0 + tw);
  const bool s1 = static_cast<float>(x1 - tw) == static_cast<float>(x1 + tw);
  const bool s2 = static_cast<float>(x2 - tw) == static_cast<float>(x2 + tw);
  const bool s3 = static_cast<float>(x3 - tc) == static_cast<float>(x3 + tc);
  return s0 & s1 & s2 & s3;
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
