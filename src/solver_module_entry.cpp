// The solver module's one exported symbol (solver_module.hpp): its table of
// entry points, given only to an executable of the same gcnn version.
#include <cstring>
#include <string_view>

#include "gcnn/bench.hpp"
#include "gcnn/solver_module.hpp"
#include "gcnn/version.hpp"

static_assert(std::string_view(gcnn::kSolverModuleSymbol) == "gcnn_solver_commands_v1");

extern "C" __attribute__((visibility("default"))) const gcnn::SolverCommands* gcnn_solver_commands_v1(
    const char* version) {
  static const gcnn::SolverCommands table{gcnn::cmd_verify, gcnn::cmd_solve, gcnn::bench_solver};
  return std::strcmp(version, gcnn::kVersion) == 0 ? &table : nullptr;
}
