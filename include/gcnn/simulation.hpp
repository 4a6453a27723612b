#pragma once
// `gcnn run`: ties the ensemble, the dynamics, the observables and the
// results file together, prints progress and the final summary.
#include <iosfwd>
#include <string>

#include "gcnn/config.hpp"
#include "gcnn/digest.hpp"
#include "gcnn/mpi_env.hpp"

namespace gcnn {

struct RunResult {
  StateDigest digest;
  double wall_seconds = 0;
  double neuron_updates_per_second = 0;
};

// Collective. Writes cfg.output (the caller has checked it may be written).
RunResult run_simulation(const Config& cfg, const Comm& comm, bool overwrite, std::ostream& log);


}  // namespace gcnn
