#pragma once
// Subcommand entry points. Each returns the process exit code (see ExitCode).
#include "gcnn/config.hpp"
#include "gcnn/mpi_env.hpp"

namespace gcnn {

// Exit codes shared by every subcommand (README "Exit codes").
// 75 (EX_TEMPFAIL in sysexits.h): stopped by a signal after writing a
// checkpoint; resubmit with --resume latest.
// 3: `gcnn verify` found a failing Tier-1 identity.
enum ExitCode { kExitOk = 0, kExitFailure = 1, kExitBadInput = 2, kExitVerifyFailed = 3, kExitCheckpointed = 75 };

// Reads --config on rank 0 only, broadcasts the text and validates on every
// rank: all ranks reach the same verdict, before any file is written.
Config load_config(CliRequest& req, const Comm& comm);

int cmd_run(int argc, char** argv, const Comm& comm);
int cmd_digest(int argc, char** argv, const Comm& comm);
// `gcnn config [--config FILE] [--key value ...]`: validates and prints the
// complete merged configuration as INI (what a run would use).
int cmd_config(int argc, char** argv, const Comm& comm);
int cmd_bench(int argc, char** argv, const Comm& comm);
int cmd_solve(int argc, char** argv, const Comm& comm);
int cmd_verify(int argc, char** argv, const Comm& comm);

}  // namespace gcnn
