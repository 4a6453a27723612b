// gcnn: a grand canonical ensemble of neural networks (see README.md).
#include <cstring>
#include <iostream>

#include "gcnn/build_info.hpp"
#include "gcnn/cli.hpp"
#include "gcnn/digest.hpp"
#include "gcnn/h5.hpp"
#include "gcnn/simulation.hpp"
#include "gcnn/version.hpp"


int main(int argc, char** argv) {
  using namespace gcnn;
  MpiSession mpi(&argc, &argv);
  Comm comm(MPI_COMM_WORLD);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // we report HDF5 errors ourselves
  const std::string cmd = argc > 1 ? argv[1] : "run";
  // Subcommand arguments start after the subcommand name (none given: run the demo).
  int sub_argc = argc > 1 ? argc - 1 : 1;
  char** sub_argv = argc > 1 ? argv + 1 : argv;
  try {
    if (cmd == "--version" || cmd == "version") {
      if (comm.root())
        std::cout << "gcnn " << kVersion << " (git " << kGitSha << ")\nbuilt with " << build_info()
                  << "\narithmetic: " << kArithmetic << "\n";
      return kExitOk;
    }
    if (cmd == "--help" || cmd == "-h" || cmd == "help") {
      if (comm.root()) std::cout << help_text("");
      return kExitOk;
    }
    if (cmd == "run") return cmd_run(sub_argc, sub_argv, comm);
    if (cmd == "digest") return cmd_digest(sub_argc, sub_argv, comm);
    if (cmd == "config") return cmd_config(sub_argc, sub_argv, comm);
    if (cmd == "bench") return cmd_bench(sub_argc, sub_argv, comm);
    if (cmd == "solve") return cmd_solve(sub_argc, sub_argv, comm);
    if (cmd == "verify") return cmd_verify(sub_argc, sub_argv, comm);
    if (cmd.rfind("--", 0) == 0) return cmd_run(argc, argv, comm);  // `gcnn --config x.ini` means run
    throw ConfigError("unknown command '" + cmd + "' (commands: run, solve, verify, digest, config, bench; see gcnn --help)");
  } catch (const ConfigError& e) {
    if (comm.root()) std::cerr << "gcnn: error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const std::exception& e) {
    // Not necessarily reached by every rank: abort the whole job so that no
    // rank waits forever in a collective.
    std::cerr << "gcnn: error (rank " << comm.rank() << "): " << e.what() << "\n";
    MPI_Abort(MPI_COMM_WORLD, kExitFailure);
    return kExitFailure;
  }
}
