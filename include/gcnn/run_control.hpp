#pragma once
// When the run loop checkpoints and when it stops early.
//
// Triggers: every `checkpoint.every` steps, every `checkpoint.minutes` of
// wall time (rank 0's clock), at the last step, and on SIGTERM, SIGUSR1 or
// SIGINT. A signal only sets a flag; once per step all ranks agree on the
// flags with one small allreduce, so every rank checkpoints at the same step
// and nobody acts on a signal that another rank has not seen yet.
#include <csignal>
#include <cstdint>

#include "gcnn/config.hpp"
#include "gcnn/mpi_env.hpp"

namespace gcnn {

// Installs the handlers of SIGTERM, SIGUSR1 and SIGINT for its lifetime.
// `gcnn run` holds one from its first instant, so a signal during setup or a
// checkpoint load is seen (issue 15): a handler only records the signal.
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

class RunControl {
 public:
  RunControl(const Config& c, const Comm& comm);
  RunControl(const RunControl&) = delete;
  RunControl& operator=(const RunControl&) = delete;

  struct Decision {
    bool checkpoint = false;  // write a checkpoint after this step
    bool stop = false;        // then leave the loop ("checkpointed, resubmit me")
    int signal = 0;           // the signal that asked for the stop
  };
  // Collective, once per completed step `done` (1-based) of `last`.
  Decision after_step(uint64_t done, uint64_t last);
  void checkpoint_written();  // restarts the wall-clock interval

 private:
  Comm comm_;
  int64_t every_;
  double seconds_;
  bool at_end_;
  double last_wall_;
};

}  // namespace gcnn
