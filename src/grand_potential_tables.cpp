#include "gcnn/grand_potential_tables.hpp"

#include <cmath>

#include "gcnn/checkpoint.hpp"
#include "gcnn/h5.hpp"

namespace gcnn {

namespace {

constexpr const char* kGroup = "state/grand_potential";

// One checked table (Fletcher32 chunks), written by rank 0.
void put_table(hid_t g, const std::string& name, const std::vector<double>& v, const std::vector<hsize_t>& dims,
               bool root) {
  h5::Handle d = h5::create_checked_dataset(g, name, H5T_NATIVE_DOUBLE, dims);
  std::vector<hsize_t> start(dims.size(), 0), count = dims;
  if (!root) count.assign(dims.size(), 0);
  h5::write_slab(d, H5T_NATIVE_DOUBLE, start, count, v.data());
}

// A stored table of the expected shape with every value finite.
std::vector<double> get_table(hid_t g, const std::string& name, const std::vector<hsize_t>& dims) {
  const std::string what = std::string("/") + kGroup + "/" + name;
  h5::Handle d = h5::open_dataset(g, name);
  if (h5::dims_of(d) != dims) throw std::runtime_error(what + " does not have the shape of this grid");
  size_t n = 1;
  for (hsize_t x : dims) n *= static_cast<size_t>(x);
  std::vector<double> v(n);
  h5::read_slab(d, H5T_NATIVE_DOUBLE, std::vector<hsize_t>(dims.size(), 0), dims, v.data(), what);
  for (double x : v)
    if (!std::isfinite(x)) throw std::runtime_error(what + " holds a non-finite value");
  return v;
}

}  // namespace

void write_grand_potential_tables(hid_t state, const GrandPotentialTables& t, bool root) {
  h5::Handle g = h5::create_group(state, "grand_potential");
  const hsize_t G = t.omega.size(), NT = static_cast<hsize_t>(t.n_max) + 2;
  put_table(g, "omega", t.omega, {G}, root);
  put_table(g, "log_lambda", t.log_lambda, {G}, root);
  put_table(g, "log_eN", t.log_eN, {G, NT}, root);
  h5::attr(g, "physics", t.physics);
  h5::attr(g, "sector_method", t.sector_method);
  h5::attr(g, "n_max", t.n_max);
  h5::attr(g, "mean_field_iterations", t.iterations);
  h5::attr(g, "mean_field_residual", t.residual);
  h5::attr(g, "predicted_occupied_fraction", t.occupancy);
}

std::optional<GrandPotentialTables> read_grand_potential_tables(const std::string& path,
                                                                const GrandPotential::Params& c, const Comm& comm,
                                                                std::string* note) {
  // found: 0 absent, 1 other physics, 2 loaded
  int64_t found = 0;
  GrandPotentialTables t;
  const std::string err = on_root(comm, [&] {
    h5::Handle f = h5::open_file(path, false, MPI_COMM_SELF);
    if (!h5::exists(f, kGroup)) return;
    h5::Handle g = h5::open_group(f, kGroup);
    t.physics = h5::read_attr_string(g, "physics");
    if (t.physics != GrandPotential::physics_key(c)) {
      found = 1;
      return;
    }
    t.n_max = h5::read_attr_int(g, "n_max");
    if (t.n_max != c.n_max) throw std::runtime_error("/state/grand_potential@n_max differs from its physics");
    const hsize_t G = static_cast<hsize_t>(c.grid_cells()), NT = static_cast<hsize_t>(c.n_max) + 2;
    t.omega = get_table(g, "omega", {G});
    t.log_lambda = get_table(g, "log_lambda", {G});
    t.log_eN = get_table(g, "log_eN", {G, NT});
    t.sector_method = h5::read_attr_string(g, "sector_method");
    if (t.sector_method != "exact" && t.sector_method != "poisson")
      throw std::runtime_error("/state/grand_potential@sector_method is '" + t.sector_method + "'");
    t.iterations = h5::read_attr_int(g, "mean_field_iterations");
    t.residual = h5::read_attr_double(g, "mean_field_residual");
    t.occupancy = h5::read_attr_double(g, "predicted_occupied_fraction");
    if (t.iterations < 0 || !std::isfinite(t.residual) || !(t.occupancy >= 0 && t.occupancy <= 1))
      throw std::runtime_error("/state/grand_potential holds impossible solver figures");
    found = 2;
  });
  if (!err.empty()) throw CheckpointError("checkpoint '" + path + "': grand-potential tables: " + err);
  comm.bcast(&found, 1);
  if (found == 0) {
    *note = "checkpoint has no grand-potential tables (written by an older gcnn): solving the setup again";
    return std::nullopt;
  }
  if (found == 1) {
    *note = "checkpoint's grand-potential tables are for other physics (a quench takes effect at this step): "
            "solving the setup again";
    return std::nullopt;
  }
  int64_t sizes[2] = {static_cast<int64_t>(t.omega.size()), static_cast<int64_t>(t.log_eN.size())};
  comm.bcast(sizes, 2);
  t.omega.resize(static_cast<size_t>(sizes[0]));
  t.log_lambda.resize(static_cast<size_t>(sizes[0]));
  t.log_eN.resize(static_cast<size_t>(sizes[1]));
  comm.bcast(t.omega.data(), t.omega.size());
  comm.bcast(t.log_lambda.data(), t.log_lambda.size());
  comm.bcast(t.log_eN.data(), t.log_eN.size());
  comm.bcast(t.physics);
  comm.bcast(t.sector_method);
  int64_t ints[2] = {t.n_max, t.iterations};
  double reals[2] = {t.residual, t.occupancy};
  comm.bcast(ints, 2);
  comm.bcast(reals, 2);
  t.n_max = ints[0];
  t.iterations = ints[1];
  t.residual = reals[0];
  t.occupancy = reals[1];
  return t;
}

}  // namespace gcnn
