#pragma once
// H5MD 1.1 pieces shared by the results file and the solve file: the /h5md
// header with the units module, unit strings in that module's grammar, the
// particles box, and the q grid's axes as HDF5 dimension scales (README
// "HDF5 schema").
#include <string>
#include <vector>

#include "gcnn/grid.hpp"
#include "gcnn/h5.hpp"

namespace gcnn::h5md {

// /h5md: version [1, 1], creator (gcnn and its version), author ($USER) and
// /h5md/modules/units (version [1, 0], system "none": model units, whose
// symbols the module's `symbols` attribute defines).
void write_header(hid_t file);

// The units module's unit string: factors separated by single spaces, an
// optional leading number, then symbols (letters) each at most once, each
// optionally raised to a non-zero signed integer power ("q2 time-2").
bool valid_unit(const std::string& unit);
// symbol^p in that grammar: "q", "q-2"; "1" for p = 0.
std::string power(const std::string& symbol, int p);
// A density in q, q^-K, and an amplitude, its square root q^(-K/2): for odd K
// through the symbol sqrtq (sqrtq2 = q), as the grammar has integer powers only.
std::string density_unit(int K);
std::string amplitude_unit(int K);

// The box of a particles group: attributes dimension (K) and boundary
// ("periodic" or "none" per axis), dataset edges (hi - lo) if periodic.
void write_box(hid_t particles_group, const Grid& grid, bool periodic, bool i_write);

// Axes q1..qK of `grid` (its cell centres) as dimension scales in `parent`.
std::vector<h5::Handle> write_grid_scales(hid_t parent, const Grid& grid, bool i_write);
// Attaches q1..qK to axes first_dim..first_dim + K - 1 of dataset `d`.
void attach_grid(hid_t d, const std::vector<h5::Handle>& scales, unsigned first_dim);

}  // namespace gcnn::h5md
