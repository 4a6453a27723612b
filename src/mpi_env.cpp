#include "gcnn/mpi_env.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace gcnn {

void mpi_check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw std::runtime_error(std::string(what) + " failed: " + std::string(msg, len));
}

namespace {

// Started without a launcher (`gcnn digest`, `gcnn config`, `gcnn verify` on
// a login node or a workstation), Open MPI's MPI_Init forks an orted daemon
// that discovers the machine's topology: 0.45 s of wall and 0.4 s of
// processor time per start, against 0.2 s and 0.18 s without it. gcnn never
// spawns processes, so such a singleton asks for none (ess_singleton_isolated).
// Every isolated singleton has the same name, [[0,1],0], hence the same
// session directory under the temporary directory, and two at once on a node
// would collide there (seen: "mkdir ... jf.0/1: File exists"). So each gets a
// private base directory for its session, removed at exit. Only a true
// singleton: a process that a launcher started (mpirun, srun, a SLURM batch
// step) shares its node's session directory with its peers and is left
// alone, and so is a user's own choice of either variable.
std::string private_session_base;

void remove_private_session_base() {
  std::error_code ec;
  std::filesystem::remove_all(private_session_base, ec);  // best effort: a leftover is an empty directory
}

bool started_by_a_launcher() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "OMPI_MCA_orte_hnp_uri", "PMIX_RANK", "PMI_RANK", "PMI_SIZE",
                        "SLURM_PROCID"})
    if (std::getenv(v)) return true;
  return false;
}

void isolate_open_mpi_singleton() {
  if (started_by_a_launcher() || std::getenv("OMPI_MCA_ess_singleton_isolated") ||
      std::getenv("OMPI_MCA_orte_tmpdir_base"))
    return;
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/gcnn-mpi.XXXXXX";
  if (!mkdtemp(dir.data())) return;  // the daemon path still works
  private_session_base = dir;
  std::atexit(remove_private_session_base);
  setenv("OMPI_MCA_orte_tmpdir_base", dir.c_str(), 1);
  setenv("OMPI_MCA_ess_singleton_isolated", "1", 1);
}

}  // namespace

MpiSession::MpiSession(int* argc, char*** argv) {
  int inited = 0;
  mpi_check(MPI_Initialized(&inited), "MPI_Initialized");
  if (!inited) {
    isolate_open_mpi_singleton();
    mpi_check(MPI_Init(argc, argv), "MPI_Init");
  }
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
