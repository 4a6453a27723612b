#pragma once
// Thin RAII layer over the HDF5 C API. Every call is checked; a failure
// throws H5Error naming the operation and the object.
#include <hdf5.h>
#include <mpi.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace gcnn::h5 {

struct H5Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A failure's message carries the innermost entries of HDF5's error stack
// (the OS reason, e.g. "No space left on device").
hid_t check(hid_t id, const std::string& what);
void check(herr_t rc, const std::string& what);
// The innermost entries of the current HDF5 error stack ("" if empty).
std::string error_reason();

// Owns one HDF5 identifier and closes it with the right H5*close.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  Handle(hid_t id, const std::string& what) : id_(check(id, what)) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : id_(o.id_) { o.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) { reset(); id_ = o.id_; o.id_ = H5I_INVALID_HID; }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t id() const { return id_; }
  operator hid_t() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset();

 private:
  hid_t id_ = H5I_INVALID_HID;
};

template <class T> hid_t native();
template <> inline hid_t native<double>() { return H5T_NATIVE_DOUBLE; }
template <> inline hid_t native<int64_t>() { return H5T_NATIVE_INT64; }
template <> inline hid_t native<uint64_t>() { return H5T_NATIVE_UINT64; }
template <> inline hid_t native<int>() { return H5T_NATIVE_INT; }
template <> inline hid_t native<float>() { return H5T_NATIVE_FLOAT; }

// Files opened through MPI-IO on `comm` (collective), or serially when comm is MPI_COMM_SELF.
Handle create_file(const std::string& path, bool overwrite, MPI_Comm comm);
Handle open_file(const std::string& path, bool write, MPI_Comm comm);
// MPI-IO hints for one file shared by all ranks on a parallel file system
// (README "Restart", "On a parallel file system"). 0 leaves a hint unset: the
// file system (the directory's `lfs setstripe` layout) or the MPI library
// decides. Precedence: a nonzero field here, then the ROMIO_HINTS file
// ("key value" lines), then gcnn's own choice (collective buffering on for
// writes, automatic for reads).
struct MpioHints {
  int64_t stripe_count = 0;    // striping_factor: Lustre OSTs the file spans
  int64_t stripe_size = 0;     // striping_unit, bytes
  int64_t cb_nodes = 0;        // collective-buffering aggregators
  int64_t cb_buffer_size = 0;  // bytes an aggregator moves per round
};
// Where HDF5 places a file's objects: objects of at least `align_threshold`
// bytes start at a multiple of `alignment` (a stripe), and metadata is
// gathered in blocks of `meta_block` bytes (0: HDF5's default, 2 KiB).
struct FileLayout {
  hsize_t alignment = 1, align_threshold = 1, meta_block = 0;
};
// The MPI_Info entries `h` and ROMIO_HINTS give, as "key=value" pairs in the
// order they are set (what create_checked_file passes to MPI_File_open).
std::vector<std::pair<std::string, std::string>> mpio_hint_entries(const MpioHints& h);
// As create_file, with the newest format: every metadata block carries a
// checksum. Through MPI-IO (comm != MPI_COMM_SELF) with these hints and layout.
Handle create_checked_file(const std::string& path, MPI_Comm comm, const MpioHints& hints = {},
                           const FileLayout& layout = {});
// The hints the MPI library reports for an open MPI-IO file (MPI_File_get_info)
// as "key=value key=value ...", "" for a file not opened through MPI-IO.
std::string mpio_hints_in_use(hid_t file);
bool is_hdf5(const std::string& path);
// The root attribute gcnn_file_kind ("results", "checkpoint"), "" if absent.
std::string file_kind(hid_t file);

Handle create_group(hid_t parent, const std::string& path);  // creates missing parents
Handle open_group(hid_t parent, const std::string& path);
bool exists(hid_t parent, const std::string& path);

// String attributes are variable-length UTF-8 (h5py reads them as str).
void attr(hid_t obj, const std::string& name, const std::string& value);
void attr(hid_t obj, const std::string& name, const std::vector<std::string>& value);
void attr(hid_t obj, const std::string& name, double value);
void attr(hid_t obj, const std::string& name, int64_t value);
void attr(hid_t obj, const std::string& name, const std::vector<double>& value);
void attr(hid_t obj, const std::string& name, const std::vector<int64_t>& value);
std::string read_attr_string(hid_t obj, const std::string& name);
double read_attr_double(hid_t obj, const std::string& name);
int64_t read_attr_int(hid_t obj, const std::string& name);
std::vector<int64_t> read_attr_int_vector(hid_t obj, const std::string& name);

// HDF5 dimension scales (the H5DS API of the high-level library; what
// netCDF-4, h5netcdf and xarray read as coordinates): `scale`, a 1-D
// dataset, becomes the scale named `name`; attach_scale ties it to axis
// `dim` of `d`. Metadata writes: on a file opened through MPI-IO every rank
// calls them with the same arguments.
void make_scale(hid_t scale, const std::string& name);
void attach_scale(hid_t d, hid_t scale, unsigned dim);

// Transfer property list for collective MPI-IO writes.
Handle collective_xfer();

// Checked storage for restart files: a chunked dataset with the Fletcher32
// checksum filter, so that any flipped bit in its data fails the read.
Handle create_checked_dataset(hid_t parent, const std::string& name, hid_t type, const std::vector<hsize_t>& dims);
// Contiguous, unfiltered storage for the bulk arrays of restart files: each
// rank writes its own large blocks independently, straight through MPI-IO
// (a filter forces HDF5's collective chunk redistribution). Its integrity
// check is the caller's (checkpoint.cpp keeps a positional checksum).
Handle create_plain_dataset(hid_t parent, const std::string& name, hid_t type, const std::vector<hsize_t>& dims);
// Write of the hyperslab [start, start + count) of `d` from a contiguous
// buffer: collective (every rank calls; one with nothing to write passes a
// zero count) or, on a plain dataset, independent.
enum class Transfer { Collective, Independent };
void write_slab(hid_t d, hid_t type, const std::vector<hsize_t>& start, const std::vector<hsize_t>& count,
                const void* buf, Transfer how = Transfer::Collective);
// Independent read of the hyperslab [start, start + count) into `buf`.
void read_slab(hid_t d, hid_t type, const std::vector<hsize_t>& start, const std::vector<hsize_t>& count, void* buf,
               const std::string& what);
std::vector<hsize_t> dims_of(hid_t d);
Handle open_dataset(hid_t parent, const std::string& name);

// A whole dataset written once by rank `writer` (others take part collectively).
template <class T>
void write_dataset(hid_t parent, const std::string& name, const std::vector<T>& data, const std::vector<hsize_t>& dims,
                   bool i_write, const std::string& unit = "");

template <class T>
std::vector<T> read_dataset(hid_t parent, const std::string& name, std::vector<hsize_t>* dims = nullptr);

}  // namespace gcnn::h5
