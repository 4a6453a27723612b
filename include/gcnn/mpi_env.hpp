#pragma once
// Thin MPI layer: initialisation, block distribution by global id, and typed
// reductions. Most physics code calls MPI only through them; the exchange
// sweep's all-to-all, the observables' reduction and the grand potential's
// gathers call MPI directly (checked with mpi_check) where a wrapper would
// add a copy.
#include <mpi.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace gcnn {

// Throws on any MPI error code (MPI_ERRORS_RETURN is set on the world comm).
void mpi_check(int rc, const char* what);

class MpiSession {  // RAII MPI_Init / MPI_Finalize
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
};

class Comm {
 public:
  explicit Comm(MPI_Comm c = MPI_COMM_WORLD);
  MPI_Comm raw() const { return comm_; }
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool root() const { return rank_ == 0; }

  void barrier() const;
  template <class T> void sum(T* data, size_t n) const;     // in-place allreduce
  template <class T> T sum(T v) const { sum(&v, 1); return v; }
  template <class T> T max(T v) const;
  void bcast(std::string& s, int from = 0) const;
  template <class T> void bcast(T* data, size_t n, int from = 0) const;

 private:
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
};

// ---- Collective agreement on errors --------------------------------------
// The one rule for error paths: a rank that fails never enters a collective
// the others may not reach. Either every rank agrees first (the functions
// below: each rank passes its own error, "" if none, and all learn the same
// verdict), or the failing rank ends the job (main: MPI_Abort).

// A runtime failure every rank raises together (after agreement): reported
// once, on rank 0, with exit 1 and no MPI_Abort.
struct AgreedError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Collective: the message of the lowest rank whose local_error is not
// empty, on every rank, or "" if no rank failed.
std::string agreed_error(const Comm& comm, const std::string& local_error);

// Collective: throws Error(prefix + message) on every rank if any rank failed.
template <class Error = AgreedError>
void agree_or_throw(const Comm& comm, const std::string& local_error, const std::string& prefix = "") {
  const std::string msg = agreed_error(comm, local_error);
  if (!msg.empty()) throw Error(prefix + msg);
}

// Runs f on every rank and agrees on the outcome: the message of the
// exception f threw on the lowest failing rank, "" if none did.
template <class F> std::string try_everywhere(const Comm& comm, F&& f) {
  std::string err;
  try {
    f();
  } catch (const std::exception& e) {
    err = e.what();
    if (err.empty()) err = "unknown error";
  }
  return agreed_error(comm, err);
}

// Runs f on rank 0 only (file I/O that one rank does for all) and returns,
// on every rank, the message of the exception f threw there, or "" if none:
// every rank then raises the same error, or none does.
template <class F> std::string on_root(const Comm& comm, F&& f) {
  std::string err;
  if (comm.root()) {
    try {
      f();
    } catch (const std::exception& e) {
      err = e.what();
      if (err.empty()) err = "unknown error";
    }
  }
  comm.bcast(err);
  return err;
}

// Rank 0 asks a question about the file system (does the output exist?)
// and every rank gets its answer.
bool root_says(const Comm& comm, bool answer_on_root);

// Whether anything (file, directory, device) exists at `path`.
bool file_exists(const std::string& path);

// Block distribution of n items (networks, or neurons by id) over P ranks:
// rank r owns [lo(r), lo(r+1)) with lo(r) = floor(n r / P).
struct Blocks {
  int64_t n = 0;
  int P = 1;
  int64_t lo(int r) const { return static_cast<int64_t>((static_cast<__int128>(n) * r) / P); }
  int64_t hi(int r) const { return lo(r + 1); }
};

template <class T> MPI_Datatype mpi_type();
template <> inline MPI_Datatype mpi_type<double>() { return MPI_DOUBLE; }
template <> inline MPI_Datatype mpi_type<int64_t>() { return MPI_INT64_T; }
template <> inline MPI_Datatype mpi_type<uint64_t>() { return MPI_UINT64_T; }
template <> inline MPI_Datatype mpi_type<int>() { return MPI_INT; }
template <> inline MPI_Datatype mpi_type<char>() { return MPI_CHAR; }

template <class T> void Comm::sum(T* data, size_t n) const {
  if (n == 0) return;
  mpi_check(MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(n), mpi_type<T>(), MPI_SUM, comm_),
            "MPI_Allreduce(sum)");
}
template <class T> T Comm::max(T v) const {
  mpi_check(MPI_Allreduce(MPI_IN_PLACE, &v, 1, mpi_type<T>(), MPI_MAX, comm_), "MPI_Allreduce(max)");
  return v;
}
template <class T> void Comm::bcast(T* data, size_t n, int from) const {
  if (n == 0) return;
  mpi_check(MPI_Bcast(data, static_cast<int>(n), mpi_type<T>(), from, comm_), "MPI_Bcast");
}

}  // namespace gcnn
