#include "gcnn/mpi_env.hpp"

#include <sys/stat.h>

#include <cstdio>

namespace gcnn {

void mpi_check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw std::runtime_error(std::string(what) + " failed: " + std::string(msg, len));
}

MpiSession::MpiSession(int* argc, char*** argv) {
  int inited = 0;
  mpi_check(MPI_Initialized(&inited), "MPI_Initialized");
  if (!inited) mpi_check(MPI_Init(argc, argv), "MPI_Init");
  mpi_check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
}

MpiSession::~MpiSession() {
  // A destructor must not throw: a failed finalize is reported, not raised.
  int finalized = 0;
  if (MPI_Finalized(&finalized) != MPI_SUCCESS) finalized = 1;
  if (!finalized && MPI_Finalize() != MPI_SUCCESS) std::fprintf(stderr, "gcnn: warning: MPI_Finalize failed\n");
}

Comm::Comm(MPI_Comm c) : comm_(c) {
  mpi_check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  mpi_check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

std::string agreed_error(const Comm& comm, const std::string& local_error) {
  int who = local_error.empty() ? comm.size() : comm.rank();
  mpi_check(MPI_Allreduce(MPI_IN_PLACE, &who, 1, MPI_INT, MPI_MIN, comm.raw()), "MPI_Allreduce(agree)");
  if (who == comm.size()) return "";
  std::string msg = local_error;
  comm.bcast(msg, who);
  return msg;
}

bool root_says(const Comm& comm, bool answer_on_root) {
  int v = comm.root() && answer_on_root ? 1 : 0;
  comm.bcast(&v, 1);
  return v != 0;
}

bool file_exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

void Comm::barrier() const { mpi_check(MPI_Barrier(comm_), "MPI_Barrier"); }

void Comm::bcast(std::string& s, int from) const {
  int64_t n = static_cast<int64_t>(s.size());
  bcast(&n, 1, from);
  s.resize(static_cast<size_t>(n));
  bcast(s.data(), s.size(), from);
}

}  // namespace gcnn
