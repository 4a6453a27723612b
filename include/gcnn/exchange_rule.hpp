#pragma once
// The exchange move of docs/model.md §2, as the model states it. Every neuron
// makes one Metropolis move per sweep, decided by one Philox draw keyed by
// (Exchange, step, neuron id), so the decision does not depend on the rank
// the neuron lives on:
//   network neuron in a:  leave with prob min(1, e^{(f_i(q_a) - mu)/T})
//   reservoir neuron:     pick a uniformly, join with prob min(1, e^{-(f_i(q_a) - mu)/T})
// With f_i = -T ln(2 cosh(z_i/T)) (neuron_model.hpp), e^{-f_i/T} = 2 cosh(z_i/T),
// and a test u < e^{±(f - mu)/T} is written without a division or a log:
//   leave:  u < e^{(f - mu)/T}   <=>  u * 2cosh(z/T) < e^{-mu/T}
//   join:   u < e^{-(f - mu)/T}  <=>  u * e^{-mu/T} < 2cosh(z/T)
// (min(1, .) is implicit: u < 1). Everything here is inline so that it
// vectorises inside the sweep's per-neuron loops (exchange_sweep.cpp).
#include <cmath>
#include <cstdint>

#include "gcnn/fastmath.hpp"
#include "gcnn/rng.hpp"

namespace gcnn {

class ExchangeRule {
 public:
  ExchangeRule(double T, double mu) : inv_T_(1.0 / T), exp_minus_mu_T_(std::exp(-mu / T)) {}

  // The neuron's one draw of this sweep. Words 0 and 1 are the leave uniform
  // (word 0) or the proposed network (words 0-1); word 2 is the join uniform.
  static philox4x32_ctr_t draw(const CounterRng& rng, uint64_t step, int64_t id) {
    return rng.draw(Purpose::Exchange, step, static_cast<uint64_t>(id));
  }

  // Network neuron with field z = z_i(q_a): does it leave for the reservoir?
  bool leaves(const philox4x32_ctr_t& x, double z) const {
    return CounterRng::u01_32(x.v[0]) * fm::two_cosh(z * inv_T_) < exp_minus_mu_T_;
  }

  // Reservoir neuron: the network a it proposes to join, uniform over M,
  // a = floor(u M) from a 53-bit u (bias < M 2^-53).
  static int64_t proposed_network(const philox4x32_ctr_t& x, int64_t M) {
    const uint64_t bits = ((static_cast<uint64_t>(x.v[1]) << 32) | x.v[0]) >> 11;
    const int64_t a = static_cast<int64_t>(static_cast<double>(bits) * 0x1p-53 * static_cast<double>(M));
    return a < M - 1 ? a : M - 1;
  }

  // Reservoir neuron with field z = z_i(q_a) in its proposed network a: does it join?
  bool joins(const philox4x32_ctr_t& x, double z) const {
    return CounterRng::u01_32(x.v[2]) * exp_minus_mu_T_ < fm::two_cosh(z * inv_T_);
  }

 private:
  double inv_T_, exp_minus_mu_T_;
};

}  // namespace gcnn
