#include "gcnn/run_control.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace gcnn {

namespace {
// Set during static initialisation, before main and MPI_Init: the process's start.
const auto g_process_start = std::chrono::steady_clock::now();
volatile std::sig_atomic_t g_signal = 0;
extern "C" void on_signal(int sig) { g_signal = sig; }
constexpr int kSignals[3] = {SIGTERM, SIGUSR1, SIGINT};
}  // namespace

SignalGuard::SignalGuard() {
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

double process_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - g_process_start).count();
}

double checkpoint_bytes(const Config& c) {
  const double M = static_cast<double>(c.M), R = static_cast<double>(c.R()), K = c.K;
  return M * (8 * K + 8) + R * (8 + 4 + 4 * K);
}

WallTimeLimit::WallTimeLimit(double max_hours, double state_bytes)
    : max_hours_(max_hours), limit_(3600.0 * max_hours),
      checkpoint_(kAssumedWriteLatency + state_bytes / kAssumedWriteRate) {}

bool WallTimeLimit::must_stop(double elapsed) const {
  return enabled() && elapsed + kMargin * (step_max_ + checkpoint_) >= limit_;
}

std::string WallTimeLimit::explain(double elapsed) const {
  char b[320];
  std::snprintf(b, sizeof(b),
                "run.max_hours = %g (%.1f s) reached: %.1f s elapsed, and one more step (%.3g s) plus a checkpoint "
                "(%.3g s) with a %.0f%% margin would not fit",
                max_hours_, limit_, elapsed, step_max_, checkpoint_, 100 * (kMargin - 1));
  return b;
}

RunControl::RunControl(const Config& c, const Comm& comm)
    : comm_(comm), every_(c.checkpoint_every), seconds_(60.0 * c.checkpoint_minutes), at_end_(c.checkpoint_at_end),
      last_wall_(MPI_Wtime()), step_end_(last_wall_), limit_(c.max_hours, checkpoint_bytes(c)) {
  // Test hook (job tests only): GCNN_TEST_STEP_PAUSE_MS=X sleeps X ms after
  // every step, so that a small run lasts long enough in wall time for a
  // batch system's time-limit signal to reach it, at almost no processor time.
  if (const char* p = std::getenv("GCNN_TEST_STEP_PAUSE_MS")) test_pause_ = std::max(0.0, std::atof(p)) / 1000;
  if (test_pause_ > 0 && comm_.root())
    std::fprintf(stderr, "gcnn: test hook GCNN_TEST_STEP_PAUSE_MS: sleeping %g ms after every step\n", 1000 * test_pause_);
}

RunControl::Decision RunControl::after_step(uint64_t done, uint64_t last) {
  // bit 0: a signal arrived on this rank; bit 1: rank 0's wall-clock interval
  // elapsed; bit 2: rank 0's time budget (run.max_hours) is used up. One
  // allreduce decides all three, so every rank stops at the same step.
  if (test_pause_ > 0) std::this_thread::sleep_for(std::chrono::duration<double>(test_pause_));
  const double now = MPI_Wtime();
  limit_.step_done(now - step_end_);
  step_end_ = now;
  const int sig = static_cast<int>(g_signal);
  int flags = sig != 0 ? 1 : 0;
  Decision d;
  if (comm_.root() && seconds_ > 0 && now - last_wall_ >= seconds_) flags |= 2;
  if (comm_.root() && done < last && limit_.must_stop(process_seconds())) {
    flags |= 4;
    d.why = limit_.explain(process_seconds());
  }
  mpi_check(MPI_Allreduce(MPI_IN_PLACE, &flags, 1, MPI_INT, MPI_BOR, comm_.raw()), "MPI_Allreduce(run control)");
  if (flags & 1) {
    d.stop = d.checkpoint = true;
    d.signal = comm_.max(sig);  // every rank learns which signal (only when one arrived)
  }
  if (flags & 2) d.checkpoint = true;
  if (flags & 4) d.stop = d.checkpoint = d.time_limit = true;
  if (every_ > 0 && done % static_cast<uint64_t>(every_) == 0) d.checkpoint = true;
  if (done == last) {
    d.checkpoint = at_end_;
    d.stop = false;  // the run is complete: nothing to resubmit
  }
  return d;
}

void RunControl::checkpoint_written() {
  last_wall_ = MPI_Wtime();
  limit_.checkpoint_done(last_wall_ - step_end_);
  step_end_ = last_wall_;  // the write is not part of the next step's time
}

}  // namespace gcnn
