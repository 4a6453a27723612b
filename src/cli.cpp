// Subcommands `run` and `digest`, and the shared config loading.
#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>

#include "gcnn/build_info.hpp"
#include "gcnn/checkpoint.hpp"
#include "gcnn/cli.hpp"
#include "gcnn/h5.hpp"
#include "gcnn/memory_estimate.hpp"
#include "gcnn/run_control.hpp"
#include "gcnn/run_log.hpp"
#include "gcnn/simulation.hpp"
#include "gcnn/solve_setup.hpp"

namespace gcnn {

namespace {

// A config file is a regular file of sensible size: a directory would read as
// empty (the defaults, silently), /dev/zero would read forever, a FIFO blocks.
constexpr off_t kMaxConfigBytes = 1 << 20;

std::string read_config_file(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0)
    throw ConfigError("cannot read config file '" + path + "': " + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    throw ConfigError("config file '" + path + "' is not a regular file" +
                      (S_ISDIR(st.st_mode) ? " (it is a directory)" : ""));
  if (st.st_size > kMaxConfigBytes)
    throw ConfigError("config file '" + path + "' is " + std::to_string(st.st_size) +
                      " bytes; a gcnn config is a few kB (at most 1 MiB)");
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw ConfigError("cannot read config file '" + path + "': " + std::strerror(errno));
  std::string text;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0 && text.size() <= static_cast<size_t>(kMaxConfigBytes))
    text.append(buf, n);
  const bool bad = std::ferror(f) != 0;
  std::fclose(f);
  if (bad) throw ConfigError("cannot read config file '" + path + "': read error");
  return text;
}

}  // namespace

Config load_config(CliRequest& req, const Comm& comm) {
  if (!req.config_path.empty()) {
    std::string text;
    const std::string err = on_root(comm, [&] { text = read_config_file(req.config_path); });
    if (!err.empty()) throw ConfigError(err);
    comm.bcast(text);
    merge_config_text(req, text, req.config_path);
  }
  return make_config(req.raw);
}

namespace {

// The keys a resumed run may change (Affects::Output in the parameter
// table), for the refusal message: a section of several keys that all may
// change is named as "section.*".
std::string resumable_keys() {
  std::vector<std::string> sections, items;
  std::map<std::string, std::pair<int, int>> count;  // section -> (output keys, all keys)
  for (const ParamSpec& s : parameter_specs()) {
    const std::string sec = s.name.substr(0, s.name.find('.'));
    if (!count.count(sec)) sections.push_back(sec);
    auto& [out, all] = count[sec];
    out += s.affects == Affects::Output;
    ++all;
  }
  for (const std::string& sec : sections) {
    const auto [out, all] = count[sec];
    if (out == all && all > 1) {
      items.push_back(sec + ".*");
    } else {
      for (const ParamSpec& s : parameter_specs())
        if (s.affects == Affects::Output && s.name.rfind(sec + ".", 0) == 0) items.push_back(s.name);
    }
  }
  std::string text;
  for (size_t i = 0; i < items.size(); ++i)
    text += (i == 0 ? "" : i + 1 == items.size() ? " and " : ", ") + items[i];
  return text;
}

// The config of a resumed run: the checkpoint's, overridden by what the user
// gave (command line, then config file). Refuses physics changes.
Config resume_config(const CliRequest& req, const CheckpointMeta& meta, const std::string& path) {
  CliRequest stored_only;
  merge_config_text(stored_only, meta.config_ini, path);
  const Config stored = make_config(stored_only.raw);
  CliRequest merged;
  merged.raw = req.raw;
  merge_config_text(merged, meta.config_ini, path);
  const Config cfg = make_config(merged.raw);
  std::string changed;
  for (const ParamSpec& spec : parameter_specs()) {
    if (spec.affects == Affects::Output || spec.same(stored, cfg)) continue;  // values compare, not texts: 1 == 1.0
    changed += "\n  " + spec.name + ": checkpoint " + stored.value(spec.name) + ", now " + cfg.value(spec.name);
  }
  if (!changed.empty())
    throw ConfigError("refusing to resume from '" + path + "': these parameters change the physics of the run" +
                      changed +
                      "\n  (only " + resumable_keys() + " may change; start a new run for anything else)");
  return cfg;
}

// The results file must be a plain file path outside the checkpoint
// directory: '' would make './.ckpt', a device or directory cannot be a
// results file, and a results file among the checkpoints would be pruned.
void check_output_path(const Config& c, const Comm& comm) {
  const std::string err = on_root(comm, [&] {
    if (c.output.empty()) throw ConfigError("output.file is empty: name the results file with --output FILE.h5");
    struct stat st;
    if (stat(c.output.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
      throw ConfigError("output file '" + c.output + "' exists and is not a regular file");
    const auto slash = c.output.rfind('/');
    const std::string parent = slash == std::string::npos ? "." : c.output.substr(0, std::max<size_t>(slash, 1));
    char a[PATH_MAX], b[PATH_MAX];
    if (!realpath(parent.c_str(), a))
      throw ConfigError("output directory '" + parent + "' of '" + c.output + "': " + std::strerror(errno));
    if (realpath(checkpoint_dir(c).c_str(), b) && std::string(a) == std::string(b))
      throw ConfigError("output file '" + c.output + "' lies in the checkpoint directory '" + checkpoint_dir(c) +
                        "', whose files are pruned: choose another --output or checkpoint.dir");
  });
  if (!err.empty()) throw ConfigError(err);
}

}  // namespace

namespace {

// A fresh run, or the resume of one; `log` is the run's log file.
int run_or_resume(CliRequest& req, const Comm& comm, RunLog& log) {
  const std::string resume_arg = req.extra_value("resume");
  const Config user = load_config(req, comm);
  check_output_path(user, comm);
  if (resume_arg.empty()) {
    if (root_says(comm, file_exists(user.output)) && !req.overwrite)
      throw ConfigError("output file '" + user.output + "' exists; pass --overwrite to replace it, --output to " +
                        "choose another, or --resume latest to continue its run");
    check_memory(user, comm, false, std::cout);  // before any allocation: refuse what cannot fit
    check_grid_resolves(user, comm, true);  // the post-quench grid now; the start's by the run's own setup
    const RunResult r = run_simulation(user, comm, req.overwrite, std::cout, nullptr, &log);
    return r.interrupted ? kExitCheckpointed : kExitOk;
  }

  const bool latest = resume_arg == "latest";
  std::vector<std::string> candidates{resume_arg};
  if (latest) {
    CheckpointStore store(checkpoint_dir(user), 1, comm);
    candidates = store.list();
    if (candidates.empty())
      throw CheckpointError("--resume latest: no checkpoint in '" + store.dir() + "' (checkpoint.dir, or " +
                            "output.file without .h5 plus .ckpt)");
  }
  for (size_t i = 0; i < candidates.size(); ++i) {
    const std::string& path = candidates[i];
    Resume res;
    Config cfg;
    try {
      res.meta = read_checkpoint_meta(path, comm);
      if (const std::string w = check_arithmetic(res.meta.arithmetic, path); !w.empty() && comm.root())
        std::cerr << "gcnn: warning: " << w << "\n";
      cfg = resume_config(req, res.meta, path);
      check_memory(cfg, comm, true, std::cout);
      res.ensemble = std::make_unique<Ensemble>(cfg, comm, Ensemble::Unset{});
      load_checkpoint(path, *res.ensemble, res.meta);
    } catch (const CheckpointError& e) {
      if (!latest) throw;
      if (i + 1 == candidates.size())
        throw CheckpointError(std::string(e.what()) + "\n  and no older checkpoint is valid: cannot resume");
      if (comm.root())
        std::cerr << "gcnn: warning: " << e.what() << "\n  falling back to the older checkpoint " << candidates[i + 1]
                  << "\n";
      continue;
    }
    if (const int sig = agreed_signal(comm)) {
      if (comm.root())
        std::cout << "[gcnn] signal " << sig << " (" << strsignal(sig) << ") while loading " << path
                  << ": stopping before any step; the checkpoint is untouched, resubmit to resume\n" << std::flush;
      return kExitCheckpointed;
    }
    CliRequest stored;
    merge_config_text(stored, res.meta.config_ini, path);
    res.original_output = make_config(stored.raw).output;
    res.path = path;
    const RunResult r = run_simulation(cfg, comm, req.overwrite, std::cout, &res, &log);
    return r.interrupted ? kExitCheckpointed : kExitOk;
  }
  return kExitFailure;  // not reached
}

}  // namespace

int cmd_run(int argc, char** argv, const Comm& comm) {
  CliRequest req = parse_command_line(argc, argv, {"resume"});
  if (req.help) {
    if (comm.root())
      std::cout << help_text("run")
                << "\nrestart:\n  --resume PATH|latest   continue a run from a checkpoint file, or from the newest\n"
                   "                         valid one in the run's checkpoint directory (see README \"Restart\")\n";
    return kExitOk;
  }
  if (!req.positional.empty()) throw ConfigError("gcnn run takes no positional argument ('" + req.positional[0] + "')");
  // main holds the SignalGuard from its first line: a signal during MPI_Init,
  // setup or a load exits 75 cleanly.
  RunLog log(comm);  // rank 0's output, also to the log file once the run owns its files
  try {
    return run_or_resume(req, comm, log);
  } catch (const std::exception& e) {
    log.note_error(e.what());  // main prints it on stderr
    throw;
  }
}

int cmd_config(int argc, char** argv, const Comm& comm) {
  CliRequest req = parse_command_line(argc, argv);
  if (req.help) {
    if (comm.root()) std::cout << help_text("config");
    return kExitOk;
  }
  const Config cfg = load_config(req, comm);
  check_grid_resolves(cfg, comm);
  if (comm.root()) std::cout << config_echo(cfg);
  return kExitOk;
}

int cmd_digest(int argc, char** argv, const Comm& comm) {
  CliRequest req = parse_command_line(argc, argv);
  if (req.help) {
    if (comm.root()) std::cout << help_text("digest");
    return kExitOk;
  }
  if (req.positional.size() != 1) throw ConfigError("usage: gcnn digest FILE");
  const std::string path = req.positional[0];
  std::string text;
  const std::string err = on_root(comm, [&] {
    h5::Handle f = h5::open_file(path, false, MPI_COMM_SELF);
    if (h5::file_kind(f) == "checkpoint") {
      text = h5::read_attr_string(f, "digest");
    } else if (!h5::exists(f, "digest")) {
      throw h5::H5Error("'" + path + "' has no /digest group (the run did not finish?)");
    } else {
      h5::Handle g = h5::open_group(f, "digest");
      text = h5::read_attr_string(g, "state");
    }
  });
  if (!err.empty()) throw ConfigError(err);
  if (comm.root()) std::cout << "digest " << text << "\n";
  return kExitOk;
}

}  // namespace gcnn
