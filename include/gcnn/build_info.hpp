#pragma once
// What built this binary (issue 15 item 11): recorded in `--version`, the
// results file (/parameters) and every checkpoint, so that a result can be
// traced to its compiler, flags and instruction set.
//
// The trajectory does not depend on them: fm::fmadd is always the unfused
// a*b + c and the build uses -ffp-contract=off, so GCNN_NATIVE=ON and OFF
// builds give the same digest. kArithmetic names that rounding contract; a
// checkpoint written under another one is refused on resume (check_arithmetic).
#include <string>

namespace gcnn {

// Changes only with a deliberate change of how the hot loops round.
inline constexpr const char* kArithmetic = "unfused-1 (fm::fmadd = a*b+c, -ffp-contract=off, no fast-math)";

std::string build_compiler();  // e.g. "GCC 12.2.0"
std::string build_flags();     // the build type's and gcnn's compile flags
std::string build_isa();       // instruction-set macros the compiler defined, e.g. "x86-64 SSE4.2 AVX2 FMA AVX512F"
std::string build_info();      // the three in one line
// The libraries this binary runs with: MPI (the runtime's own string, first
// line), HDF5 (runtime), PETSc and SLEPc (headers it was compiled against).
std::string library_versions();

// Throws CheckpointError (exit 2) when a checkpoint's arithmetic differs from
// this build's (the continuation would not be the uninterrupted trajectory);
// returns a warning text (else "") when the checkpoint records none (written
// before the arithmetic was pinned: its last bits may differ if it came
// from a -march=native build).
std::string check_arithmetic(const std::string& recorded, const std::string& path);

}  // namespace gcnn
