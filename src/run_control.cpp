#include "gcnn/run_control.hpp"

namespace gcnn {

namespace {
volatile std::sig_atomic_t g_signal = 0;
extern "C" void on_signal(int sig) { g_signal = sig; }
constexpr int kSignals[3] = {SIGTERM, SIGUSR1, SIGINT};
}  // namespace

SignalGuard::SignalGuard() {
  g_signal = 0;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &sa, &old_[i]);
}

SignalGuard::~SignalGuard() {
  for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &old_[i], nullptr);
}

int agreed_signal(const Comm& comm) { return comm.max(static_cast<int>(g_signal)); }

RunControl::RunControl(const Config& c, const Comm& comm)
    : comm_(comm), every_(c.checkpoint_every), seconds_(60.0 * c.checkpoint_minutes), at_end_(c.checkpoint_at_end),
      last_wall_(MPI_Wtime()) {}

RunControl::Decision RunControl::after_step(uint64_t done, uint64_t last) {
  // bit 0: a signal arrived on this rank; bit 1: rank 0's wall-clock interval elapsed.
  const int sig = static_cast<int>(g_signal);
  int flags = sig != 0 ? 1 : 0;
  if (comm_.root() && seconds_ > 0 && MPI_Wtime() - last_wall_ >= seconds_) flags |= 2;
  mpi_check(MPI_Allreduce(MPI_IN_PLACE, &flags, 1, MPI_INT, MPI_BOR, comm_.raw()), "MPI_Allreduce(run control)");
  Decision d;
  if (flags & 1) {
    d.stop = d.checkpoint = true;
    d.signal = comm_.max(sig);  // every rank learns which signal (only when one arrived)
  }
  if (flags & 2) d.checkpoint = true;
  if (every_ > 0 && done % static_cast<uint64_t>(every_) == 0) d.checkpoint = true;
  if (done == last) {
    d.checkpoint = at_end_;
    d.stop = false;  // the run is complete: nothing to resubmit
  }
  return d;
}

void RunControl::checkpoint_written() { last_wall_ = MPI_Wtime(); }

}  // namespace gcnn
