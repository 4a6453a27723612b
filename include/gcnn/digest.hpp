#pragma once
// The state digest (docs/model.md §7): a 128-bit fingerprint of the canonical
// per-network state. It depends only on (step, q bit patterns, neuron ids per
// network in canonical order, reservoir membership), never on the rank count
// or on where the data lives. Users compare runs with it.
//
//   h_a   = chain of mix64 over (a, bits(q_a[0..K-1]), N_a, ids of A_a in order)
//   D_net = sum over a of mix64(h_a)            (mod 2^64, order free)
//   D_res = sum over reservoir ids i of mix64(i ^ 0x5EED5EED5EED5EED)
//   text  = "<16 hex D_net>-<16 hex D_res>@<step>"
// mix64 is the splitmix64 finaliser.
#include <cstdint>
#include <string>

#include "gcnn/ensemble.hpp"

namespace gcnn {

struct StateDigest {
  uint64_t networks = 0, reservoir = 0;
  uint64_t step = 0;
  std::string text() const;
};

inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

StateDigest compute_digest(const Ensemble& e);  // collective

}  // namespace gcnn
