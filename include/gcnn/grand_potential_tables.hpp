#pragma once
// The grand potential's tables in a checkpoint (issue 16 item 5): what a run
// needs of GrandPotential after its setup, stored by every checkpoint under
// /state/grand_potential so that a resume with the same physics recomputes
// nothing (the setup is O(R/P x cells x iterations): minutes at scale).
//
//   /state/grand_potential  group, @physics (GrandPotential::physics_key),
//                           @sector_method, @n_max, @mean_field_iterations,
//                           @mean_field_residual, @predicted_occupied_fraction
//     omega       [G]          float64  Omega at the cell centres
//     log_lambda  [G]          float64  ln Lambda
//     log_eN      [G, n_max+2] float64  ln e_N(b)
// (checked datasets: Fletcher32 per chunk). The group is optional: older
// checkpoints (schema 3 of earlier builds) lack it and their resume solves
// the setup again.
#include <hdf5.h>

#include <optional>
#include <string>

#include "gcnn/grand_potential.hpp"
#include "gcnn/mpi_env.hpp"

namespace gcnn {

// Collective: the group under `state` (rank 0 writes the data; all ranks
// hold the same tables).
void write_grand_potential_tables(hid_t state, const GrandPotentialTables& t, bool root);

// Collective (rank 0 reads, then broadcasts). The tables of the checkpoint
// at `path` if it has them and they were computed for the physics `c`;
// otherwise nullopt and *note says why (absent, or other physics: a
// checkpoint written before a quench took effect). Throws CheckpointError if
// the group is there for this physics but damaged (wrong shape, a
// non-finite value, a failed checksum).
std::optional<GrandPotentialTables> read_grand_potential_tables(const std::string& path,
                                                                const GrandPotential::Params& c, const Comm& comm,
                                                                std::string* note);

}  // namespace gcnn
