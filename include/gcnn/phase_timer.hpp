#pragma once
// Where a run's wall time went, for the table printed at its end (as LAMMPS
// and GROMACS print one): seconds per phase on each rank, reported as the
// maximum and the mean over ranks. A max well above the mean is load
// imbalance; "other" is the wall time no phase claimed (progress lines, the
// per-step signal agreement, a quench's rebuild).
#include <array>
#include <string>

#include <mpi.h>

namespace gcnn {

class Comm;

enum class Phase { Setup, Learning, Exchange, Observables, Checkpoint, Count };

class PhaseTimer {
 public:
  // Adds the wall time from construction to destruction to one phase.
  class Scope {
   public:
    Scope(PhaseTimer& t, Phase p) : t_(t), p_(p), start_(MPI_Wtime()) {}
    ~Scope() { t_.add(p_, MPI_Wtime() - start_); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    PhaseTimer& t_;
    Phase p_;
    double start_;
  };

  void add(Phase p, double seconds) { s_[static_cast<size_t>(p)] += seconds; }
  double seconds(Phase p) const { return s_[static_cast<size_t>(p)]; }
  // Collective: the table for a run that took `wall` seconds on every rank
  // (rank 0's text; the other ranks get "").
  std::string table(const Comm& comm, double wall) const;

 private:
  std::array<double, static_cast<size_t>(Phase::Count)> s_{};
};

}  // namespace gcnn
