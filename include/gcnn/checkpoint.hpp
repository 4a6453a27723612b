#pragma once
// Restart files: the complete state of a run at one step (README "Restart").
//
// One parallel-HDF5 file per checkpoint, written by all ranks (metadata and
// the bulk arrays collectively, each rank its own blocks; MPI-IO striping and
// collective-buffering hints from the [checkpoint] keys, the bulk arrays
// aligned to the stripe: README "On a parallel file system"):
//   /  attributes  gcnn_file_kind = "checkpoint", gcnn_schema_version,
//                  gcnn_version, git_sha, build, arithmetic (build_info.hpp),
//                  run_id, step, n_ranks (at write time),
//                  n_samples (results rows up to and including `step`),
//                  config (INI text of every parameter), digest (state digest),
//                  n_active, n_reservoir
//   /state/q          [M, K] float64  q_a in network order
//   /state/N          [M]    int64    N_a
//   /state/neuron_id  [R]    int64    active neurons network by network, each
//                                     network in canonical (id) order, then the reservoir
//   /state/neuron_c   [R]    float32  theta_i = (w_i, c_i) of the same neurons
//   /state/neuron_w   [K, R] float32
//                     the three neuron_* arrays: contiguous, @gcnn_checksum [2] int64
//   /state/restart    group, @components = "exchange learning observables"
//                     (one line each): every component's restart state
//                     (restart_state.hpp), written by the component itself
//   /state/restart/<component>  [n] int64  its counters (global sums),
//                                     @names = their names, one per line
//   /state/grand_potential  the analytic tables, so that a resume need not
//                     solve the setup again (grand_potential_tables.hpp; optional)
// (schema 2 had /state/counters [12] instead; it is still read.)
// There is no RNG state to store: every draw is keyed by (seed, purpose,
// step, global id), and seed and step are in the file.
//
// Integrity: the bulk arrays (neuron_*) carry a positional checksum
// (@gcnn_checksum, summed over ranks, so any rank count can verify it), the
// small ones HDF5's Fletcher32 per chunk, the file uses the newest format
// (checksummed metadata), and the state digest is recomputed and compared
// after every load. A file is written as NAME.tmp, closed, fsynced on every
// node and renamed by rank 0, so a crash at any instant leaves the older
// checkpoints intact. A load opens it once, collectively, through MPI-IO.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "gcnn/config.hpp"
#include "gcnn/ensemble.hpp"
#include "gcnn/restart_state.hpp"

namespace gcnn {

struct GrandPotentialTables;

// 2: bulk arrays plain + gcnn_checksum; 3: named per-component restart state.
inline constexpr int64_t kCheckpointSchemaVersion = 3;
inline constexpr int64_t kOldestReadableCheckpointSchema = 2;

// A checkpoint that is missing, damaged or does not belong to this run. It is
// bad input (exit code 2), raised on every rank with the same message.
struct CheckpointError : ConfigError {
  using ConfigError::ConfigError;
};

struct CheckpointMeta {
  uint64_t step = 0;
  std::string run_id, config_ini, digest, git_sha, version;
  std::string arithmetic;  // build_info.hpp kArithmetic of the writer; "" in older checkpoints
  int64_t n_ranks = 0, n_samples = 0;
  // Every component's restart state (global sums), by component name.
  RestartState restart;
  // Written as /state/grand_potential if set (grand_potential_tables.hpp);
  // not read back into the meta: a resume reads it when it sets up the physics.
  const GrandPotentialTables* grand_potential = nullptr;
};

// The [checkpoint] keys the file-level I/O uses: striping, MPI-IO hints.
using CheckpointIo = Sections<CheckpointParams>;

// Collective. Writes `path` atomically; returns the bytes of the file. The
// MPI-IO hints in force for the file (MPI_File_get_info) go to `hints_used`.
double write_checkpoint(const std::string& path, const Ensemble& e, const CheckpointMeta& meta,
                        const CheckpointIo& io, std::string* hints_used = nullptr);
// Collective (rank 0 reads). Throws CheckpointError naming the file.
CheckpointMeta read_checkpoint_meta(const std::string& path, const Comm& comm);
// Collective. Loads the state into `e` (constructed Unset with the checkpoint's
// config on any rank count), verifies the checksums and the digest.
void load_checkpoint(const std::string& path, Ensemble& e, const CheckpointMeta& meta);

// The checkpoints of one run: DIR/ckpt.<step, 12 digits>.h5, newest kept.
class CheckpointStore {
 public:
  CheckpointStore(std::string dir, int keep, const Comm& comm);
  const std::string& dir() const { return dir_; }
  std::string path_for(uint64_t step) const;
  // Complete checkpoints (no .tmp), newest first. Collective.
  std::vector<std::string> list() const;
  // Creates the directory if needed (collective; throws ConfigError if it cannot).
  void ensure_dir() const;
  // Deletes all but the newest `keep` (collective; rank 0 deletes).
  void prune() const;

 private:
  std::string dir_;
  int keep_;
  Comm comm_;
};

// The checkpoint directory of a config: checkpoint.dir, or the output file
// name without ".h5" plus ".ckpt".
std::string checkpoint_dir(const Config& c);

}  // namespace gcnn
