#pragma once
// The self-describing results file (H5MD 1.1 layout, written collectively).
//
//   /h5md                      version, creator, author, modules/units
//   /parameters                every parameter as an attribute; units in /parameters/units
//   /observables/clock         step, time, value (= time): the shared clock
//   /observables/<name>/value  [sample, ...] with unit (or column_units) and description attributes
//   /observables/<name>/step, /time  hard links to the clock's
//   /particles/networks/box    dimension, boundary (edges if periodic), with observables.particles > 0
//   /particles/networks/position/value [sample, n_sub, K] (optional subsample)
//   /grand_potential/...       q1..qK grid axes (dimension scales), analytic Omega, p_eq and sector tables
//   /digest                    state digest of the final step
// An XDMF sidecar (PATH without .h5 + .xdmf) is written when the file closes.
// The layout is documented in README.md ("Results file schema").
#include <map>
#include <string>
#include <vector>

#include "gcnn/config.hpp"
#include "gcnn/h5.hpp"
#include "gcnn/mpi_env.hpp"

namespace gcnn {

// 2: H5MD 1.1 conformance (box, clock value, units module, variable-length
// strings, column attributes, dimension scales). A resume refuses schema 1.
inline constexpr int64_t kResultsSchemaVersion = 2;

class ResultsFile {
 public:
  // Creates the file (fails if it exists and !overwrite) and writes the header.
  ResultsFile(const std::string& path, bool overwrite, const Comm& comm, const Config& cfg, const std::string& run_id);
  // Reopens the results file of a resumed run (like GROMACS -append). First
  // rank 0 validates the whole file read-only (this run's, every series with
  // at least `keep_samples` readable rows, the particle subsample's shape);
  // a file that fails is refused with ConfigError and left untouched.
  // declare() then reopens the series; begin_writing() truncates them.
  struct Append {
    int64_t keep_samples = 0;
    int64_t at_step = -1;     // the checkpoint's step (no sample after it)
    int64_t n_particles = 0;  // particle subsample rows this run writes, and K
    int K = 1;
    std::string note;  // appended to /parameters/resume_history
  };
  ResultsFile(const std::string& path, const Comm& comm, const std::string& run_id, const Append& how);
  // Closes the file (collective) and, on rank 0, writes the XDMF sidecar.
  ~ResultsFile();
  ResultsFile(const ResultsFile&) = delete;
  ResultsFile& operator=(const ResultsFile&) = delete;
  bool appending() const { return appending_; }

  hid_t file() const { return file_.id(); }
  const Comm& comm() const { return comm_; }

  // Time series: one row per sample. `shape` excludes the sample axis.
  // `sparse`: a large, mostly-zero row, stored shuffled and deflated, one
  // row per chunk (no read-modify-write of a compressed chunk per sample).
  void declare(const std::string& name, const std::vector<hsize_t>& shape, bool integer, const std::string& unit,
               const std::string& description, bool sparse = false);
  // Collective: an attribute of a declared series' value dataset (its hbar
  // scan, bin edges, pooling map).
  void series_attr(const std::string& name, const std::string& key, const std::vector<double>& v);
  void series_attr(const std::string& name, const std::string& key, const std::vector<int64_t>& v);
  void series_attr(const std::string& name, const std::string& key, const std::vector<std::string>& v);
  // Collective: the grid axes q1..qK (dimension scales) on axes 1..K of a
  // declared series whose row starts with the grid's shape.
  void attach_grid(const std::string& name);
  // The q1..qK scales in /grand_potential (a fresh file only).
  const std::vector<h5::Handle>& grid_scales() const { return q_scales_; }
  // Collective: the closing /digest group of a completed run (README "State digest").
  void write_digest(const std::string& state, int64_t step);
  // Rank 0's values for the current sample (other ranks need not call).
  void put(const std::string& name, const std::vector<double>& v);
  void put(const std::string& name, const std::vector<int64_t>& v);
  // Collective: appends one row to every series and to the clock.
  void write_sample(int64_t step, double time);
  int64_t samples() const { return n_samples_; }

  // Particle subsample: rows [row_lo, row_lo + n) of this rank, K values each.
  void declare_particles(int64_t n_sub, int K, const std::vector<int64_t>& ids);
  void put_particles(int64_t row_lo, const std::vector<double>& q);

  // Collective, after every declare(): a fresh file's schema is flushed (the
  // file is readable from then on); a resumed file's series are truncated to
  // the checkpoint's sample count. Nothing is written to a resumed file before.
  void begin_writing();
  // Collective; failures are agreed (AgreedError on every rank).
  void flush();

 private:
  struct Series {
    h5::Handle value;
    std::vector<hsize_t> shape;
    bool integer = false;
    std::vector<double> d;
    std::vector<int64_t> i;
    size_t row_elems = 1;
  };
  h5::Handle make_extendible(hid_t parent, const std::string& name, const std::vector<hsize_t>& shape, hid_t type,
                             bool sparse = false);
  void append_row(hid_t dset, const std::vector<hsize_t>& shape, hid_t type, const void* data, bool i_write,
                  hsize_t row_lo = 0, hsize_t rows = 0);

  Comm comm_;
  std::string path_;
  h5::Handle file_;
  std::vector<h5::Handle> q_scales_;
  h5::Handle step_, time_;
  std::map<std::string, Series> series_;
  std::vector<std::string> order_;
  int64_t n_samples_ = 0;
  bool appending_ = false;
  std::string note_;
  h5::Handle open_series(hid_t parent, const std::string& name, const std::vector<hsize_t>& shape);
  // particles
  h5::Handle particles_;
  int64_t n_sub_ = 0, p_row_lo_ = 0;
  int K_ = 1;
  std::vector<double> p_buf_;
};

std::string make_run_id(const Comm& comm);

}  // namespace gcnn
