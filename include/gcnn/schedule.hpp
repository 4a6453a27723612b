#pragma once
// What happens when in a run (docs/model.md §6 items 4 and 7): the physics in
// force at a step (a quench changes it at quench.step), which networks a
// tagged-minority quench moves, and the steps that are sampled.
#include <cstdint>

#include "gcnn/config.hpp"

namespace gcnn {

// The physics in force for learning step `step` (0-based): the config
// itself, or after quench.step the quenched U and mu (unchanged for a
// tagged-minority quench, quench.displace_fraction > 0).
Config physics_at(const Config& c, uint64_t step);
// Networks displaced by a tagged-minority quench: those with global id
// a < round(quench.displace_fraction * M); 0 for a collective quench.
int64_t tagged_networks(const Config& c);
// Whether a sample is taken after `step` steps (every sample_every, the last
// step, and the dense window after a quench).
bool sample_due(const Config& c, uint64_t step);

}  // namespace gcnn
