// `gcnn verify --results FILE`: the verdict on docs/model.md §6 for one run.
//
// This file only orchestrates: read the file, build the shared context once,
// run the identities (verification.hpp, one function each), print the table
// and write /verification. A new row is a new function and one line in
// kIdentities.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "gcnn/cli.hpp"
#include "gcnn/grid.hpp"
#include "gcnn/h5.hpp"
#include "gcnn/petsc_env.hpp"
#include "gcnn/verification.hpp"
#include "gcnn/schedule.hpp"

namespace gcnn {

namespace {

using verify::Row;
using verify::Verification;

// The identities in table order.
constexpr void (*kIdentities[])(Verification&) = {
    verify::equilibrium_density, verify::ground_state,      verify::widom_identity,    verify::n_given_q,
    verify::quench_relaxation,   verify::superposition,     verify::delta_F_offset,    verify::coherence_vs_null,
    verify::madelung_continuity, verify::hamilton_jacobi_hbar,
};

std::string fmt(double x) {
  if (!std::isfinite(x)) return "-";
  char b[32];
  std::snprintf(b, sizeof(b), "%.4g", x);
  return b;
}

// Equilibrium window: after the burn-in, before a quench.
std::vector<int64_t> equilibrium_window(const Config& cfg, const verify::Series& s) {
  const int64_t s_end = cfg.quench_step > 0 ? cfg.quench_step : s.step.back();
  std::vector<int64_t> win;
  for (int64_t j = 0; j < s.S; ++j)
    if (static_cast<double>(s.step[j]) >= cfg.verify_burn_in * static_cast<double>(s_end) && s.step[j] <= s_end)
      win.push_back(j);
  return win;
}

std::string table(const Verification& v, bool& failed) {
  failed = false;
  std::ostringstream o;
  char line[512];
  std::snprintf(line, sizeof(line), "%-6s %-52s %11s %11s %10s %10s  %s\n", "row", "identity", "measured",
                "predicted", "error", "disc.bound", "verdict");
  o << "gcnn verify: " << v.path << " (" << v.s.S << " samples, equilibrium window " << v.eq_window.size()
    << " samples)\n" << line;
  for (const Row& r : v.rows) {
    const char* verdict = r.tier == 2 ? "(tier 2)" : r.pass == 1 ? "PASS" : r.pass == 0 ? "FAIL" : "n/a";
    if (r.tier == 1 && r.pass == 0) failed = true;
    std::snprintf(line, sizeof(line), "%-6s %-52s %11s %11s %10s %10s  %s\n", r.id.c_str(), r.name.c_str(),
                  fmt(r.measured).c_str(), fmt(r.prediction).c_str(), fmt(r.error).c_str(), fmt(r.bound).c_str(),
                  verdict);
    o << line;
  }
  o << (failed ? "verdict: a Tier-1 identity FAILED\n" : "verdict: every evaluated Tier-1 identity PASSED\n");
  return o.str();
}

// /verification in the results file (rank 0, after all collective work).
void write_verification(const Verification& v, const std::string& text, bool failed) {
  const std::string err = on_root(v.comm, [&] {
      h5::Handle f = h5::open_file(v.path, true, MPI_COMM_SELF);
      if (h5::exists(f, "verification")) h5::check(H5Ldelete(f, "verification", H5P_DEFAULT), "H5Ldelete");
      h5::Handle g = h5::create_group(f, "verification");
      h5::attr(g, "table", text);
      h5::attr(g, "tier1_passed", static_cast<int64_t>(failed ? 0 : 1));
      h5::attr(g, "burn_in", v.cfg.verify_burn_in);
      for (const Row& r : v.rows) {
        h5::Handle rg = h5::create_group(g, "rows/" + r.id);
        h5::attr(rg, "tier", static_cast<int64_t>(r.tier));
        h5::attr(rg, "name", r.name);
        h5::attr(rg, "measured", r.measured);
        h5::attr(rg, "prediction", r.prediction);
        h5::attr(rg, "error", r.error);
        h5::attr(rg, "bound", r.bound);
        h5::attr(rg, "pass", static_cast<int64_t>(r.pass));
        h5::attr(rg, "note", r.note);
        for (const auto& [k, x] : r.extra) h5::attr(rg, k, x);
      }
      for (const auto& [where, a] : v.arrays) {
        const auto slash = where.rfind('/');
        h5::Handle parent = slash == std::string::npos ? h5::Handle(H5Gopen2(g, ".", H5P_DEFAULT), "H5Gopen")
                            : h5::exists(g, where.substr(0, slash)) ? h5::open_group(g, where.substr(0, slash))
                                                                    : h5::create_group(g, where.substr(0, slash));
        const std::vector<hsize_t> dims(a.dims.begin(), a.dims.end());
        h5::write_dataset<double>(parent, where.substr(slash + 1), a.data, dims, true, a.unit);
      }
      for (const auto& [where, x] : v.scalars) {
        const auto slash = where.rfind('/');
        if (slash == std::string::npos) { h5::attr(g, where, x); continue; }
        h5::Handle parent = h5::exists(g, where.substr(0, slash)) ? h5::open_group(g, where.substr(0, slash))
                                                                  : h5::create_group(g, where.substr(0, slash));
        h5::attr(parent, where.substr(slash + 1), x);
      }
      if (h5::exists(g, "density"))
        h5::attr(h5::open_group(g, "density"), "description",
                 std::string("cell probabilities over the equilibrium window"));
  });
  if (!err.empty()) throw std::runtime_error("verify: writing /verification to '" + v.path + "': " + err);
}

}  // namespace

int cmd_verify(int argc, char** argv, const Comm& comm) {
  CliRequest req = parse_command_line(argc, argv, {"results"});
  if (req.help) {
    if (comm.root())
      std::cout << help_text("verify")
                << "\nChecks a results file against docs/model.md section 6, prints the verdict table, writes\n"
                   "/verification into FILE. Exit 0: every Tier-1 row passed; 3: a Tier-1 row failed.\n";
    return kExitOk;
  }
  std::string path = req.extra_value("results");
  if (path.empty() && !req.positional.empty()) path = req.positional[0];
  if (path.empty()) throw ConfigError("usage: gcnn verify --results FILE");
  const verify::Series s = verify::read_series(path, comm);
  CliRequest merged;
  merged.raw = req.raw;  // command-line keys win over the file's configuration
  merge_config_text(merged, s.config_ini, path);
  const Config cfg = make_config(merged.raw);
  if (static_cast<int64_t>(Grid(cfg).size()) != s.cells)
    throw ConfigError("verify: the q histogram of '" + path + "' does not match its grid");
  PetscSession petsc(cfg.solver_petsc);

  Verification v{cfg, s, comm};
  v.path = path;
  v.blocks = static_cast<int>(cfg.verify_blocks);
  v.eq_window = equilibrium_window(cfg, s);
  v.phys0 = physics_at(cfg, 0);
  {
    CliRequest stored;  // the run's own configuration: measured quantities are relative to it
    merge_config_text(stored, s.config_ini, path);
    v.run_mu = physics_at(make_config(stored.raw), 0).mu;
  }
  // The learning-equilibrium setup (Omega, V with hbar = 2 T_q) at the run's
  // grid and at half resolution (for the discretisation bounds).
  v.st0 = v.equilibrium_setup(v.phys0);
  v.st0c = v.equilibrium_setup(v.phys0, 2);
  v.eq = verify::equilibrium(v.st0);
  v.scalars["burn_in"] = cfg.verify_burn_in;
  for (auto identity : kIdentities) identity(v);

  bool failed = false;
  const std::string text = table(v, failed);
  if (comm.root()) std::cout << text << std::flush;
  write_verification(v, text, failed);
  return failed ? kExitVerifyFailed : kExitOk;
}

}  // namespace gcnn
