#include "gcnn/build_info.hpp"

#include <hdf5.h>
#include <mpi.h>
#include <petscversion.h>
#include <slepcversion.h>

#include "gcnn/checkpoint.hpp"
#include "gcnn/version.hpp"

namespace gcnn {

// Compiled with gcnn's flags (CMakeLists.txt), so the macros below are those
// of every translation unit of the library.
std::string build_compiler() {
#if defined(__clang__)
  return std::string("Clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("GCC ") + __VERSION__;
#else
  return "unknown compiler";
#endif
}

std::string build_flags() { return kBuildFlags; }

std::string build_isa() {
  std::string s;
#if defined(__x86_64__)
  s = "x86-64";
#elif defined(__aarch64__)
  s = "aarch64";
#else
  s = "other";
#endif
#ifdef __SSE4_2__
  s += " SSE4.2";
#endif
#ifdef __AVX__
  s += " AVX";
#endif
#ifdef __AVX2__
  s += " AVX2";
#endif
#ifdef __FMA__
  s += " FMA";
#endif
#ifdef __AVX512F__
  s += " AVX512F";
#endif
#ifdef __AVX512VL__
  s += " AVX512VL";
#endif
#ifdef __AVX512BW__
  s += " AVX512BW";
#endif
  return s;
}

std::string build_info() {
  return build_compiler() + "; flags: " + build_flags() + "; instruction set: " + build_isa();
}

std::string library_versions() {
  char mpi[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int len = 0;
  std::string m = MPI_Get_library_version(mpi, &len) == MPI_SUCCESS ? std::string(mpi, static_cast<size_t>(len)) : "?";
  if (const auto nl = m.find_first_of("\n,"); nl != std::string::npos) m.resize(nl);
  unsigned maj = 0, min = 0, rel = 0;
  H5get_libversion(&maj, &min, &rel);
  return "MPI: " + m + "; HDF5 " + std::to_string(maj) + "." + std::to_string(min) + "." + std::to_string(rel) +
         "; PETSc " + std::to_string(PETSC_VERSION_MAJOR) + "." + std::to_string(PETSC_VERSION_MINOR) + "." +
         std::to_string(PETSC_VERSION_SUBMINOR) + "; SLEPc " + std::to_string(SLEPC_VERSION_MAJOR) + "." +
         std::to_string(SLEPC_VERSION_MINOR) + "." + std::to_string(SLEPC_VERSION_SUBMINOR);
}

std::string check_arithmetic(const std::string& recorded, const std::string& path) {
  if (recorded.empty())
    return "checkpoint '" + path + "' does not record its build's arithmetic (written before it was pinned); if it "
           "came from a -march=native (fused multiply-add) build, the continuation differs in the last bits from "
           "that build's uninterrupted run";
  if (recorded != kArithmetic)
    throw CheckpointError("checkpoint '" + path + "' was written by a build with different arithmetic ('" + recorded +
                          "', this build: '" + kArithmetic + "'): its continuation would not be the same trajectory; "
                          "resume it with a build of that arithmetic");
  return "";
}

}  // namespace gcnn
