// Subcommands `run` and `digest`, and the shared config loading.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "gcnn/cli.hpp"
#include "gcnn/h5.hpp"
#include "gcnn/simulation.hpp"

namespace gcnn {

Config load_config(CliRequest& req, const Comm& comm) {
  if (!req.config_path.empty()) {
    std::string text, err;
    if (comm.root()) {
      FILE* f = std::fopen(req.config_path.c_str(), "rb");
      if (!f) {
        err = "cannot read config file '" + req.config_path + "': " + std::strerror(errno);
      } else {
        char buf[65536];
        size_t n;
        while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
        std::fclose(f);
      }
    }
    comm.bcast(err);
    if (!err.empty()) throw ConfigError(err);
    comm.bcast(text);
    merge_config_text(req, text, req.config_path);
  }
  return make_config(req.raw);
}

namespace {
bool file_exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}
}  // namespace

int cmd_run(int argc, char** argv, const Comm& comm) {
  CliRequest req = parse_command_line(argc, argv);
  if (req.help) {
    if (comm.root()) std::cout << help_text("run");
    return kExitOk;
  }
  if (!req.positional.empty()) throw ConfigError("gcnn run takes no positional argument ('" + req.positional[0] + "')");
  const Config cfg = load_config(req, comm);
  int exists = comm.root() && file_exists(cfg.output) ? 1 : 0;
  comm.bcast(&exists, 1);
  if (exists && !req.overwrite)
    throw ConfigError("output file '" + cfg.output + "' exists; pass --overwrite to replace it or choose --output");
  run_simulation(cfg, comm, req.overwrite, std::cout);
  return kExitOk;
}

int cmd_digest(int argc, char** argv, const Comm& comm) {
  CliRequest req = parse_command_line(argc, argv);
  if (req.positional.size() != 1) throw ConfigError("usage: gcnn digest FILE");
  const std::string path = req.positional[0];
  std::string text, err;
  if (comm.root()) {
    try {
      h5::Handle f = h5::open_file(path, false, MPI_COMM_SELF);
      if (!h5::exists(f, "digest")) throw h5::H5Error("'" + path + "' has no /digest group (the run did not finish?)");
      h5::Handle g = h5::open_group(f, "digest");
      text = h5::read_attr_string(g, "state");
    } catch (const std::exception& e) {
      err = e.what();
    }
  }
  comm.bcast(err);
  if (!err.empty()) throw ConfigError(err);
  if (comm.root()) std::cout << "digest " << text << "\n";
  return kExitOk;
}

}  // namespace gcnn
