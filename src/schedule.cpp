#include "gcnn/schedule.hpp"

#include <algorithm>
#include <cmath>

namespace gcnn {

Config physics_at(const Config& c, uint64_t step) {
  if (c.quench_step <= 0 || step < static_cast<uint64_t>(c.quench_step)) return c;
  if (c.quench_displace_fraction > 0) return c;  // tagged minority: the networks move, the physics does not
  Config q = c;
  for (int k = 0; k < c.K; ++k) q.q0[k] += c.quench_shift[k];
  q.kappa *= c.quench_kappa_factor;
  q.mu += c.quench_mu_shift;
  q.quench_step = 0;  // the changed physics itself has no further quench
  return q;
}

int64_t tagged_networks(const Config& c) {
  if (c.quench_displace_fraction <= 0) return 0;
  return std::min<int64_t>(c.M, std::llround(c.quench_displace_fraction * static_cast<double>(c.M)));
}

bool sample_due(const Config& c, uint64_t step) {
  if (step % static_cast<uint64_t>(c.sample_every) == 0 || step == static_cast<uint64_t>(c.steps)) return true;
  if (c.quench_step > 0 && c.quench_dense_every > 0) {
    const uint64_t s0 = static_cast<uint64_t>(c.quench_step);
    if (step >= s0 && step - s0 <= static_cast<uint64_t>(c.quench_dense_steps) &&
        (step - s0) % static_cast<uint64_t>(c.quench_dense_every) == 0)
      return true;
  }
  return false;
}

}  // namespace gcnn
