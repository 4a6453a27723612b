#include "gcnn/mpi_env.hpp"

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
  MPI_Initialized(&inited);
  if (!inited) MPI_Init(argc, argv);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

MpiSession::~MpiSession() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

Comm::Comm(MPI_Comm c) : comm_(c) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

void Comm::barrier() const { mpi_check(MPI_Barrier(comm_), "MPI_Barrier"); }

void Comm::bcast(std::string& s, int from) const {
  int64_t n = static_cast<int64_t>(s.size());
  bcast(&n, 1, from);
  s.resize(static_cast<size_t>(n));
  bcast(s.data(), s.size(), from);
}

}  // namespace gcnn
