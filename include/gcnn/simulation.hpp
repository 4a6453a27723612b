#pragma once
// `gcnn run`: ties the ensemble, the dynamics, the observables and the
// results file together, prints progress and the final summary.
#include <iosfwd>
#include <string>

#include <memory>

#include "gcnn/checkpoint.hpp"
#include "gcnn/config.hpp"
#include "gcnn/digest.hpp"
#include "gcnn/mpi_env.hpp"

namespace gcnn {

struct RunResult {
  StateDigest digest;  // of the last step reached
  double wall_seconds = 0;
  double neuron_updates_per_second = 0;
  bool interrupted = false;  // stopped by a signal or run.max_hours after writing a checkpoint
  int signal = 0;
};

// A run continued from a checkpoint already loaded into `ensemble`.
struct Resume {
  std::unique_ptr<Ensemble> ensemble;
  CheckpointMeta meta;
  std::string path;
  std::string original_output;  // output.file of the checkpointed run
};

class RunLog;

// Collective. Writes cfg.output (the caller has checked it may be written)
// and checkpoints; with `resume`, continues that run and appends to its
// results. With `log_file`, opens it (log_path) once the run owns its files.
RunResult run_simulation(const Config& cfg, const Comm& comm, bool overwrite, std::ostream& log,
                         Resume* resume = nullptr, RunLog* log_file = nullptr);


}  // namespace gcnn
