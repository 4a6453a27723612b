#include "gcnn/results_file.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "gcnn/build_info.hpp"
#include "gcnn/version.hpp"

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
    : comm_(comm), file_(h5::create_file(path, overwrite, comm.raw())) {
  {
    h5::Handle g = h5::create_group(file_, "h5md");
    h5::attr(g, "version", std::vector<int64_t>{1, 1});
    h5::Handle cr = h5::create_group(g, "creator");
    h5::attr(cr, "name", std::string("gcnn"));
    h5::attr(cr, "version", std::string(kVersion) + " (" + kGitSha + ")");
    h5::Handle au = h5::create_group(g, "author");
    const char* user = std::getenv("USER");
    h5::attr(au, "name", std::string(user ? user : "gcnn user"));
  }
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
}

ResultsFile::ResultsFile(const std::string& path, const Comm& comm, const std::string& run_id, const Append& how)
    : comm_(comm), appending_(true) {
  std::string err;
  try {
    file_ = h5::open_file(path, true, comm.raw());
  } catch (const std::exception& e) {
    err = e.what();
  }
  comm.bcast(err);  // the open either works everywhere or nowhere; say so once
  if (!err.empty()) throw ConfigError("cannot append to results file: " + err);
  std::string kind, id;
  try {
    kind = h5::read_attr_string(file_, "gcnn_file_kind");
    h5::Handle p = h5::open_group(file_, "parameters");
    id = h5::read_attr_string(p, "run_id");
  } catch (const std::exception&) {
  }
  if (kind != "results") throw ConfigError("'" + path + "' is not a gcnn results file; cannot append to it");
  if (id != run_id)
    throw ConfigError("results file '" + path + "' belongs to run " + id + ", the checkpoint to run " + run_id +
                      "; pass --output NEW.h5 to continue into a new results file");
  step_ = h5::open_dataset(file_, "observables/clock/step");
  time_ = h5::open_dataset(file_, "observables/clock/time");
  const hsize_t rows = h5::dims_of(step_)[0];
  if (static_cast<int64_t>(rows) < how.keep_samples)
    throw ConfigError("results file '" + path + "' holds " + std::to_string(rows) + " samples, but the checkpoint " +
                      "was taken after " + std::to_string(how.keep_samples) + "; it is not this run's latest file");
  n_samples_ = how.keep_samples;
  for (hid_t d : {step_.id(), time_.id()}) {
    hsize_t n = static_cast<hsize_t>(n_samples_);
    h5::check(H5Dset_extent(d, &n), "H5Dset_extent(truncate clock)");
  }
  h5::check(H5Fflush(file_, H5F_SCOPE_GLOBAL), "H5Fflush(after truncation)");
  if (h5::exists(file_, "digest")) h5::check(H5Ldelete(file_, "digest", H5P_DEFAULT), "H5Ldelete(/digest)");
  h5::Handle p = h5::open_group(file_, "parameters");
  std::string hist;
  try { hist = h5::read_attr_string(p, "resume_history"); } catch (const std::exception&) {}
  h5::attr(p, "resume_history", hist + how.note + "\n");
}

h5::Handle ResultsFile::open_series(hid_t parent, const std::string& name, const std::vector<hsize_t>& shape) {
  h5::Handle d = h5::open_dataset(parent, name);
  std::vector<hsize_t> dims = h5::dims_of(d);
  if (dims.size() != shape.size() + 1 || !std::equal(shape.begin(), shape.end(), dims.begin() + 1))
    throw ConfigError("results file series '" + name + "' has a different shape than this run writes");
  dims[0] = static_cast<hsize_t>(n_samples_);
  h5::check(H5Dset_extent(d, dims.data()), "H5Dset_extent(truncate " + name + ")");
  // Flush the shrink before appending: without it (parallel HDF5 1.10.8) the
  // cut-off rows came back as fill values over the rows appended next
  // (caught by the kill9 restart test).
  h5::check(H5Fflush(file_, H5F_SCOPE_GLOBAL), "H5Fflush(after truncation)");
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
    h5::Handle g = h5::open_group(file_, "observables/" + name);
    s.value = open_series(g, "value", shape);
    order_.push_back(name);
    series_.emplace(name, std::move(s));
    return;
  }
  h5::Handle g = h5::create_group(file_, "observables/" + name);
  s.value = make_extendible(g, "value", shape, integer ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE, sparse);
  h5::attr(s.value, "unit", unit);
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
    h5::Handle g = h5::open_group(file_, "particles/networks/position");
    particles_ = open_series(g, "value", {static_cast<hsize_t>(n_sub), static_cast<hsize_t>(K)});
    return;
  }
  h5::Handle g = h5::create_group(file_, "particles/networks/position");
  particles_ = make_extendible(g, "value", {static_cast<hsize_t>(n_sub), static_cast<hsize_t>(K)}, H5T_NATIVE_DOUBLE);
  h5::attr(particles_, "unit", std::string("q"));
  h5::check(H5Lcreate_hard(file_, "/observables/clock/step", g, "step", H5P_DEFAULT, H5P_DEFAULT), "H5Lcreate_hard");
  h5::check(H5Lcreate_hard(file_, "/observables/clock/time", g, "time", H5P_DEFAULT, H5P_DEFAULT), "H5Lcreate_hard");
  h5::Handle net = h5::open_group(file_, "particles/networks");
  h5::write_dataset<int64_t>(net, "id", ids, {static_cast<hsize_t>(n_sub)}, comm_.root(), "1");
}

void ResultsFile::put_particles(int64_t row_lo, const std::vector<double>& q) {
  p_row_lo_ = row_lo;
  p_buf_ = q;
}

void ResultsFile::flush() { h5::check(H5Fflush(file_, H5F_SCOPE_GLOBAL), "H5Fflush"); }

}  // namespace gcnn
