#pragma once
// One writer per run (issue 15 item 2): a lock file held for the whole run,
// OUTPUT.lock beside the results file and CKPTDIR/.lock in the checkpoint
// directory, so that a second `gcnn run` on the same output (fresh,
// --overwrite or --resume), or a second run sharing checkpoint.dir, is
// refused before it creates, removes or truncates anything.
//
// Rank 0 takes an exclusive flock() on the file and writes into it who holds
// it: host, PID, the PID's start time (so a recycled PID is not taken for the
// holder), the kernel's boot id, the run id and the start time. flock is the
// primary exclusion; the text is what detects a lock left by a dead process,
// and it is the only protection where flock is not enforced across nodes
// (some NFS and parallel file systems):
//   - flock held by another process: refused (a live run).
//   - flock free, text of a process on this host that is no longer running
//     (or ran before the last boot): stale, reported and taken over.
//   - flock free, text of a live process on this host: refused (flock not
//     enforced here; the holder is alive).
//   - flock free, text of another host: refused, since this host cannot tell
//     whether that process lives; the message says to delete the file once
//     that run is known to be dead.
// The outcome is agreed on every rank (ConfigError, exit 2, one message).
// The lock file is removed when the holder releases it normally.
#include <iosfwd>
#include <string>

#include "gcnn/mpi_env.hpp"

namespace gcnn {

// Who holds a lock file: its text, one key=value a line.
struct LockOwner {
  std::string host, boot_id, run_id, started;
  long long pid = 0, pid_start = 0;  // pid_start: /proc/PID/stat field 22 (clock ticks since boot)

  static LockOwner self(const std::string& run_id);
  static LockOwner parse(const std::string& text);
  std::string text() const;
  std::string describe() const;  // "run id X, PID P on host H, started T"
  // This host and boot, and the PID runs with the recorded start time.
  bool alive_on_this_host() const;
};

class RunLock {
 public:
  // Collective. Rank 0 takes `path` for `what` (e.g. "results file 'o.h5'")
  // on behalf of the run `run_id`; every rank throws the same ConfigError if
  // it is held. A stale lock is reported on `log` and taken over.
  RunLock(std::string path, const std::string& what, const std::string& run_id, const Comm& comm, std::ostream& log);
  ~RunLock();  // rank 0: removes the file, then releases the flock
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;  // rank 0 only
};

}  // namespace gcnn
