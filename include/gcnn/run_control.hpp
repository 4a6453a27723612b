#pragma once
// When the run loop checkpoints and when it stops early.
//
// Triggers: every `checkpoint.every` steps, every `checkpoint.minutes` of
// wall time (rank 0's clock), at the last step, on SIGTERM, SIGUSR1 or
// SIGINT, and before `run.max_hours` of wall time since the start of the
// process would pass (rank 0's clock; it stops like a signal, exit 75). A signal only sets a flag; once per step all ranks agree on the
// flags with one small allreduce, so every rank checkpoints at the same step
// and nobody acts on a signal that another rank has not seen yet.
#include <csignal>
#include <cstdint>
#include <string>

#include "gcnn/config.hpp"
#include "gcnn/mpi_env.hpp"

namespace gcnn {

// Installs the handlers of SIGTERM, SIGUSR1 and SIGINT for its lifetime.
// `gcnn run` holds one from main's first line, so a signal during MPI_Init,
// setup or a checkpoint load is seen (issue 15): a handler only records the
// signal, which stays recorded for the process's life.
class SignalGuard {
 public:
  SignalGuard();
  ~SignalGuard();
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

 private:
  struct sigaction old_[3];
};

// Collective: the signal some rank has received since the guard was
// installed (0: none). Setup stages call it to stop before any step.
int agreed_signal(const Comm& comm);

// Wall-clock seconds since this process started (its static initialisation).
double process_seconds();

// Bytes of a checkpoint of this configuration (checkpoint.hpp's layout: q and
// N per network, id, c and K weights per neuron), for the time budget before
// the first checkpoint has been timed.
double checkpoint_bytes(const Config& c);

// The time budget of `run.max_hours`: the run stops (checkpointed) after a
// step when the slowest step seen plus one checkpoint write, with a 25%
// margin, would no longer fit before the limit. The checkpoint write is
// timed at each write; before the first it is estimated from the state size
// at a conservative rate (kAssumedWriteRate plus kAssumedWriteLatency).
class WallTimeLimit {
 public:
  static constexpr double kAssumedWriteRate = 50e6;     // bytes/s: a busy shared file system
  static constexpr double kAssumedWriteLatency = 0.5;   // s: create, fsync, rename, prune
  static constexpr double kMargin = 1.25;

  WallTimeLimit(double max_hours, double state_bytes);
  bool enabled() const { return limit_ > 0; }
  void step_done(double seconds) { step_max_ = seconds > step_max_ ? seconds : step_max_; }
  void checkpoint_done(double seconds) { checkpoint_ = seconds; }
  // Whether, `elapsed` seconds into the process, one more step and a
  // checkpoint may no longer fit.
  bool must_stop(double elapsed) const;
  // "run.max_hours = 0.002 (7.2 s): ..." for the stop message.
  std::string explain(double elapsed) const;

 private:
  double max_hours_, limit_, step_max_ = 0, checkpoint_;
};

class RunControl {
 public:
  RunControl(const Config& c, const Comm& comm);
  RunControl(const RunControl&) = delete;
  RunControl& operator=(const RunControl&) = delete;

  struct Decision {
    bool checkpoint = false;  // write a checkpoint after this step
    bool stop = false;        // then leave the loop ("checkpointed, resubmit me")
    int signal = 0;           // the signal that asked for the stop
    bool time_limit = false;  // run.max_hours asked for the stop
    std::string why;          // rank 0: the time-limit message
  };
  // Collective, once per completed step `done` (1-based) of `last`.
  Decision after_step(uint64_t done, uint64_t last);
  // Restarts the wall-clock interval; times the write just finished (it
  // began when after_step returned).
  void checkpoint_written();

 private:
  Comm comm_;
  int64_t every_;
  double seconds_;
  bool at_end_;
  double last_wall_;
  double step_end_;  // when the last step (or checkpoint) ended
  WallTimeLimit limit_;
  double test_pause_ = 0;  // s after every step: the test hook GCNN_TEST_STEP_PAUSE_MS
};

}  // namespace gcnn
