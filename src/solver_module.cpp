// Loads the solver module (solver_module.hpp says why it is a module).
#include "gcnn/solver_module.hpp"

#include <dlfcn.h>

#include <filesystem>
#include <string>
#include <vector>

#include "gcnn/version.hpp"

namespace gcnn {
namespace {

namespace fs = std::filesystem;

// Where the module may be: beside the executable (the build tree), then the
// install's module directory relative to its bin directory (CMakeLists.txt
// sets GCNN_SOLVER_MODULE_RELDIR from GNUInstallDirs).
std::vector<fs::path> module_candidates() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  const fs::path dir = ec ? fs::path(".") : exe.parent_path();
  return {dir / kSolverModuleFile, (dir / GCNN_SOLVER_MODULE_RELDIR / kSolverModuleFile).lexically_normal()};
}

using EntryPoint = const SolverCommands* (*)(const char* version);

// This rank's load; throws with a message naming the paths tried.
const SolverCommands* load_module() {
  const std::vector<fs::path> paths = module_candidates();
  for (const fs::path& p : paths) {
    std::error_code ec;
    if (!fs::exists(p, ec)) continue;
    // RTLD_NOW: a missing PETSc library is reported here, not at first call.
    void* handle = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) throw std::runtime_error("cannot load the solver module " + p.string() + ": " + dlerror());
    auto entry = reinterpret_cast<EntryPoint>(dlsym(handle, kSolverModuleSymbol));
    if (!entry)
      throw std::runtime_error("the solver module " + p.string() + " has no " + kSolverModuleSymbol +
                               ": it is from another build of gcnn; reinstall gcnn");
    // The module compares the version it was built with to ours.
    if (const SolverCommands* table = entry(kVersion)) return table;
    throw std::runtime_error("the solver module " + p.string() + " is not from gcnn " + kVersion +
                             "; reinstall gcnn");
  }
  std::string tried;
  for (const fs::path& p : paths) tried += (tried.empty() ? "" : " or ") + p.string();
  throw std::runtime_error("the solver module (PETSc/SLEPc side) is not at " + tried +
                           "; rebuild gcnn or reinstall it with `cmake --install`");
}

}  // namespace

const SolverCommands& solver_commands(const Comm& comm) {
  static const SolverCommands* table = nullptr;
  if (table) return *table;
  const SolverCommands* loaded = nullptr;
  const std::string err = try_everywhere(comm, [&] { loaded = load_module(); });
  if (!err.empty()) throw AgreedError(err);
  table = loaded;
  return *table;
}

}  // namespace gcnn
