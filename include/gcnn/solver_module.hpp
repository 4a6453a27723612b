#pragma once
// The solver side (PETSc and SLEPc: `gcnn solve`, `gcnn verify`, `gcnn bench
// --bench.solver`) is built into a module, gcnn_solver.so, that gcnn loads
// only when one of those commands runs. Why: PETSc and SLEPc bring about 60
// shared libraries. Loading them costs every rank about 0.1 s of processor
// time (and, at scale, a storm of opens on the shared file system) for
// `gcnn run`, `digest` and `config`, which never use them.
//
// The module holds solver_module_entry.cpp and the solver-side sources
// (CMakeLists.txt, GCNN_SOLVER_SOURCES); the ensemble side stays in the
// executable, which exports its symbols to the module. The tests link both
// sides into one static library and never load the module.
#include <iostream>

#include "gcnn/cli.hpp"

namespace gcnn {

// The module's entry points.
struct SolverCommands {
  int (*verify)(int argc, char** argv, const Comm& comm);
  int (*solve)(int argc, char** argv, const Comm& comm);
  int (*bench_solver)(CliRequest& req, const Comm& comm);  // gcnn bench --bench.solver
};

// The module's file name, and the C symbol of its table. The "_v1" is the
// table's layout: change it with the struct, so that a module from another
// build is refused instead of called through the wrong pointers.
inline constexpr const char* kSolverModuleFile = "gcnn_solver.so";
inline constexpr const char* kSolverModuleSymbol = "gcnn_solver_commands_v1";

// Collective: the module's table, loaded on first use by every rank (an
// AgreedError naming the module's paths and the loader's message if any rank
// cannot load it). Looked for beside the executable (the build tree), then
// at the installed layout's relative path from bin to the module directory.
const SolverCommands& solver_commands(const Comm& comm);

// Collective: f(table) with the module's table, or, if any rank cannot load
// the module, the reason said once on rank 0 and exit 1. Nothing is open yet
// at that point, so the job ends normally (no MPI_Abort).
template <class F> int with_solver_module(const Comm& comm, F&& f) {
  const SolverCommands* table = nullptr;
  try {
    table = &solver_commands(comm);
  } catch (const AgreedError& e) {
    if (comm.root()) std::cerr << "gcnn: error: " << e.what() << "\n";
    return kExitFailure;
  }
  return f(*table);
}

}  // namespace gcnn
