#include "gcnn/mover_exchange.hpp"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <stdexcept>
#include <string>

namespace gcnn {

int64_t mover_counts_to_mpi(const int64_t* movers, int P, int* counts, int* displs, const char* what) {
  auto fit = [what](int64_t v, const char* field, int p) {
    if (v < 0 || v > INT_MAX)
      throw std::overflow_error(std::string(what) + ": " + field + " for rank " + std::to_string(p) + " is " +
                                std::to_string(v) + " movers, beyond MPI's int counts (2^31 - 1); use more ranks");
    return static_cast<int>(v);
  };
  int64_t total = 0;
  for (int p = 0; p < P; ++p) {
    counts[p] = fit(movers[p], "count", p);
    displs[p] = fit(total, "displacement", p);
    total += movers[p];
  }
  return total;
}

ExchangeTopology ExchangeTopology::from_environment() {
  ExchangeTopology t;
  if (const char* v = std::getenv("GCNN_RANKS_PER_NODE"); v && *v) {
    char* end = nullptr;
    const long k = std::strtol(v, &end, 10);
    if (*end != '\0' || k < 1 || k > INT_MAX)
      throw std::invalid_argument(std::string("GCNN_RANKS_PER_NODE=") + v + ": expected a positive integer");
    t.ranks_per_node = static_cast<int>(k);
  }
  return t;
}

// ---- NodeAware route (mover_exchange.hpp) ----------------------------------

namespace {

// Sums of consecutive runs of a count vector: the movers of each group.
int64_t sum_of(const int64_t* v, size_t n) { return std::accumulate(v, v + n, int64_t{0}); }

int fit_int(int64_t v, const char* what) {
  if (v < 0 || v > INT_MAX)
    throw std::overflow_error(std::string("exchange sweep: ") + what + " of " + std::to_string(v) +
                              " movers, beyond MPI's int counts (2^31 - 1); use more ranks");
  return static_cast<int>(v);
}

void free_comm(MPI_Comm& c) {
  if (c == MPI_COMM_NULL) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  // A destructor cannot throw: a failure to free is reported, not fatal.
  if (!finalized && MPI_Comm_free(&c) != MPI_SUCCESS) std::fprintf(stderr, "gcnn: warning: MPI_Comm_free failed\n");
  c = MPI_COMM_NULL;
}

}  // namespace

class NodeExchange {
 public:
  NodeExchange(MPI_Comm comm, int ranks_per_node);
  ~NodeExchange() {
    free_comm(node_);
    free_comm(world_);
  }
  NodeExchange(const NodeExchange&) = delete;
  NodeExchange& operator=(const NodeExchange&) = delete;

  int nodes() const { return static_cast<int>(members_.size()); }
  // Destination ranks in the order of the send buffer: for each local rank j,
  // j itself, then every rank of the nodes j forwards to.
  const std::vector<int>& send_order() const { return send_order_; }
  // The three count stages (blocking), then stage 1 of the ids. send holds
  // send_movers[p] ids per rank p in send_order(); recv_movers gets the
  // movers from each rank.
  void start(const int64_t* send_movers, const int64_t* send, int64_t* recv_movers);
  void progress() { advance(false); }
  // Completes the stages and writes the arrivals into recv at recv_displs
  // (movers per source rank, prefix sums in rank order).
  void finish(int64_t* recv, const int64_t* recv_displs);
  double scratch_bytes() const;

 private:
  int L(int node) const { return static_cast<int>(members_[static_cast<size_t>(node)].size()); }
  // Nodes other than n that local rank j of node n forwards to and receives from.
  std::vector<int> peers(int n, int j) const;
  void advance(bool block);
  void pack_stage2();
  void pack_stage3();
  void alltoallv(const int64_t* s, const std::vector<int>& sc, const std::vector<int>& sd, int64_t* r,
                 const std::vector<int>& rc, const std::vector<int>& rd, const char* what);

  MPI_Comm world_ = MPI_COMM_NULL, node_ = MPI_COMM_NULL;  // private duplicates: no tag clashes
  int me_ = 0, li_ = 0, Ln_ = 1, my_node_ = 0;
  std::vector<std::vector<int>> members_;   // world ranks of each node, ascending
  std::vector<int> node_of_, local_of_;     // per world rank
  std::vector<int> send_order_;
  std::vector<int> my_peers_;               // nodes this rank forwards to and receives from
  std::vector<std::vector<int>> peers_of_;  // the same for each local rank
  // Count layouts (static): stage 1 to/from each local rank, stage 3.
  std::vector<int> c1_sc_, c1_sd_, c1_rc_, c1_rd_, c3_sc_, c3_sd_, c3_rc_, c3_rd_;
  std::vector<int> peer_off_;  // peer_off_[i]: where my i-th peer's ranks start in a stage-1 group (after the 1)
  // Per-sweep counts.
  std::vector<int64_t> c1_, c3s_, c3_;
  std::vector<std::vector<int64_t>> c2s_, c2r_;  // per peer: [d local][s local], d-major
  // Per-sweep ids and their MPI counts.
  std::vector<int> i1_sc_, i1_sd_, i1_rc_, i1_rd_, i3_sc_, i3_sd_, i3_rc_, i3_rd_;
  std::vector<int64_t> seg1_;  // start in r1_ of each (local j, t) segment of stage 1
  std::vector<int64_t> r2_at_; // start in r2_ of each peer's message
  Buffer<int64_t> r1_, s2_, r2_, s3_, r3_;
  std::vector<MPI_Request> reqs_;
  int phase_ = 0;  // 0 idle, 1..3 the stage in flight, 4 done
};

std::vector<int> NodeExchange::peers(int n, int j) const {
  std::vector<int> out;
  for (int m = 0; m < nodes(); ++m)
    if (m != n && m % L(n) == j) out.push_back(m);
  return out;
}

NodeExchange::NodeExchange(MPI_Comm comm, int ranks_per_node) {
  mpi_check(MPI_Comm_dup(comm, &world_), "MPI_Comm_dup(exchange)");
  int P = 0;
  mpi_check(MPI_Comm_rank(world_, &me_), "MPI_Comm_rank(exchange)");
  mpi_check(MPI_Comm_size(world_, &P), "MPI_Comm_size(exchange)");
  if (ranks_per_node > 0)
    mpi_check(MPI_Comm_split(world_, me_ / ranks_per_node, me_, &node_), "MPI_Comm_split(pseudo-node)");
  else
    mpi_check(MPI_Comm_split_type(world_, MPI_COMM_TYPE_SHARED, me_, MPI_INFO_NULL, &node_),
              "MPI_Comm_split_type(shared)");
  mpi_check(MPI_Comm_rank(node_, &li_), "MPI_Comm_rank(node)");
  mpi_check(MPI_Comm_size(node_, &Ln_), "MPI_Comm_size(node)");
  // Every rank learns every rank's node leader (lowest world rank of its node,
  // local rank 0: the split is keyed by world rank).
  int leader = me_;
  mpi_check(MPI_Bcast(&leader, 1, MPI_INT, 0, node_), "MPI_Bcast(node leader)");
  std::vector<int> leaders(static_cast<size_t>(P));
  mpi_check(MPI_Allgather(&leader, 1, MPI_INT, leaders.data(), 1, MPI_INT, world_), "MPI_Allgather(node leaders)");
  std::vector<int> distinct = leaders;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  members_.assign(distinct.size(), {});
  node_of_.assign(static_cast<size_t>(P), 0);
  local_of_.assign(static_cast<size_t>(P), 0);
  for (int r = 0; r < P; ++r) {
    const int n = static_cast<int>(std::lower_bound(distinct.begin(), distinct.end(), leaders[r]) - distinct.begin());
    node_of_[r] = n;
    local_of_[r] = L(n);
    members_[n].push_back(r);
  }
  my_node_ = node_of_[me_];
  if (L(my_node_) != Ln_ || local_of_[me_] != li_)
    throw std::logic_error("exchange sweep: node communicator disagrees with the node map");

  peers_of_.resize(static_cast<size_t>(Ln_));
  for (int j = 0; j < Ln_; ++j) peers_of_[j] = peers(my_node_, j);
  my_peers_ = peers_of_[li_];
  for (int j = 0; j < Ln_; ++j) {
    send_order_.push_back(members_[my_node_][j]);
    for (int m : peers_of_[j])
      for (int r : members_[m]) send_order_.push_back(r);
  }
  // Stage-1 count groups: 1 + the ranks of the forwarded nodes.
  auto group1 = [this](int j) {
    int g = 1;
    for (int m : peers_of_[j]) g += L(m);
    return g;
  };
  // Stage-3 count groups: the ranks of the nodes a receiver receives from.
  auto group3 = [this](int g) {
    int s = 0;
    for (int n : peers_of_[g]) s += L(n);
    return s;
  };
  for (auto* v : {&c1_sc_, &c1_sd_, &c1_rc_, &c1_rd_, &c3_sc_, &c3_sd_, &c3_rc_, &c3_rd_}) v->assign(Ln_, 0);
  for (int j = 0, s1 = 0, r1 = 0, s3 = 0, r3 = 0; j < Ln_; ++j) {
    c1_sc_[j] = group1(j);
    c1_sd_[j] = s1;
    s1 += c1_sc_[j];
    c1_rc_[j] = group1(li_);
    c1_rd_[j] = r1;
    r1 += c1_rc_[j];
    c3_sc_[j] = group3(li_);
    c3_sd_[j] = s3;
    s3 += c3_sc_[j];
    c3_rc_[j] = group3(j);
    c3_rd_[j] = r3;
    r3 += c3_rc_[j];
  }
  for (int i = 0, off = 1; i < static_cast<int>(my_peers_.size()); ++i) {
    peer_off_.push_back(off);
    off += L(my_peers_[i]);
  }
  c1_.assign(static_cast<size_t>(Ln_) * group1(li_), 0);
  c3s_.assign(static_cast<size_t>(Ln_) * group3(li_), 0);
  c3_.assign(static_cast<size_t>(c3_rd_.back() + c3_rc_.back()), 0);
  c2s_.resize(my_peers_.size());
  c2r_.resize(my_peers_.size());
  for (size_t i = 0; i < my_peers_.size(); ++i) {
    c2s_[i].assign(static_cast<size_t>(L(my_peers_[i])) * Ln_, 0);  // to node m: [d of m][s of mine]
    c2r_[i].assign(static_cast<size_t>(Ln_) * L(my_peers_[i]), 0);  // from node n: [d of mine][s of n]
  }
  for (auto* v : {&i1_sc_, &i1_sd_, &i1_rc_, &i1_rd_, &i3_sc_, &i3_sd_, &i3_rc_, &i3_rd_}) v->assign(Ln_, 0);
  seg1_.assign(c1_.size(), 0);
  r2_at_.assign(my_peers_.size() + 1, 0);
}

double NodeExchange::scratch_bytes() const {
  return static_cast<double>((r1_.capacity() + s2_.capacity() + r2_.capacity() + s3_.capacity() + r3_.capacity()) *
                             sizeof(int64_t));
}

void NodeExchange::alltoallv(const int64_t* s, const std::vector<int>& sc, const std::vector<int>& sd, int64_t* r,
                             const std::vector<int>& rc, const std::vector<int>& rd, const char* what) {
  mpi_check(MPI_Alltoallv(s, sc.data(), sd.data(), MPI_INT64_T, r, rc.data(), rd.data(), MPI_INT64_T, node_), what);
}

void NodeExchange::start(const int64_t* send_movers, const int64_t* send, int64_t* recv_movers) {
  const int npeer = static_cast<int>(my_peers_.size());
  const int my_node = my_node_;
  // Stage 1 counts: the per-rank counts in send order, one group per local rank.
  std::vector<int64_t> ordered(send_order_.size());
  for (size_t t = 0; t < send_order_.size(); ++t) ordered[t] = send_movers[send_order_[t]];
  alltoallv(ordered.data(), c1_sc_, c1_sd_, c1_.data(), c1_rc_, c1_rd_, "MPI_Alltoallv(exchange counts, node)");
  const size_t g1 = static_cast<size_t>(c1_rc_[0]);
  // Stage 2 counts: for each forwarded node m, [d of m][s local] from c1.
  for (int i = 0; i < npeer; ++i) {
    const int Lm = L(my_peers_[i]);
    for (int d = 0; d < Lm; ++d)
      for (int j = 0; j < Ln_; ++j) c2s_[i][static_cast<size_t>(d) * Ln_ + j] = c1_[j * g1 + peer_off_[i] + d];
  }
  reqs_.assign(2 * static_cast<size_t>(npeer), MPI_REQUEST_NULL);
  for (int i = 0; i < npeer; ++i) {
    const int n = my_peers_[i];
    // from node n: its forwarder for my node; to node n: its receiver for my node (the same local index)
    const int peer = members_[n][my_node % L(n)];
    mpi_check(MPI_Irecv(c2r_[i].data(), static_cast<int>(c2r_[i].size()), MPI_INT64_T, peer, 1, world_, &reqs_[i]),
              "MPI_Irecv(exchange counts, across nodes)");
    mpi_check(MPI_Isend(c2s_[i].data(), static_cast<int>(c2s_[i].size()), MPI_INT64_T, peer, 1, world_,
                        &reqs_[npeer + i]),
              "MPI_Isend(exchange counts, across nodes)");
  }
  mpi_check(MPI_Waitall(static_cast<int>(reqs_.size()), reqs_.data(), MPI_STATUSES_IGNORE),
            "MPI_Waitall(exchange counts, across nodes)");
  // Stage 3 counts: to local rank d, for each node n received from, for s of n.
  const size_t g3 = static_cast<size_t>(c3_sc_[0]);
  for (int d = 0; d < Ln_; ++d) {
    size_t t = 0;
    for (int i = 0; i < npeer; ++i) {
      const int Ls = L(my_peers_[i]);
      for (int s = 0; s < Ls; ++s) c3s_[d * g3 + t++] = c2r_[i][static_cast<size_t>(d) * Ls + s];
    }
  }
  alltoallv(c3s_.data(), c3_sc_, c3_sd_, c3_.data(), c3_rc_, c3_rd_, "MPI_Alltoallv(exchange counts, node, stage 3)");
  // What arrives from each rank: its own stage-1 segment if on my node, else
  // its entry in the stage-3 counts of the receiver for its node.
  for (int j = 0; j < Ln_; ++j) recv_movers[members_[my_node][j]] = c1_[j * g1];
  for (int g = 0; g < Ln_; ++g) {
    size_t t = static_cast<size_t>(c3_rd_[g]);
    for (int n : peers_of_[g])
      for (int s : members_[n]) recv_movers[s] = c3_[t++];
  }
  // Stage 1 ids: one group per local rank, contiguous in send order.
  std::vector<int64_t> movers(static_cast<size_t>(Ln_));
  for (int j = 0; j < Ln_; ++j) movers[j] = sum_of(ordered.data() + c1_sd_[j], static_cast<size_t>(c1_sc_[j]));
  mover_counts_to_mpi(movers.data(), Ln_, i1_sc_.data(), i1_sd_.data(), "exchange sweep: movers sent in the node");
  for (int j = 0; j < Ln_; ++j) movers[j] = sum_of(c1_.data() + j * g1, g1);
  const int64_t n1 = mover_counts_to_mpi(movers.data(), Ln_, i1_rc_.data(), i1_rd_.data(),
                                         "exchange sweep: movers received in the node");
  for (int j = 0; j < Ln_; ++j) {
    int64_t at = i1_rd_[j];
    for (size_t t = 0; t < g1; ++t) {
      seg1_[j * g1 + t] = at;
      at += c1_[j * g1 + t];
    }
  }
  r1_.resize(static_cast<size_t>(n1));
  reqs_.assign(1, MPI_REQUEST_NULL);
  mpi_check(MPI_Ialltoallv(send, i1_sc_.data(), i1_sd_.data(), MPI_INT64_T, r1_.data(), i1_rc_.data(), i1_rd_.data(),
                           MPI_INT64_T, node_, &reqs_[0]),
            "MPI_Ialltoallv(exchange movers, node)");
  phase_ = 1;
}

// Stage 2: to each forwarded node m, its ranks' proposers from every rank of
// my node, [d of m][s local] (the receiver hands them out by d).
void NodeExchange::pack_stage2() {
  const int npeer = static_cast<int>(my_peers_.size());
  const size_t g1 = static_cast<size_t>(c1_rc_[0]);
  int64_t total = 0;
  for (int i = 0; i < npeer; ++i) total += sum_of(c2s_[i].data(), c2s_[i].size());
  s2_.resize(static_cast<size_t>(total));
  int64_t* out = s2_.data();
  std::vector<int64_t> at(static_cast<size_t>(npeer) + 1, 0);
  for (int i = 0; i < npeer; ++i) {
    at[i] = out - s2_.data();
    const int Lm = L(my_peers_[i]);
    for (int d = 0; d < Lm; ++d)
      for (int j = 0; j < Ln_; ++j) {
        const size_t t = j * g1 + static_cast<size_t>(peer_off_[i] + d);
        out = std::copy_n(r1_.data() + seg1_[t], c1_[t], out);
      }
  }
  at[npeer] = total;
  for (int i = 0; i <= npeer; ++i) r2_at_[i] = 0;
  for (int i = 0; i < npeer; ++i) r2_at_[i + 1] = r2_at_[i] + sum_of(c2r_[i].data(), c2r_[i].size());
  r2_.resize(static_cast<size_t>(r2_at_[npeer]));
  reqs_.assign(2 * static_cast<size_t>(npeer), MPI_REQUEST_NULL);
  for (int i = 0; i < npeer; ++i) {
    const int n = my_peers_[i];
    const int peer = members_[n][my_node_ % L(n)];
    mpi_check(MPI_Irecv(r2_.data() + r2_at_[i], fit_int(r2_at_[i + 1] - r2_at_[i], "a node pair's message"),
                        MPI_INT64_T, peer, 2, world_, &reqs_[i]),
              "MPI_Irecv(exchange movers, across nodes)");
    mpi_check(MPI_Isend(s2_.data() + at[i], fit_int(at[i + 1] - at[i], "a node pair's message"), MPI_INT64_T, peer,
                        2, world_, &reqs_[npeer + i]),
              "MPI_Isend(exchange movers, across nodes)");
  }
}

// Stage 3: to each local rank d, for each node n received from, for each s of n.
void NodeExchange::pack_stage3() {
  const int npeer = static_cast<int>(my_peers_.size());
  std::vector<int64_t> movers(static_cast<size_t>(Ln_), 0);
  const size_t g3 = static_cast<size_t>(c3_sc_[0]);
  for (int d = 0; d < Ln_; ++d) movers[d] = sum_of(c3s_.data() + d * g3, g3);
  const int64_t ns = mover_counts_to_mpi(movers.data(), Ln_, i3_sc_.data(), i3_sd_.data(),
                                         "exchange sweep: movers handed out in the node");
  s3_.resize(static_cast<size_t>(ns));
  int64_t* out = s3_.data();
  // start of segment (d, s) in peer i's message: prefix over its d-major counts
  std::vector<std::vector<int64_t>> seg2(static_cast<size_t>(npeer));
  for (int i = 0; i < npeer; ++i) {
    seg2[i].resize(c2r_[i].size());
    int64_t a = r2_at_[i];
    for (size_t t = 0; t < c2r_[i].size(); ++t) {
      seg2[i][t] = a;
      a += c2r_[i][t];
    }
  }
  for (int d = 0; d < Ln_; ++d)
    for (int i = 0; i < npeer; ++i) {
      const int Ls = L(my_peers_[i]);
      for (int s = 0; s < Ls; ++s) {
        const size_t t = static_cast<size_t>(d) * Ls + s;
        out = std::copy_n(r2_.data() + seg2[i][t], c2r_[i][t], out);
      }
    }
  for (int g = 0; g < Ln_; ++g) movers[g] = sum_of(c3_.data() + c3_rd_[g], static_cast<size_t>(c3_rc_[g]));
  const int64_t nr = mover_counts_to_mpi(movers.data(), Ln_, i3_rc_.data(), i3_rd_.data(),
                                         "exchange sweep: movers received in the node, stage 3");
  r3_.resize(static_cast<size_t>(nr));
  reqs_.assign(1, MPI_REQUEST_NULL);
  mpi_check(MPI_Ialltoallv(s3_.data(), i3_sc_.data(), i3_sd_.data(), MPI_INT64_T, r3_.data(), i3_rc_.data(),
                           i3_rd_.data(), MPI_INT64_T, node_, &reqs_[0]),
            "MPI_Ialltoallv(exchange movers, node, stage 3)");
}

// Moves the stages on: each one, once complete, packs and posts the next.
void NodeExchange::advance(bool block) {
  while (phase_ >= 1 && phase_ <= 3) {
    int done = 0;
    const int n = static_cast<int>(reqs_.size());
    if (block) {
      mpi_check(MPI_Waitall(n, reqs_.data(), MPI_STATUSES_IGNORE), "MPI_Waitall(exchange movers)");
      done = 1;
    } else {
      mpi_check(MPI_Testall(n, reqs_.data(), &done, MPI_STATUSES_IGNORE), "MPI_Testall(exchange movers)");
    }
    if (!done) return;
    if (phase_ == 1) pack_stage2();
    else if (phase_ == 2) pack_stage3();
    ++phase_;
  }
}

void NodeExchange::finish(int64_t* recv, const int64_t* recv_displs) {
  advance(true);
  phase_ = 0;
  const size_t g1 = static_cast<size_t>(c1_rc_[0]);
  for (int j = 0; j < Ln_; ++j) {
    const int s = members_[my_node_][j];
    std::copy_n(r1_.data() + seg1_[j * g1], c1_[j * g1], recv + recv_displs[s]);
  }
  for (int g = 0; g < Ln_; ++g) {
    size_t t = static_cast<size_t>(c3_rd_[g]);
    int64_t at = i3_rd_[g];
    for (int n : peers_of_[g])
      for (int s : members_[n]) {
        std::copy_n(r3_.data() + at, c3_[t], recv + recv_displs[s]);
        at += c3_[t++];
      }
  }
}

// ---- MoverExchange ---------------------------------------------------------

MoverExchange::MoverExchange(const Ensemble& e, ExchangeTopology t)
    : comm_(e.comm().raw()), P_(e.comm().size()), me_(e.comm().rank()) {
  const int64_t M = e.config().M;
  if (static_cast<double>(M + 1) * P_ >= 0x1p53)
    throw std::runtime_error("exchange sweep: M * ranks must be below 2^53");
  for (int p = 0; p < P_; ++p)
    if (e.network_blocks().lo(p) != (static_cast<__int128>(M) * p) / P_)
      throw std::logic_error("exchange sweep: network blocks are not lo(d) = floor(d M / P)");
  for (auto* v : {&send_movers_, &recv_movers_, &slot_at_, &recv_at_}) v->assign(P_, 0);
  for (auto* v : {&send_counts_, &recv_counts_, &send_displs_, &recv_displs_}) v->assign(P_, 0);
  if (P_ > 1) {
    auto node = std::make_unique<NodeExchange>(comm_, t.ranks_per_node);
    // Shared-memory nodes: two levels only where they save messages (several
    // nodes, and not one rank per node); pseudo-nodes always (tests).
    const bool saves_messages = node->nodes() > 1 && node->nodes() < P_;
    if (t.ranks_per_node > 0 || saves_messages) node_ = std::move(node);
  }
}

MoverExchange::~MoverExchange() = default;

int MoverExchange::nodes() const { return node_ ? node_->nodes() : 1; }

double MoverExchange::scratch_bytes() const {
  return static_cast<double>((send_.capacity() + recv_.capacity()) * sizeof(int64_t)) +
         (node_ ? node_->scratch_bytes() : 0.0);
}

void MoverExchange::prepare_send(const int64_t* count) {
  for (int p = 0; p < P_; ++p) send_movers_[p] = p == me_ ? 0 : count[p];
  if (node_) {
    // the send buffer in the NodeAware route's order (its stage 1 groups)
    int64_t at = 0;
    for (int p : node_->send_order()) {
      slot_at_[p] = at;
      at += send_movers_[p];
    }
    sent_ = at;
  } else {
    sent_ = mover_counts_to_mpi(send_movers_.data(), P_, send_counts_.data(), send_displs_.data(),
                                "exchange sweep: movers sent");
    for (int p = 0; p < P_; ++p) slot_at_[p] = send_displs_[p];
  }
  send_.resize(static_cast<size_t>(sent_));
}

void MoverExchange::start() {
  if (node_) {
    node_->start(send_movers_.data(), send_.data(), recv_movers_.data());
    int64_t at = 0;
    for (int p = 0; p < P_; ++p) {
      recv_at_[p] = at;  // canonical: by source rank
      at += recv_movers_[p];
    }
    recv_.resize(static_cast<size_t>(at));
    return;
  }
  mpi_check(MPI_Alltoall(send_movers_.data(), 1, MPI_INT64_T, recv_movers_.data(), 1, MPI_INT64_T, comm_),
            "MPI_Alltoall(exchange counts)");
  const int64_t nr = mover_counts_to_mpi(recv_movers_.data(), P_, recv_counts_.data(), recv_displs_.data(),
                                         "exchange sweep: movers received");
  recv_.resize(static_cast<size_t>(nr));
  mpi_check(MPI_Ialltoallv(send_.data(), send_counts_.data(), send_displs_.data(), MPI_INT64_T, recv_.data(),
                           recv_counts_.data(), recv_displs_.data(), MPI_INT64_T, comm_, &pending_),
            "MPI_Ialltoallv(exchange movers)");
}

void MoverExchange::progress() {
  if (node_) {
    node_->progress();
    return;
  }
  if (pending_ == MPI_REQUEST_NULL) return;
  int done = 0;
  mpi_check(MPI_Test(&pending_, &done, MPI_STATUS_IGNORE), "MPI_Test(exchange movers)");
}

void MoverExchange::finish() {
  if (node_) {
    node_->finish(recv_.data(), recv_at_.data());
    return;
  }
  mpi_check(MPI_Wait(&pending_, MPI_STATUS_IGNORE), "MPI_Wait(exchange movers)");
}

}  // namespace gcnn
