#pragma once
// The memory a `gcnn run` needs per rank, estimated from the configuration
// before anything is allocated (issue 15 item 5), and the memory the rank may
// use. A run that would not fit is refused (exit 2) instead of dying of
// std::bad_alloc or the OOM killer with a half-written results file.
#include <iosfwd>
#include <string>

#include "gcnn/config.hpp"
#include "gcnn/mpi_env.hpp"

namespace gcnn {

// Bytes on the rank with the largest share (ceil(M/P) networks, ceil(R/P) neurons).
struct MemoryEstimate {
  double state = 0;        // q, offsets, neuron buffers (active, its double buffer, reservoir)
  double sweep = 0;        // the exchange sweep's working buffers (grown in the first sweeps)
  double observables = 0;  // histograms, hbar-scan sums, copies of Omega and log e_N, q before the step
  double setup = 0;        // GrandPotential while the observables are built: its neuron copy and tables
  double libraries = 0;    // MPI, HDF5, PETSc and the program itself (measured resident size)
  double peak = 0;         // libraries + observables + max(setup [+ state on resume], state + sweep)

  std::string text() const;  // "X GiB per rank (state ..., observables ..., setup peak ...)"
};

MemoryEstimate estimate_memory(const Config& c, int n_ranks, bool resume);

// The memory one rank may use: the smallest of MemAvailable / (ranks on the
// node), the cgroup's memory limit / (ranks on the node), and SLURM's
// allocation (SLURM_MEM_PER_CPU x SLURM_CPUS_PER_TASK, or SLURM_MEM_PER_NODE /
// ranks on the node), over all ranks. `source` names which one.
struct MemoryLimit {
  double bytes = 0;
  std::string source;
};
MemoryLimit rank_memory_limit(const Comm& comm);  // collective

// Collective: prints the estimate on rank 0 and throws ConfigError (exit 2)
// on every rank if it exceeds rank_memory_limit. GCNN_MEMORY_LIMIT_MB, if
// set, replaces the limit (tests, or a site that knows better).
void check_memory(const Config& c, const Comm& comm, bool resume, std::ostream& log);

}  // namespace gcnn
