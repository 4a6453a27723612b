#pragma once
// Force-included (-include) into every source of the SMPI build only
// (scale/CMakeLists.txt); the core sources stay unchanged. Two mappings:
//
// 1. MPI_Ialltoallv -> the blocking MPI_Alltoallv, its request set to
//    MPI_REQUEST_NULL (MPI_Test and MPI_Wait then return at once). SMPI's
//    non-blocking all-to-all posts all P^2 flows at once and stalls the
//    simulation at hundreds of ranks; the blocking one runs the algorithm
//    chosen with --cfg=smpi/alltoallv:pair (P - 1 pairwise rounds). The
//    prediction therefore hides no communication behind the leave tests.
//
// 2. MPI_Comm_split_type(MPI_COMM_TYPE_SHARED) -> ranks grouped by node,
//    floor(rank / GCNN_SMPI_RANKS_PER_NODE) (environment, default 64, as in
//    scale/platforms/make_platform.py --rpn). SMPI groups by simulated host,
//    and the platform has one host per rank (so that the node's NIC is shared
//    by its ranks): without this a node-aware exchange would see one-rank nodes.
#include <mpi.h>

#include <cstdlib>

namespace gcnn_smpi {

inline int ialltoallv_blocking(const void* sbuf, const int* scounts, const int* sdispls, MPI_Datatype stype,
                               void* rbuf, const int* rcounts, const int* rdispls, MPI_Datatype rtype, MPI_Comm comm,
                               MPI_Request* req) {
  *req = MPI_REQUEST_NULL;
  return MPI_Alltoallv(sbuf, scounts, sdispls, stype, rbuf, rcounts, rdispls, rtype, comm);
}

inline int ranks_per_node() {
  const char* v = std::getenv("GCNN_SMPI_RANKS_PER_NODE");
  const int n = v ? std::atoi(v) : 64;
  return n > 0 ? n : 64;
}

inline int split_type_by_node(MPI_Comm comm, int type, int key, MPI_Info info, MPI_Comm* out) {
  if (type != MPI_COMM_TYPE_SHARED) return MPI_Comm_split_type(comm, type, key, info, out);
  int world = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world);
  return MPI_Comm_split(comm, world / ranks_per_node(), key, out);
}

}  // namespace gcnn_smpi

#define MPI_Ialltoallv gcnn_smpi::ialltoallv_blocking
#define MPI_Comm_split_type gcnn_smpi::split_type_by_node
