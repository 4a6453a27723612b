#pragma once
// The exchange sweep's one message round (docs/model.md §2): a reservoir neuron
// proposing to join a network owned by another rank travels there, and the
// join is decided on arrival. On the wire a proposer is its id alone (8
// bytes, kWireBytes): everything else about it is an id-keyed function the
// receiver recomputes (its target network a and join uniform are this step's
// ExchangeRule::draw(step, id), its parameters are theta(id) =
// draw_neuron_params(id), which the checkpoint's semantic check enforces).
// The counts go first (blocking), then the ids travel non-blocking while the
// leave tests run (progress() from their loop, finish() before the arrivals).
//
// Two routes, the same arrivals in the same (canonical) order:
//  Flat       one all-to-all over all P ranks: every rank sends P - 1
//             messages and P counts per sweep (used on one node, or with
//             one rank per node).
//  NodeAware  ranks are grouped by node (MPI_COMM_TYPE_SHARED, or pseudo-nodes
//             of k consecutive ranks for tests: ExchangeTopology). Local rank
//             j of node n is the forwarder for every other node m with
//             m mod L_n = j (L_n ranks on node n), and likewise the receiver
//             for the proposers from those nodes. Three stages:
//               1. all-to-all inside the node: to local rank j go the
//                  proposers for j itself and for all ranks of the nodes j
//                  forwards to;
//               2. ONE message per node pair: forwarder (n, m mod L_n) sends
//                  everything its node has for node m to receiver
//                  (m, n mod L_m);
//               3. all-to-all inside the node: receivers hand each rank its
//                  proposers.
//             The counts take the same three stages first. Per rank and
//             sweep that is 2 (L - 1) messages inside the node and about
//             2 nodes / L across nodes, against P - 1 in each direction
//             for Flat: O(nodes) messages per node pair instead of O(P) per
//             rank. Each id is copied three more times (8 bytes each, a
//             memory copy against a network transfer).
//             The destination assembles the arrivals by source rank, then in
//             the source's send order: exactly Flat's order, so the layout,
//             reservoir order included, does not depend on the route.
#include <cstdint>
#include <memory>
#include <vector>

#include "gcnn/buffer.hpp"
#include "gcnn/ensemble.hpp"
#include "gcnn/mpi_env.hpp"

namespace gcnn {

// The owner of network a when networks are block-distributed with
// lo(d) = floor(d M / P) (Blocks): the largest d with lo(d) <= a is
// floor(N / M), N = (a + 1) P - 1. The double quotient floors to the same
// integer: a non-integer N/M lies at least 1/M from the integers, and the
// division's rounding error is below N/M 2^-53 < 1/M while N < 2^53
// (MoverExchange's constructor checks (M + 1) P < 2^53). Inline: it runs in
// the proposals' vector loop, with no gather of block bounds.
inline int64_t network_owner(int64_t a, int P, double M) {
  const int64_t d = static_cast<int64_t>(static_cast<double>((a + 1) * P - 1) / M);
  return d < P - 1 ? d : P - 1;
}

// Bytes of one proposer on the wire: its id.
inline constexpr int64_t kWireBytes = sizeof(int64_t);

// MPI-3 counts and displacements are int (Open MPI 4.1 here has no MPI-4
// large-count MPI_Alltoallv_c). In bytes they would overflow at 2^31 bytes
// (2.7e8 movers of 8 bytes); in units of movers, through the datatype of one
// mover (MPI_INT64_T, the id), at 2^31 - 1 movers (16 GiB) per message or
// per buffer offset. This turns per-rank mover counts into MPI counts and
// displacements (prefix sums) and throws std::overflow_error, naming `what`,
// if one of them does not fit in int. Returns the total number of movers.
int64_t mover_counts_to_mpi(const int64_t* movers, int P, int* counts, int* displs, const char* what);

// Which route the proposers take (see above).
struct ExchangeTopology {
  // 0: the machine's shared-memory nodes; NodeAware if there are several
  // nodes and some node has several ranks, else Flat.
  // k > 0: pseudo-nodes of k consecutive ranks, NodeAware always (so that
  // one machine exercises the two-level route).
  int ranks_per_node = 0;
  // GCNN_RANKS_PER_NODE=k in the environment, else 0.
  static ExchangeTopology from_environment();
};

class NodeExchange;  // the NodeAware route's communicators and scratch

class MoverExchange {
 public:
  // Checks that network_owner() is exact for the ensemble's networks.
  // Collective over the ensemble's communicator.
  explicit MoverExchange(const Ensemble& e, ExchangeTopology t = ExchangeTopology::from_environment());
  MoverExchange(const MoverExchange&) = delete;
  MoverExchange& operator=(const MoverExchange&) = delete;
  ~MoverExchange();

  // Sizes the send buffer for count[p] movers to rank p (count[me] is
  // ignored: local proposers never travel); slot(p) is where the ids of rank
  // p's movers go, contiguously. Throws std::overflow_error past MPI's int counts.
  void prepare_send(const int64_t* count);
  int64_t* slot(int p) { return send_.data() + slot_at_[p]; }
  // Exchanges the counts (blocking), then starts the movers' exchange.
  void start();
  // Lets the movers' exchange progress (call it from compute loops).
  void progress();
  // Waits for the movers: received() is then complete, the arrived ids in
  // canonical order (by source rank, then in the source's send order).
  void finish();
  const Buffer<int64_t>& received() const { return recv_; }
  // Movers this rank sent in the last start().
  int64_t sent() const { return sent_; }
  double scratch_bytes() const;
  // The route in use: NodeAware, and over how many nodes (1 for Flat).
  bool node_aware() const { return node_ != nullptr; }
  int nodes() const;

 private:
  MPI_Comm comm_;
  int P_, me_;
  int64_t sent_ = 0;
  MPI_Request pending_ = MPI_REQUEST_NULL;
  std::vector<int64_t> send_movers_, recv_movers_, slot_at_, recv_at_;  // per rank, 64-bit
  std::vector<int> send_counts_, recv_counts_, send_displs_, recv_displs_;  // the same in MPI's int
  Buffer<int64_t> send_, recv_;  // mover ids
  std::unique_ptr<NodeExchange> node_;  // null: Flat
};

}  // namespace gcnn
