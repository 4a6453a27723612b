#include "gcnn/phase_timer.hpp"

#include <cstdio>

#include "gcnn/mpi_env.hpp"

namespace gcnn {

std::string PhaseTimer::table(const Comm& comm, double wall) const {
  static constexpr const char* kNames[] = {"setup", "learning", "exchange", "observables", "checkpoint", "other"};
  constexpr size_t n = static_cast<size_t>(Phase::Count);
  std::array<double, n + 1> mine{}, mx{}, sum{};
  double claimed = 0;
  for (size_t i = 0; i < n; ++i) {
    mine[i] = s_[i];
    claimed += s_[i];
  }
  mine[n] = wall > claimed ? wall - claimed : 0.0;
  mx = mine;
  sum = mine;
  mpi_check(MPI_Allreduce(MPI_IN_PLACE, mx.data(), static_cast<int>(n + 1), MPI_DOUBLE, MPI_MAX, comm.raw()),
            "MPI_Allreduce(timing max)");
  comm.sum(sum.data(), n + 1);
  if (!comm.root()) return "";
  std::string t = "---- timing (wall seconds per rank over " + std::to_string(comm.size()) + " rank(s)) ----\n";
  char b[160];
  std::snprintf(b, sizeof(b), "%-12s %10s %10s %8s\n", "phase", "max", "mean", "% wall");
  t += b;
  for (size_t i = 0; i <= n; ++i) {
    const double mean = sum[i] / comm.size();
    std::snprintf(b, sizeof(b), "%-12s %10.3f %10.3f %7.1f%%\n", kNames[i], mx[i], mean,
                  wall > 0 ? 100.0 * mean / wall : 0.0);
    t += b;
  }
  std::snprintf(b, sizeof(b), "%-12s %10.3f\n", "total", wall);
  return t + b;
}

}  // namespace gcnn
