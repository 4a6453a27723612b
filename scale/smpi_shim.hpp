#pragma once
// Force-included (-include) into every source of the SMPI build only
// (scale/CMakeLists.txt); the core sources stay unchanged. Three mappings:
//
// 1. MPI_Ialltoallv -> the blocking MPI_Alltoallv, its request set to
//    MPI_REQUEST_NULL (MPI_Test and MPI_Wait then return at once). SMPI's
//    non-blocking all-to-all posts all P^2 flows at once and stalls the
//    simulation at hundreds of ranks; the blocking one runs the algorithm
//    chosen with --cfg=smpi/alltoallv:pair (P - 1 pairwise rounds). The
//    prediction therefore hides no communication behind the leave tests.
//    (The node-aware route's cross-node MPI_Isend/Irecv stay SMPI's own and
//    are completed by MPI_Testall/Waitall: a few flows per rank.)
//
// 2. MPI_Comm_split_type(MPI_COMM_TYPE_SHARED) -> ranks grouped by node,
//    floor(rank / GCNN_SMPI_RANKS_PER_NODE) (environment, default 64, as in
//    scale/platforms/make_platform.py --rpn). SMPI groups by simulated host,
//    and the platform has one host per rank (so that the node's NIC is shared
//    by its ranks): without this a node-aware exchange would see one-rank nodes.
//    GCNN_SMPI_ROUTE=flat makes every rank its own "node" instead, so that
//    MoverExchange takes the flat route (one all-to-all over all ranks) on the
//    same multi-node platform (scale/predict --route flat).
//
// 3. Simulated time spent in each kind of exchange call, per rank
//    (comm_times(); the driver reports their means over ranks): the count
//    exchange (the blocking all-to-alls of counts and the node-aware route's
//    cross-node count messages), the proposers' all-to-alls (the mapped
//    MPI_Ialltoallv: the flat route's one, the node-aware stages 1 and 3) and
//    the node-aware stage 2 (waiting for the cross-node node-pair messages).
//    Each includes the wait for the slowest partner.
#include <mpi.h>

#include <cstdlib>
#include <cstring>
#include <map>

namespace gcnn_smpi {

struct CommTimes {
  double counts = 0;     // count exchange
  double node_ids = 0;   // proposers' all-to-alls (flat; node-aware stages 1 and 3)
  double cross_ids = 0;  // node-aware stage 2: cross-node Isend/Irecv completion
  bool counts_pending = false;  // the node-aware counts' Waitall comes next
};

// Per world rank: SMPI runs every rank in one process, so no global is
// assumed private to a rank.
inline CommTimes& comm_times() {
  static std::map<int, CommTimes> by_rank;
  int world = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world);
  return by_rank[world];
}

inline int ialltoallv_blocking(const void* sbuf, const int* scounts, const int* sdispls, MPI_Datatype stype,
                               void* rbuf, const int* rcounts, const int* rdispls, MPI_Datatype rtype, MPI_Comm comm,
                               MPI_Request* req) {
  *req = MPI_REQUEST_NULL;
  const double t0 = MPI_Wtime();
  const int rc = MPI_Alltoallv(sbuf, scounts, sdispls, stype, rbuf, rcounts, rdispls, rtype, comm);
  comm_times().node_ids += MPI_Wtime() - t0;
  return rc;
}

// The core's blocking all-to-alls carry counts only (mover_exchange.cpp):
// the flat route's MPI_Alltoall and the node-aware route's two node
// MPI_Alltoallv, between which its cross-node count messages are waited for.
inline int alltoall_counts(const void* sbuf, int scount, MPI_Datatype stype, void* rbuf, int rcount,
                           MPI_Datatype rtype, MPI_Comm comm) {
  const double t0 = MPI_Wtime();
  const int rc = MPI_Alltoall(sbuf, scount, stype, rbuf, rcount, rtype, comm);
  comm_times().counts += MPI_Wtime() - t0;
  return rc;
}

inline int alltoallv_counts(const void* sbuf, const int* scounts, const int* sdispls, MPI_Datatype stype, void* rbuf,
                            const int* rcounts, const int* rdispls, MPI_Datatype rtype, MPI_Comm comm) {
  const double t0 = MPI_Wtime();
  const int rc = MPI_Alltoallv(sbuf, scounts, sdispls, stype, rbuf, rcounts, rdispls, rtype, comm);
  CommTimes& t = comm_times();
  t.counts += MPI_Wtime() - t0;
  t.counts_pending = !t.counts_pending;  // stage 1 of the counts: their Waitall follows
  return rc;
}

inline int waitall_timed(int n, MPI_Request* reqs, MPI_Status* st) {
  const double t0 = MPI_Wtime();
  const int rc = MPI_Waitall(n, reqs, st);
  CommTimes& t = comm_times();
  (t.counts_pending ? t.counts : t.cross_ids) += MPI_Wtime() - t0;
  return rc;
}

inline int testall_timed(int n, MPI_Request* reqs, int* flag, MPI_Status* st) {
  const double t0 = MPI_Wtime();
  const int rc = MPI_Testall(n, reqs, flag, st);
  comm_times().cross_ids += MPI_Wtime() - t0;
  return rc;
}

inline int ranks_per_node() {
  const char* v = std::getenv("GCNN_SMPI_RANKS_PER_NODE");
  const int n = v ? std::atoi(v) : 64;
  return n > 0 ? n : 64;
}

inline bool flat_route() {
  const char* v = std::getenv("GCNN_SMPI_ROUTE");
  return v && std::strcmp(v, "flat") == 0;
}

inline int split_type_by_node(MPI_Comm comm, int type, int key, MPI_Info info, MPI_Comm* out) {
  if (type != MPI_COMM_TYPE_SHARED) return MPI_Comm_split_type(comm, type, key, info, out);
  int world = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world);
  return MPI_Comm_split(comm, flat_route() ? world : world / ranks_per_node(), key, out);
}

}  // namespace gcnn_smpi

#define MPI_Ialltoallv gcnn_smpi::ialltoallv_blocking
#define MPI_Alltoall gcnn_smpi::alltoall_counts
#define MPI_Alltoallv gcnn_smpi::alltoallv_counts
#define MPI_Waitall gcnn_smpi::waitall_timed
#define MPI_Testall gcnn_smpi::testall_timed
#define MPI_Comm_split_type gcnn_smpi::split_type_by_node
