#pragma once
// XDMF 3 sidecars, so that ParaView and VisIt open gcnn files: the q
// histogram per sample, p_eq and Omega of a results file; the psi snapshots
// (Re, Im, |psi|^2) with the potential and the Fokker-Planck densities of a
// solve file. Each is a temporal collection of cell-centred CoRectMesh grids
// whose HDF5 DataItems reference the .h5 next to it by relative path.
#include <cstdint>
#include <string>

namespace gcnn {

// PATH.h5 -> PATH.xdmf (other names: PATH + ".xdmf").
std::string xdmf_path(const std::string& h5_path);
// Reads the (closed) file serially and writes its sidecar atomically; the
// first max_samples samples of a results file (all if < 0). Grids of K > 3
// have no XDMF mesh: the sidecar then holds no grids. Throws on failure.
void write_xdmf(const std::string& h5_path, int64_t max_samples = -1);

}  // namespace gcnn
