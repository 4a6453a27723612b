#pragma once
// Counter-based randomness (docs/model.md §7).
//
// Every random number is a pure function of (seed, purpose, step, global id,
// sub-stream). Nothing depends on the MPI rank, the rank count, the order of
// messages or how many numbers were drawn before: a neuron's exchange decision
// in sweep s is the same wherever that neuron happens to live.
//
// Philox4x32-10 from Random123: 64-bit key = seed; the 128-bit counter holds
// the global id (64 bits), the step (48 bits), a sub-stream index (8 bits)
// and the purpose (8 bits). Philox4x32 uses only 32x32->64 multiplies, which
// the compiler can vectorise in the per-neuron loops.
#include <Random123/philox.h>
#include <Random123/boxmuller.hpp>
#include <Random123/uniform.hpp>

#include "gcnn/fastmath.hpp"

#include <array>
#include <cstdint>

namespace gcnn {

enum class Purpose : uint32_t {
  NeuronParams = 1,  // theta_i = (w_i, c_i), drawn once
  InitialQ = 2,      // q_a at step 0
  LearningNoise = 3, // xi in Euler-Maruyama / MALA proposal
  Exchange = 4,      // one Metropolis move per neuron per sweep
  HiddenSample = 5,  // x_i = +-1 in the `sampled` gradient mode
  MalaAccept = 6,    // MALA accept/reject
  VerifyNull = 7,    // gcnn verify: the static-resampling null model (never used by a run)
};

class CounterRng {
 public:
  using Gen = r123::Philox4x32;
  explicit CounterRng(uint64_t seed) {
    key_ = {{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)}};
    ckey_ = {{key_[0], key_[1]}};
  }

  // Four independent 32-bit words for (purpose, step, id, sub). The C entry
  // point of Random123 (fully unrolled rounds) lets GCC vectorise loops that
  // draw once per neuron.
  inline philox4x32_ctr_t draw(Purpose p, uint64_t step, uint64_t id, uint32_t sub = 0) const {
    const philox4x32_ctr_t c = {{static_cast<uint32_t>(id), static_cast<uint32_t>(id >> 32),
                                 static_cast<uint32_t>(step),
                                 static_cast<uint32_t>((step >> 32) & 0xFFFFu) | ((sub & 0xFFu) << 16) |
                                     ((static_cast<uint32_t>(p) & 0xFFu) << 24)}};
    return philox4x32_R(10, c, ckey_);
  }

  // Uniform in (0,1) with 32-bit resolution; never 0 or 1.
  static inline double u01_32(uint32_t x) { return (static_cast<double>(x) + 0.5) * 0x1p-32; }
  // Uniform in (0,1) with 53-bit resolution from two words.
  static inline double u01_64(uint32_t lo, uint32_t hi) {
    const uint64_t v = (static_cast<uint64_t>(hi) << 32) | lo;
    return r123::u01<double>(v);
  }
  // Two standard normals (Box-Muller on 2 x 64 bits = one Philox draw).
  inline std::array<double, 2> normal2(Purpose p, uint64_t step, uint64_t id, uint32_t sub) const {
    const auto r = draw(p, step, id, sub);
    const uint64_t a = (static_cast<uint64_t>(r.v[1]) << 32) | r.v[0];
    const uint64_t b = (static_cast<uint64_t>(r.v[3]) << 32) | r.v[2];
    const r123::double2 n = r123::boxmuller(a, b);
    return {n.x, n.y};
  }
  // K <= 3 standard normals for one network at one step: Box-Muller on the
  // same Philox words, with fastmath's log and sincospi instead of libm's.
  // These are drawn once per network per learning step, and libm's scalar
  // log + sincos cost more than the network's whole gradient; fastmath's
  // vectorise in loops over networks and round the same in every lane.
  template <int K>
  inline void normals(Purpose p, uint64_t step, uint64_t id, double* out) const {
    double n0, n1;
    normal_pair(p, step, id, 0, n0, n1);
    out[0] = n0;
    if constexpr (K >= 2) out[1] = n1;
    if constexpr (K >= 3) {
      normal_pair(p, step, id, 1, n0, n1);
      out[2] = n0;
    }
  }
  // The two normals of sub-stream `sub` (normals<K> uses sub 0, and sub 1 for
  // the third component).
  inline void normal_pair(Purpose p, uint64_t step, uint64_t id, uint32_t sub, double& n0, double& n1) const {
    const auto r = draw(p, step, id, sub);
    const uint64_t u0 = (static_cast<uint64_t>(r.v[1]) << 32) | r.v[0];
    const uint64_t u1 = (static_cast<uint64_t>(r.v[3]) << 32) | r.v[2];
    fm::box_muller(r123::uneg11<double>(u0), r123::u01<double>(u1), n0, n1);
  }

 private:
  Gen::key_type key_;
  philox4x32_key_t ckey_;
};

}  // namespace gcnn
