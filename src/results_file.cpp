#include "gcnn/results_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "gcnn/build_info.hpp"
#include "gcnn/grid.hpp"
#include "gcnn/h5md.hpp"
#include "gcnn/version.hpp"
#include "gcnn/xdmf.hpp"

namespace gcnn {

std::string make_run_id(const Comm& comm) {
  std::string id;
  if (comm.root()) {
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    uint64_t h = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    h ^= static_cast<uint64_t>(getpid()) * 0x9E3779B97F4A7C15ull;
    for (const char* c = host; *c; ++c) h = (h ^ static_cast<uint8_t>(*c)) * 0x100000001B3ull;
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
    id = buf;
  }
  comm.bcast(id);
  return id;
}

ResultsFile::ResultsFile(const std::string& path, bool overwrite, const Comm& comm, const Config& cfg,
                         const std::string& run_id)
    : comm_(comm), path_(path) {
  // MPI-IO opens collectively: every rank sees the failure (a full disk, no
  // permission), agreed so that it is said once.
  const std::string err = try_everywhere(comm, [&] { file_ = h5::create_file(path, overwrite, comm.raw()); });
  if (!err.empty()) throw AgreedError("cannot create results file '" + path + "': " + err);
  h5md::write_header(file_);
  h5::attr(file_, "gcnn_file_kind", std::string("results"));
  h5::attr(file_, "gcnn_schema_version", kResultsSchemaVersion);
  {
    h5::Handle p = h5::create_group(file_, "parameters");
    h5::Handle u = h5::create_group(p, "units");
    for (auto& spec : parameter_specs()) {
      const std::string v = cfg.value(spec.name);
      if (spec.type == ParamType::Real && spec.name != "run.seed") {
        h5::attr(p, spec.name, std::stod(v));
      } else if (spec.type == ParamType::Int && spec.name != "run.seed") {
        h5::attr(p, spec.name, static_cast<int64_t>(std::stoll(v)));
      } else {
        h5::attr(p, spec.name, v);  // strings, choices, lists, booleans, the 64-bit seed
      }
      h5::attr(u, spec.name, spec.unit);
    }
    h5::attr(p, "git_sha", std::string(kGitSha));
    h5::attr(p, "gcnn_version", std::string(kVersion));
    h5::attr(p, "build", build_info());  // compiler, flags, instruction set
    h5::attr(p, "arithmetic", std::string(kArithmetic));
    h5::attr(p, "n_ranks", static_cast<int64_t>(comm.size()));
    h5::attr(p, "run_id", run_id);
    h5::attr(p, "config", config_echo(cfg));
  }
  h5::Handle obs = h5::create_group(file_, "observables");
  h5::Handle clock = h5::create_group(obs, "clock");
  step_ = make_extendible(clock, "step", {}, H5T_NATIVE_INT64);
  time_ = make_extendible(clock, "time", {}, H5T_NATIVE_DOUBLE);
  h5::attr(time_, "unit", std::string("time"));
  h5::attr(step_, "unit", std::string("steps"));
  // An H5MD element needs a value: the clock's is the learning time itself
  // (one dataset, so a resume truncates it once); time is also the sample
  // axis' dimension scale of every series.
  h5::check(H5Lcreate_hard(clock, "time", clock, "value", H5P_DEFAULT, H5P_DEFAULT), "H5Lcreate_hard(clock/value)");
  h5::attr(clock, "description", std::string("the sample clock: step, time = step eta; value is time"));
  h5::make_scale(time_, "time");
  const Grid grid(cfg);
  {
    h5::Handle gp = h5::create_group(file_, "grand_potential");
    q_scales_ = h5md::write_grid_scales(gp, grid, comm.root());
  }
  if (cfg.particles > 0) h5md::write_box(h5::create_group(file_, "particles/networks"), grid, cfg.periodic, comm.root());
}

ResultsFile::~ResultsFile() {
  const bool unwinding = std::uncaught_exceptions() > 0;
  // Every object of the file closes before the file (MPI-IO files close
  // only when nothing in them is open).
  series_.clear();
  q_scales_.clear();
  particles_.reset();
  step_.reset();
  time_.reset();
  file_.reset();
  if (unwinding || !comm_.root() || path_.empty()) return;
  try {
    write_xdmf(path_);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "[gcnn] warning: no XDMF sidecar for '%s': %s\n", path_.c_str(), e.what());
  }
}

namespace {

// Names of the links in group `g`.
std::vector<std::string> children(hid_t g) {
  std::vector<std::string> names;
  auto add = [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
    static_cast<std::vector<std::string>*>(out)->emplace_back(name);
    return 0;
  };
  h5::check(H5Literate(g, H5_INDEX_NAME, H5_ITER_NATIVE, nullptr, add, &names), "listing a group");
  return names;
}

// Reads rows [0, rows) of a dataset (at most ~8 MiB at a time), so that a
// damaged chunk index or an unreadable chunk is found now, not after the
// file was changed.
void read_rows(hid_t d, const std::vector<hsize_t>& dims, hsize_t rows, const std::string& what) {
  if (dims.empty()) {  // a scalar
    double x = 0;
    h5::check(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &x), "reading " + what);
    return;
  }
  size_t row_elems = 1;
  for (size_t i = 1; i < dims.size(); ++i) row_elems *= dims[i];
  const hsize_t block = std::max<hsize_t>(1, (hsize_t{1} << 20) / std::max<size_t>(row_elems, 1));
  std::vector<double> buf;
  for (hsize_t r = 0; r < rows; r += block) {
    std::vector<hsize_t> start(dims.size(), 0), count(dims);
    start[0] = r;
    count[0] = std::min(block, rows - r);
    buf.resize(count[0] * row_elems);
    h5::read_slab(d, H5T_NATIVE_DOUBLE, start, count, buf.data(), what);
  }
}

// Reads every attribute of `obj`, in its stored type.
void read_attributes(hid_t obj, const std::string& where) {
  auto one = [](hid_t o, const char* name, const H5A_info_t*, void* out) -> herr_t {
    hid_t a = H5Aopen(o, name, H5P_DEFAULT);
    hid_t t = a >= 0 ? H5Aget_type(a) : -1, sp = a >= 0 ? H5Aget_space(a) : -1;
    herr_t rc = a >= 0 && t >= 0 && sp >= 0 ? 0 : -1;
    if (rc == 0 && H5Tis_variable_str(t) <= 0) {
      const hssize_t n = H5Sget_simple_extent_npoints(sp);
      const size_t sz = H5Tget_size(t);
      if (n < 0 || sz == 0 || static_cast<double>(n) * static_cast<double>(sz) > 1e9) {
        rc = -1;
      } else {
        std::vector<char> buf(static_cast<size_t>(n) * sz + 1);
        rc = H5Aread(a, t, buf.data());
      }
    }
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    if (rc < 0) *static_cast<std::string*>(out) = name;
    return rc < 0 ? -1 : 0;
  };
  std::string bad;
  if (H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_NATIVE, nullptr, one, &bad) < 0)
    throw std::runtime_error((bad.empty() ? "an attribute" : "attribute '" + bad + "'") + " of " + where +
                             " is unreadable (damaged metadata)");
}

// Opens every object of the file and reads every attribute and every
// dataset in full: a damaged block anywhere (the /digest group, an
// attribute, a static table) is found before anything is written.
void read_everything(hid_t file) {
  read_attributes(file, "/");
  auto visit = [](hid_t root, const char* name, const H5O_info_t* info, void* out) -> herr_t {
    if (std::string(name) == ".") return 0;
    const std::string path = std::string("/") + name;
    try {
      h5::Handle o(H5Oopen(root, name, H5P_DEFAULT), "opening " + path);
      read_attributes(o, path);
      if (info->type == H5O_TYPE_DATASET) {
        const std::vector<hsize_t> dims = h5::dims_of(o);
        read_rows(o, dims, dims.empty() ? 1 : dims[0], path);
      }
    } catch (const std::exception& e) {
      *static_cast<std::string*>(out) = e.what();
      return -1;
    }
    return 0;
  };
  std::string err;
  herr_t rc = -1;
  H5E_BEGIN_TRY { rc = H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_NATIVE, visit, &err, H5O_INFO_BASIC); }
  H5E_END_TRY;
  if (rc < 0) throw std::runtime_error(err.empty() ? "its object tree is unreadable (damaged metadata)" : err);
}

// The whole results file of a resumed run, checked read-only on one rank
// before anything in it is changed (issue 15 item 3): it opens (its metadata
// carries checksums since schema 1 files written by this version), it is this
// run's, every series holds the rows the checkpoint counts, and every
// object, attribute and dataset in it reads.
void validate_for_append(const std::string& path, const std::string& run_id, const ResultsFile::Append& how) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) throw std::runtime_error("not a regular file");
  if (!h5::is_hdf5(path)) throw std::runtime_error("not an HDF5 file (damaged or foreign)");
  h5::Handle f = h5::open_file(path, false, MPI_COMM_SELF);
  if (h5::file_kind(f) != "results") throw std::runtime_error("not a gcnn results file");
  const int64_t schema = h5::read_attr_int(f, "gcnn_schema_version");
  if (schema != kResultsSchemaVersion)
    throw std::runtime_error("results schema version " + std::to_string(schema) + ", this gcnn writes " +
                             std::to_string(kResultsSchemaVersion));
  read_everything(f);
  h5::open_group(f, "h5md");
  const std::string id = h5::read_attr_string(h5::open_group(f, "parameters"), "run_id");
  if (id != run_id)
    throw std::runtime_error("it belongs to run " + id + ", the checkpoint to run " + run_id +
                             "; pass --output NEW.h5 to continue into a new results file");
  const hsize_t keep = static_cast<hsize_t>(how.keep_samples);
  auto check_series = [&](hid_t d, const std::string& what, const std::vector<hsize_t>& row_shape) {
    const std::vector<hsize_t> dims = h5::dims_of(d);
    if (dims.empty()) throw std::runtime_error(what + " has no sample axis");
    if (!row_shape.empty() && !std::equal(row_shape.begin(), row_shape.end(), dims.begin() + 1, dims.end()))
      throw std::runtime_error(what + " has the wrong shape for this run's configuration");
    if (dims[0] < keep)
      throw std::runtime_error(what + " holds " + std::to_string(dims[0]) + " samples, but the checkpoint was taken " +
                               "after " + std::to_string(keep) + "; it is not this run's latest file");
  };
  h5::Handle step = h5::open_dataset(f, "observables/clock/step");
  check_series(step, "/observables/clock/step", {});
  if (h5::dims_of(step).size() != 1) throw std::runtime_error("/observables/clock/step is not one-dimensional");
  check_series(h5::open_dataset(f, "observables/clock/time"), "/observables/clock/time", {});
  if (keep > 0) {
    // The clock is the run's: increasing, and not past the checkpoint.
    std::vector<int64_t> s(keep);
    h5::read_slab(step, H5T_NATIVE_INT64, {0}, {keep}, s.data(), "/observables/clock/step");
    for (hsize_t i = 0; i < keep; ++i)
      if (s[i] < 0 || (i > 0 && s[i] <= s[i - 1]) || (how.at_step >= 0 && s[i] > how.at_step))
        throw std::runtime_error("/observables/clock/step is not the clock of a run checkpointed at step " +
                                 std::to_string(how.at_step));
  }
  h5::Handle obs = h5::open_group(f, "observables");
  for (const std::string& name : children(obs)) {
    if (name == "clock") continue;
    h5::Handle g = h5::open_group(obs, name);
    check_series(h5::open_dataset(g, "value"), "/observables/" + name + "/value", {});
  }
  if (how.n_particles > 0) {
    const std::vector<hsize_t> row{static_cast<hsize_t>(how.n_particles), static_cast<hsize_t>(how.K)};
    check_series(h5::open_dataset(f, "particles/networks/position/value"), "/particles/networks/position/value", row);
    if (h5::dims_of(h5::open_dataset(f, "particles/networks/id")) != std::vector<hsize_t>{row[0]})
      throw std::runtime_error("/particles/networks/id has the wrong shape for this run's configuration");
  }
}

}  // namespace

ResultsFile::ResultsFile(const std::string& path, const Comm& comm, const std::string& run_id, const Append& how)
    : comm_(comm), path_(path), appending_(true) {
  // Rank 0 reads the whole file first; only a file that passes is opened for
  // writing, and nothing is written to it until begin_writing().
  const std::string bad = on_root(comm, [&] {
    validate_for_append(path, run_id, how);
    write_xdmf(path, how.keep_samples);  // the sidecar as of the checkpoint
  });
  if (!bad.empty())
    throw ConfigError("refusing to append to results file '" + path + "': " + bad +
                      " (the file is left untouched; pass --output NEW.h5 to continue into a new results file)");
  const std::string err = try_everywhere(comm, [&] { file_ = h5::open_file(path, true, comm.raw()); });
  if (!err.empty()) throw AgreedError("cannot append to results file '" + path + "': " + err);
  step_ = h5::open_dataset(file_, "observables/clock/step");
  time_ = h5::open_dataset(file_, "observables/clock/time");
  n_samples_ = how.keep_samples;
  note_ = how.note;
}

void ResultsFile::begin_writing() {
  if (!appending_) return flush();  // the schema is on disk before the first sample: readable from now on
  // Truncate every series to the checkpoint's sample count (like GROMACS
  // -append), now that the whole file was validated and every series this
  // run writes has been found with its shape (declare).
  std::vector<hid_t> all{step_.id(), time_.id()};
  for (auto& [name, s] : series_) all.push_back(s.value.id());
  if (particles_.valid()) all.push_back(particles_.id());
  for (hid_t d : all) {
    std::vector<hsize_t> dims = h5::dims_of(d);
    dims[0] = static_cast<hsize_t>(n_samples_);
    h5::check(H5Dset_extent(d, dims.data()), "H5Dset_extent(truncate to the checkpoint)");
  }
  // Flush the shrink before appending: without it (parallel HDF5 1.10.8) the
  // cut-off rows came back as fill values over the rows appended next
  // (caught by the kill9 restart test).
  flush();
  if (h5::exists(file_, "digest")) h5::check(H5Ldelete(file_, "digest", H5P_DEFAULT), "H5Ldelete(/digest)");
  h5::Handle p = h5::open_group(file_, "parameters");
  std::string hist;
  if (H5Aexists(p, "resume_history") > 0) hist = h5::read_attr_string(p, "resume_history");
  h5::attr(p, "resume_history", hist + note_ + "\n");
  flush();
}

h5::Handle ResultsFile::open_series(hid_t parent, const std::string& name, const std::vector<hsize_t>& shape) {
  h5::Handle d;
  try {
    d = h5::open_dataset(parent, name);
  } catch (const h5::H5Error& e) {
    throw ConfigError(std::string("results file: ") + e.what() + "; it was not written by this gcnn for this run");
  }
  const std::vector<hsize_t> dims = h5::dims_of(d);
  if (dims.size() != shape.size() + 1 || !std::equal(shape.begin(), shape.end(), dims.begin() + 1))
    throw ConfigError("results file series '" + name + "' has a different shape than this run writes");
  return d;
}

h5::Handle ResultsFile::make_extendible(hid_t parent, const std::string& name, const std::vector<hsize_t>& shape,
                                        hid_t type, bool sparse) {
  std::vector<hsize_t> dims{0}, maxd{H5S_UNLIMITED}, chunk{1};
  size_t row = 1;
  for (auto s : shape) { dims.push_back(s); maxd.push_back(s); chunk.push_back(s); row *= s; }
  chunk[0] = std::max<hsize_t>(1, std::min<hsize_t>(256, 65536 / std::max<size_t>(row, 1)));
  h5::Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxd.data()), "H5Screate_simple");
  h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate(dcpl)");
  if (sparse && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0 && H5Zfilter_avail(H5Z_FILTER_SHUFFLE) > 0) {
    chunk[0] = 1;
    h5::check(H5Pset_shuffle(dcpl), "H5Pset_shuffle");
    h5::check(H5Pset_deflate(dcpl, 1), "H5Pset_deflate");
  }
  h5::check(H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data()), "H5Pset_chunk");
  return h5::Handle(H5Dcreate2(parent, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
                    "creating dataset " + name);
}

void ResultsFile::declare(const std::string& name, const std::vector<hsize_t>& shape, bool integer,
                          const std::string& unit, const std::string& description, bool sparse) {
  Series s;
  s.shape = shape;
  s.integer = integer;
  for (auto x : shape) s.row_elems *= x;
  if (appending_) {
    h5::Handle g;
    try {
      g = h5::open_group(file_, "observables/" + name);
    } catch (const h5::H5Error&) {
      throw ConfigError("results file has no series '" + name + "' (written by another gcnn version?); pass " +
                        "--output NEW.h5 to continue into a new results file");
    }
    s.value = open_series(g, "value", shape);
    order_.push_back(name);
    series_.emplace(name, std::move(s));
    return;
  }
  h5::Handle g = h5::create_group(file_, "observables/" + name);
  s.value = make_extendible(g, "value", shape, integer ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE, sparse);
  // A series whose columns have different units has none here, but a
  // column_units attribute (series_attr); every unit is in the H5MD grammar.
  if (!unit.empty()) {
    if (!h5md::valid_unit(unit)) throw std::logic_error("series '" + name + "': unit '" + unit + "' is not H5MD");
    h5::attr(s.value, "unit", unit);
  }
  h5::attach_scale(s.value, time_, 0);
  h5::attr(g, "description", description);
  h5::check(H5Lcreate_hard(file_, "/observables/clock/step", g, "step", H5P_DEFAULT, H5P_DEFAULT), "H5Lcreate_hard");
  h5::check(H5Lcreate_hard(file_, "/observables/clock/time", g, "time", H5P_DEFAULT, H5P_DEFAULT), "H5Lcreate_hard");
  order_.push_back(name);
  series_.emplace(name, std::move(s));
}

void ResultsFile::put(const std::string& name, const std::vector<double>& v) { series_.at(name).d = v; }
void ResultsFile::put(const std::string& name, const std::vector<int64_t>& v) { series_.at(name).i = v; }

void ResultsFile::append_row(hid_t dset, const std::vector<hsize_t>& shape, hid_t type, const void* data, bool i_write,
                             hsize_t row_lo, hsize_t rows) {
  const bool part = rows > 0;  // particles: a block of the second axis
  std::vector<hsize_t> dims{static_cast<hsize_t>(n_samples_ + 1)};
  for (auto s : shape) dims.push_back(s);
  h5::check(H5Dset_extent(dset, dims.data()), "H5Dset_extent");
  h5::Handle fs(H5Dget_space(dset), "H5Dget_space");
  std::vector<hsize_t> start(dims.size(), 0), count(dims);
  start[0] = static_cast<hsize_t>(n_samples_);
  count[0] = 1;
  if (part) { start[1] = row_lo; count[1] = rows; }
  h5::Handle ms(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), "H5Screate_simple");
  if (i_write) {
    h5::check(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr), "hyperslab");
  } else {
    H5Sselect_none(fs);
    H5Sselect_none(ms);
  }
  h5::Handle x = h5::collective_xfer();
  h5::check(H5Dwrite(dset, type, ms, fs, x, i_write ? data : nullptr), "H5Dwrite(sample)");
}

void ResultsFile::write_sample(int64_t step, double time) {
  const bool root = comm_.root();
  append_row(step_, {}, H5T_NATIVE_INT64, &step, root);
  append_row(time_, {}, H5T_NATIVE_DOUBLE, &time, root);
  for (auto& name : order_) {
    Series& s = series_.at(name);
    if (root && (s.integer ? s.i.size() : s.d.size()) != s.row_elems)
      throw std::logic_error("results series '" + name + "' got a row of the wrong size");
    append_row(s.value, s.shape, s.integer ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE,
               s.integer ? static_cast<const void*>(s.i.data()) : static_cast<const void*>(s.d.data()), root);
  }
  if (particles_.valid()) {
    const hsize_t rows = static_cast<hsize_t>(p_buf_.size() / K_);
    append_row(particles_, {static_cast<hsize_t>(n_sub_), static_cast<hsize_t>(K_)}, H5T_NATIVE_DOUBLE,
               p_buf_.data(), rows > 0, static_cast<hsize_t>(p_row_lo_), rows);
  }
  ++n_samples_;
}

void ResultsFile::declare_particles(int64_t n_sub, int K, const std::vector<int64_t>& ids) {
  n_sub_ = n_sub;
  K_ = K;
  if (appending_) {
    h5::Handle g;
    try {
      g = h5::open_group(file_, "particles/networks/position");
    } catch (const h5::H5Error&) {
      throw ConfigError("results file has no particle subsample; pass --output NEW.h5 to continue into a new file");
    }
    particles_ = open_series(g, "value", {static_cast<hsize_t>(n_sub), static_cast<hsize_t>(K)});
    return;
  }
  h5::Handle g = h5::create_group(file_, "particles/networks/position");
  particles_ = make_extendible(g, "value", {static_cast<hsize_t>(n_sub), static_cast<hsize_t>(K)}, H5T_NATIVE_DOUBLE);
  h5::attr(particles_, "unit", std::string("q"));
  h5::attach_scale(particles_, time_, 0);
  h5::check(H5Lcreate_hard(file_, "/observables/clock/step", g, "step", H5P_DEFAULT, H5P_DEFAULT), "H5Lcreate_hard");
  h5::check(H5Lcreate_hard(file_, "/observables/clock/time", g, "time", H5P_DEFAULT, H5P_DEFAULT), "H5Lcreate_hard");
  h5::Handle net = h5::open_group(file_, "particles/networks");
  h5::write_dataset<int64_t>(net, "id", ids, {static_cast<hsize_t>(n_sub)}, comm_.root(), "1");
}

void ResultsFile::put_particles(int64_t row_lo, const std::vector<double>& q) {
  p_row_lo_ = row_lo;
  p_buf_ = q;
}

// Every rank returns from the collective flush, each with its own outcome
// (metadata is written by some ranks only): agree, so that a full disk is
// reported once and every rank stops together.
namespace {
h5::Handle series_value(hid_t file, const std::string& name) {
  const std::string path = "observables/" + name + "/value";
  return h5::Handle(H5Dopen2(file, path.c_str(), H5P_DEFAULT), "H5Dopen2(" + path + ")");
}
}  // namespace

void ResultsFile::series_attr(const std::string& name, const std::string& key, const std::vector<double>& v) {
  h5::attr(series_value(file(), name), key, v);
}
void ResultsFile::series_attr(const std::string& name, const std::string& key, const std::vector<int64_t>& v) {
  h5::attr(series_value(file(), name), key, v);
}
void ResultsFile::series_attr(const std::string& name, const std::string& key, const std::vector<std::string>& v) {
  if (key == "column_units")
    for (const auto& u : v)
      if (!h5md::valid_unit(u)) throw std::logic_error("series '" + name + "': unit '" + u + "' is not H5MD");
  h5::attr(series_value(file(), name), key, v);
}
void ResultsFile::attach_grid(const std::string& name) {
  if (!appending_) h5md::attach_grid(series_.at(name).value, q_scales_, 1);
}

void ResultsFile::write_digest(const std::string& state, int64_t step) {
  h5::Handle g = h5::create_group(file(), "digest");
  h5::attr(g, "state", state);
  h5::attr(g, "step", step);
  h5::attr(g, "description", std::string("state digest of the final step; see README 'State digest'"));
}

void ResultsFile::flush() {
  std::string err;
  if (H5Fflush(file_, H5F_SCOPE_GLOBAL) < 0) err = "HDF5: H5Fflush failed: " + h5::error_reason();
  agree_or_throw(comm_, err, "writing the results file: ");
}

}  // namespace gcnn
