// gcnn: a grand canonical ensemble of neural networks (see README.md).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string_view>

#include "gcnn/build_info.hpp"
#include "gcnn/cli.hpp"
#include "gcnn/h5.hpp"
#include "gcnn/run_control.hpp"
#include "gcnn/solver_module.hpp"
#include "gcnn/version.hpp"

namespace {

using namespace gcnn;

int cmd_version(int, char**, const Comm& comm) {
  if (comm.root())
    std::cout << "gcnn " << kVersion << " (git " << kGitSha << ")\nbuilt with " << build_info()
              << "\narithmetic: " << kArithmetic << "\nlibraries: " << library_versions() << "\n";
  return kExitOk;
}

int cmd_help(int, char**, const Comm& comm) {
  if (comm.root()) std::cout << help_text("");
  return kExitOk;
}

// A solver-side command: run from the solver module, loaded on first use
// (solver_module.hpp).
template <int (*SolverCommands::*entry)(int, char**, const Comm&)>
int solver_side(int argc, char** argv, const Comm& comm) {
  return with_solver_module(comm, [&](const SolverCommands& t) { return (t.*entry)(argc, argv, comm); });
}

// The subcommands: name, entry point, one line of help.
struct Command {
  std::string_view name;
  int (*run)(int argc, char** argv, const Comm& comm);
  std::string_view help;
};
constexpr Command kCommands[] = {
    {"run", cmd_run, "run the ensemble (the default; --resume PATH|latest continues a run)"},
    {"solve", solver_side<&SolverCommands::solve>, "solve the Schroedinger equation of the run's configuration (PETSc/SLEPc)"},
    {"verify", solver_side<&SolverCommands::verify>, "check a results file against the model's identities"},
    {"digest", cmd_digest, "print the state digest of a results file or checkpoint"},
    {"config", cmd_config, "validate a configuration and print it as INI"},
    {"bench", cmd_bench, "measure the speed of the step and the solver"},
    {"version", cmd_version, "print the version, the build (compiler, flags, instruction set) and its arithmetic"},
    {"--version", cmd_version, "the same as version"},
    {"help", cmd_help, "print the help"},
    {"--help", cmd_help, "print the help"},
    {"-h", cmd_help, "print the help"},
};

const Command* find_command(std::string_view name) {
  for (const Command& c : kCommands)
    if (c.name == name) return &c;
  return nullptr;
}

std::string command_list() {
  std::string s;
  for (const Command& c : kCommands) {
    if (c.name.front() == '-' || c.name == "help" || c.name == "version") continue;
    if (!s.empty()) s += ", ";
    s += c.name;
  }
  return s;
}

// The command argv selects, and the arguments it sees: argv[1] names it
// (the command sees argv from there on), or there is none or only options
// (`gcnn`, `gcnn --config x.ini`: run, seeing all of argv). nullptr: an
// unknown name.
struct Selection {
  const Command* command;
  int argc;
  char** argv;
};
Selection select_command(int argc, char** argv) {
  static const Command* const run = find_command("run");
  if (argc <= 1) return {run, 1, argv};  // no subcommand: run the demo
  const std::string_view name = argv[1];
  if (const Command* c = find_command(name)) return {c, argc - 1, argv + 1};
  if (name.rfind("--", 0) == 0) return {run, argc, argv};
  return {nullptr, argc, argv};
}

int dispatch(int argc, char** argv, const Comm& comm) {
  const Selection s = select_command(argc, argv);
  if (!s.command)
    throw ConfigError("unknown command '" + std::string(argv[1]) + "' (commands: " + command_list() +
                      "; see gcnn --help)");
  return s.command->run(s.argc, s.argv, comm);
}

}  // namespace

int main(int argc, char** argv) {
  // A run's stop signals are caught from its first line: SLURM may send its
  // time-limit warning as the job starts, and MPI_Init alone takes a second.
  // The run sees such a signal at its first check and exits 75 (jobs/lib.sh).
  std::optional<SignalGuard> stop_signals;
  if (const Command* c = select_command(argc, argv).command; c && c->run == cmd_run) stop_signals.emplace();
  // Test hook (checkpoint_signal): SIGUSR1 before MPI_Init, as SLURM may send it.
  if (stop_signals && std::getenv("GCNN_TEST_SIGNAL_AT_START")) std::raise(SIGUSR1);
  MpiSession mpi(&argc, &argv);
  Comm comm(MPI_COMM_WORLD);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // we report HDF5 errors ourselves (h5::check)
  try {
    return dispatch(argc, argv, comm);
  } catch (const ConfigError& e) {  // bad input, agreed by every rank before anything was written
    if (comm.root()) std::cerr << "gcnn: error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const AgreedError& e) {
    // A runtime failure every rank saw and agreed on: said once. The job
    // still aborts: HDF5 objects left open by the failure must not be closed
    // (and written to) at MPI_Finalize, so the files stay as of their last flush.
    if (comm.root()) std::cerr << "gcnn: error: " << e.what() << "\n" << std::flush;
    // Every rank is here (agreed): let rank 0's message out first (the codes of
    // these two calls do not matter: the job ends either way).
    (void)MPI_Barrier(comm.raw());
    (void)MPI_Abort(MPI_COMM_WORLD, kExitFailure);
    return kExitFailure;
  } catch (const std::exception& e) {
    // Not necessarily reached by every rank: abort the whole job so that no
    // rank waits forever in a collective.
    std::cerr << "gcnn: error (rank " << comm.rank() << "): " << e.what() << "\n" << std::flush;
    (void)MPI_Abort(MPI_COMM_WORLD, kExitFailure);
    return kExitFailure;
  }
}
