#pragma once
// Force-included (-include) into every source of the SMPI build only
// (scale/CMakeLists.txt); the core sources stay unchanged. Five mappings
// (the fifth is described with its code below):
//
// 1. MPI_Ialltoallv -> deferred: a stand-in request; the blocking
//    MPI_Alltoallv (--cfg=smpi/alltoallv:pair, P - 1 pairwise rounds) runs
//    in the first MPI_Test/Testall that finds every rank of the communicator
//    has posted it, or in the wait. SMPI's own non-blocking all-to-all posts
//    all P^2 flows at once and stalls the simulation at hundreds of ranks.
//    So the all-to-all happens at a poll, as a non-blocking collective
//    progressed by polls (libnbc) does, but its bytes then move with the
//    rank blocked: the flat route's all-to-all and the node-aware stages 1
//    and 3 hide nothing behind the leave tests. The node-aware route's
//    cross-node MPI_Isend/Irecv (stage 2) stay SMPI's own and travel while
//    the leave tests compute (5.).
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
// 3. The count exchange at its true size. The prediction runs divide every
//    bandwidth by the byte scale S (make_platform.py --byte-scale) so that the
//    reduced ensemble's proposers take the full ensemble's time; but the
//    counts (one int64 per peer, plus the node-aware route's per-node-pair
//    count blocks) are as large in the reduced ensemble as in the full one,
//    and would be charged S times their size (at 1024 ranks, S = 128: ~7 ms
//    of a 26 ms exchange). So the counts' values pass between the simulated
//    ranks in process memory (they are one process), in order per (sender,
//    receiver), and the MPI call carries max(1, ceil(bytes / S)) bytes per
//    peer: the time of the true bytes on the true platform, same algorithm,
//    same peers, same synchronisation (a rank takes a peer's values only once
//    that peer's message has arrived, i.e. after the peer put them there).
//    The counts calls are recognised as in src/mover_exchange.cpp: the
//    blocking MPI_Alltoall / MPI_Alltoallv (only counts use them; the
//    proposers use MPI_Ialltoallv) and MPI_Isend / MPI_Irecv with tag 1.
//    GCNN_SMPI_BYTE_SCALE (scale/smpirun.sh) is S; with S = 1 (the digest
//    test) the messages are the true ones and only the values' path differs.
//
// 4. Simulated time spent in each kind of exchange call, per rank
//    (comm_times(); the driver reports their means over ranks): the count
//    exchange (the blocking all-to-alls of counts and the node-aware route's
//    cross-node count messages), the proposers' all-to-alls (the mapped
//    MPI_Ialltoallv: the flat route's one, the node-aware stages 1 and 3) and
//    the node-aware stage 2 (waiting in MPI_Waitall for the cross-node
//    node-pair messages: what the leave tests did not hide, see 5.). Each
//    includes the wait for the slowest partner.
#include <mpi.h>
#include <simgrid/host.h>
#include <smpi/smpi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <utility>
#include <vector>

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

// ---- 3. the count exchange at its true size ------------------------------

inline constexpr int kCountTag = 1;  // mover_exchange.cpp: cross-node count messages

// The counts' values in flight, per (sender, receiver) world rank, in order.
// One per process: SMPI privatises the executable's globals per rank, so
// the first caller publishes its address in the (process-wide) environment.
struct CountMail {
  std::map<std::pair<int, int>, std::deque<std::vector<char>>> queue;
};

inline CountMail& count_mail() {
  if (const char* v = std::getenv("GCNN_SMPI_COUNT_MAIL"))
    return *reinterpret_cast<CountMail*>(static_cast<uintptr_t>(std::strtoull(v, nullptr, 16)));
  auto* m = new CountMail;  // lives as long as the simulation
  char hex[32];
  std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(m)));
  setenv("GCNN_SMPI_COUNT_MAIL", hex, 1);
  return *m;
}

inline void post_counts(int to_world, const void* data, size_t bytes) {
  const int me = [] { int r = 0; MPI_Comm_rank(MPI_COMM_WORLD, &r); return r; }();
  const char* c = static_cast<const char*>(data);
  count_mail().queue[{me, to_world}].emplace_back(c, c + bytes);
}

inline void take_counts(int from_world, void* data, size_t bytes) {
  int me = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &me);
  auto& q = count_mail().queue[{from_world, me}];
  if (q.empty() || q.front().size() != bytes) {
    std::fprintf(stderr, "smpi_shim: counts from rank %d to %d: expected %zu bytes, have %s\n", from_world, me, bytes,
                 q.empty() ? "none" : std::to_string(q.front().size()).c_str());
    MPI_Abort(MPI_COMM_WORLD, 3);
  }
  std::memcpy(data, q.front().data(), bytes);
  q.pop_front();
}

inline double byte_scale() {
  const char* v = std::getenv("GCNN_SMPI_BYTE_SCALE");
  const double s = v ? std::atof(v) : 1.0;
  return s >= 1 ? s : 1.0;
}

// Bytes the MPI call carries for `bytes` of counts: their true time on the
// scaled platform; at least 1, so that every peer still sends a message.
inline int stand_in_bytes(size_t bytes) {
  return static_cast<int>(std::max(1.0, std::ceil(static_cast<double>(bytes) / byte_scale())));
}

inline std::vector<int> world_ranks(MPI_Comm comm) {
  int n = 0;
  MPI_Comm_size(comm, &n);
  MPI_Group g, w;
  MPI_Comm_group(comm, &g);
  MPI_Comm_group(MPI_COMM_WORLD, &w);
  std::vector<int> local(static_cast<size_t>(n)), out(static_cast<size_t>(n));
  for (int p = 0; p < n; ++p) local[p] = p;
  MPI_Group_translate_ranks(g, n, local.data(), w, out.data());
  MPI_Group_free(&g);
  MPI_Group_free(&w);
  return out;
}

inline int type_bytes(MPI_Datatype t) {
  int b = 0;
  MPI_Type_size(t, &b);
  return b;
}

inline int counts_alltoallv(const void* sbuf, const int* scounts, const int* sdispls, MPI_Datatype stype, void* rbuf,
                            const int* rcounts, const int* rdispls, MPI_Datatype rtype, MPI_Comm comm) {
  const std::vector<int> w = world_ranks(comm);
  const int n = static_cast<int>(w.size());
  const size_t sb = static_cast<size_t>(type_bytes(stype)), rb = static_cast<size_t>(type_bytes(rtype));
  for (int p = 0; p < n; ++p)
    post_counts(w[p], static_cast<const char*>(sbuf) + sdispls[p] * sb, static_cast<size_t>(scounts[p]) * sb);
  std::vector<int> sc(n), sd(n), rc(n), rd(n);
  int st = 0, rt = 0;
  for (int p = 0; p < n; ++p) {
    sc[p] = stand_in_bytes(static_cast<size_t>(scounts[p]) * sb);
    rc[p] = stand_in_bytes(static_cast<size_t>(rcounts[p]) * rb);
    sd[p] = st;
    rd[p] = rt;
    st += sc[p];
    rt += rc[p];
  }
  std::vector<char> s(static_cast<size_t>(st)), r(static_cast<size_t>(rt));
  const int ret = MPI_Alltoallv(s.data(), sc.data(), sd.data(), MPI_BYTE, r.data(), rc.data(), rd.data(), MPI_BYTE, comm);
  for (int p = 0; p < n; ++p)
    take_counts(w[p], static_cast<char*>(rbuf) + rdispls[p] * rb, static_cast<size_t>(rcounts[p]) * rb);
  return ret;
}

inline int counts_alltoall(const void* sbuf, int scount, MPI_Datatype stype, void* rbuf, int rcount,
                           MPI_Datatype rtype, MPI_Comm comm) {
  const std::vector<int> w = world_ranks(comm);
  const int n = static_cast<int>(w.size());
  const size_t sb = static_cast<size_t>(scount) * type_bytes(stype), rb = static_cast<size_t>(rcount) * type_bytes(rtype);
  for (int p = 0; p < n; ++p) post_counts(w[p], static_cast<const char*>(sbuf) + p * sb, sb);
  const int s1 = stand_in_bytes(sb), r1 = stand_in_bytes(rb);
  std::vector<char> s(static_cast<size_t>(s1) * n), r(static_cast<size_t>(r1) * n);
  const int ret = MPI_Alltoall(s.data(), s1, MPI_BYTE, r.data(), r1, MPI_BYTE, comm);
  for (int p = 0; p < n; ++p) take_counts(w[p], static_cast<char*>(rbuf) + p * rb, rb);
  return ret;
}

// Cross-node count messages: the receive's values are taken when its request
// completes (MPI_Waitall / MPI_Testall below).
struct PendingCounts {
  MPI_Request req;
  void* data;
  size_t bytes;
  int from_world;
  std::vector<char> stand_in;
};

inline std::vector<std::unique_ptr<PendingCounts>>& pending_counts() {
  static std::map<int, std::vector<std::unique_ptr<PendingCounts>>> by_rank;
  int me = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &me);
  return by_rank[me];
}

inline int isend_counts_aware(const void* buf, int count, MPI_Datatype t, int dest, int tag, MPI_Comm comm,
                              MPI_Request* req) {
  if (tag != kCountTag) return MPI_Isend(buf, count, t, dest, tag, comm, req);
  const size_t bytes = static_cast<size_t>(count) * type_bytes(t);
  post_counts(world_ranks(comm)[dest], buf, bytes);
  static const std::vector<char> zeros(1 << 16);
  const int n = stand_in_bytes(bytes);
  if (n > static_cast<int>(zeros.size())) MPI_Abort(MPI_COMM_WORLD, 3);
  return MPI_Isend(zeros.data(), n, MPI_BYTE, dest, tag, comm, req);
}

inline int irecv_counts_aware(void* buf, int count, MPI_Datatype t, int src, int tag, MPI_Comm comm,
                              MPI_Request* req) {
  if (tag != kCountTag) return MPI_Irecv(buf, count, t, src, tag, comm, req);
  auto p = std::make_unique<PendingCounts>();
  p->data = buf;
  p->bytes = static_cast<size_t>(count) * type_bytes(t);
  p->from_world = world_ranks(comm)[src];
  p->stand_in.resize(static_cast<size_t>(stand_in_bytes(p->bytes)));
  const int ret = MPI_Irecv(p->stand_in.data(), static_cast<int>(p->stand_in.size()), MPI_BYTE, src, tag, comm, req);
  p->req = *req;
  pending_counts().push_back(std::move(p));
  return ret;
}

// The pending count receives among reqs[0..n), by index (before completion
// sets the handles to MPI_REQUEST_NULL).
inline std::vector<std::pair<int, PendingCounts*>> counts_among(int n, const MPI_Request* reqs) {
  std::vector<std::pair<int, PendingCounts*>> out;
  for (auto& p : pending_counts())
    for (int i = 0; i < n; ++i)
      if (reqs[i] != MPI_REQUEST_NULL && reqs[i] == p->req) out.emplace_back(i, p.get());
  return out;
}

inline void deliver_counts(const std::vector<std::pair<int, PendingCounts*>>& done) {
  auto& all = pending_counts();
  for (const auto& [i, p] : done) {
    take_counts(p->from_world, p->data, p->bytes);
    all.erase(std::find_if(all.begin(), all.end(), [q = p](const auto& u) { return u.get() == q; }));
  }
}

// ---- 5. the leave tests' compute in the polls -------------------------------
//
// The sweep polls its exchange (MoverExchange::progress; on the node-aware
// route MPI_Testall) after each chunk of leave tests. The driver sets a
// budget of simulated leave-test compute (scale_driver.cpp --scale.overlap),
// the share between two of the reduced ensemble's polls, and the share of
// one chunk of the full-size rank (~2048 neurons: the full rank polls ~128
// times as often). Each poll tests; while the exchange is not done, it
// spends its share chunk by chunk, testing after each: so the node-aware
// stage 2 (posted at the first poll) travels while the leave tests compute
// and its end is seen within one full-size chunk, as in the real code. What
// the polls did not spend the driver injects after the sweep. (The flat
// route's all-to-all and the node-aware stages 1 and 3 stay blocking, see
// 1: they overlap nothing.)
struct PollCompute {
  double left = 0, per_poll = 0, per_chunk = 0;
};

inline PollCompute& poll_compute() {
  static std::map<int, PollCompute> by_rank;
  int me = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &me);
  return by_rank[me];
}

inline void execute_seconds(double s) {
  if (s > 0) smpi_execute_flops(s * sg_host_get_speed(sg_host_self()));
}

// ---- 1. and 4. --------------------------------------------------------------

// The proposers' all-to-all, deferred (1.): the request handed back is a
// stand-in; the blocking pairwise all-to-all runs in the first test at
// which every rank of the communicator has posted it (before that, a test
// says "not done", as a real one would, and the rank computes on), or in
// the wait. So it takes place at a poll, as a non-blocking collective
// progressed by polls does, and a rank never blocks in it for ranks that
// have not reached it.
struct DeferredAlltoallv {
  const void* sbuf;
  void* rbuf;
  std::vector<int> sc, sd, rc, rd;
  MPI_Datatype stype, rtype;
  MPI_Comm comm;
  std::pair<std::vector<int>, int> key;  // (members' world ranks, sequence number)
};

// Ranks that have posted each deferred all-to-all, shared by the process
// (published like count_mail()).
struct Joined {
  std::map<std::pair<std::vector<int>, int>, int> count;
};

inline Joined& joined() {
  if (const char* v = std::getenv("GCNN_SMPI_JOINED"))
    return *reinterpret_cast<Joined*>(static_cast<uintptr_t>(std::strtoull(v, nullptr, 16)));
  auto* j = new Joined;
  char hex[32];
  std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(j)));
  setenv("GCNN_SMPI_JOINED", hex, 1);
  return *j;
}

struct RankDeferred {
  std::map<MPI_Request, std::unique_ptr<DeferredAlltoallv>> pending;
  std::map<std::vector<int>, int> sequence;
};

inline RankDeferred& rank_deferred() {
  static std::map<int, RankDeferred> by_rank;
  int me = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &me);
  return by_rank[me];
}

inline DeferredAlltoallv* deferred(MPI_Request r) {
  if (r == MPI_REQUEST_NULL) return nullptr;
  auto& p = rank_deferred().pending;
  auto it = p.find(r);
  return it == p.end() ? nullptr : it->second.get();
}

inline int ialltoallv_deferred(const void* sbuf, const int* scounts, const int* sdispls, MPI_Datatype stype,
                               void* rbuf, const int* rcounts, const int* rdispls, MPI_Datatype rtype, MPI_Comm comm,
                               MPI_Request* req) {
  int n = 0;
  MPI_Comm_size(comm, &n);
  auto d = std::make_unique<DeferredAlltoallv>();
  d->sbuf = sbuf;
  d->rbuf = rbuf;
  d->sc.assign(scounts, scounts + n);
  d->sd.assign(sdispls, sdispls + n);
  d->rc.assign(rcounts, rcounts + n);
  d->rd.assign(rdispls, rdispls + n);
  d->stype = stype;
  d->rtype = rtype;
  d->comm = comm;
  const std::vector<int> w = world_ranks(comm);
  d->key = {w, rank_deferred().sequence[w]++};
  ++joined().count[d->key];
  *req = reinterpret_cast<MPI_Request>(d.get());  // a unique stand-in, never given to SMPI
  rank_deferred().pending[*req] = std::move(d);
  return MPI_SUCCESS;
}

// Runs a deferred all-to-all (blocking) and releases its stand-in.
inline int run_deferred(MPI_Request* req) {
  DeferredAlltoallv* d = deferred(*req);
  const double t0 = MPI_Wtime();
  const int rc = MPI_Alltoallv(d->sbuf, d->sc.data(), d->sd.data(), d->stype, d->rbuf, d->rc.data(), d->rd.data(),
                               d->rtype, d->comm);
  comm_times().node_ids += MPI_Wtime() - t0;
  auto& j = joined().count;
  if (--j[d->key] == 0) j.erase(d->key);  // the last member out: forget it
  rank_deferred().pending.erase(*req);
  *req = MPI_REQUEST_NULL;
  return rc;
}

// A test of a deferred all-to-all: run it if everyone has posted it.
inline bool test_deferred(MPI_Request* req) {
  DeferredAlltoallv* d = deferred(*req);
  int n = 0;
  MPI_Comm_size(d->comm, &n);
  const auto it = joined().count.find(d->key);
  if (it == joined().count.end() || it->second < n) return false;
  run_deferred(req);
  return true;
}

// The core's blocking all-to-alls carry counts only (mover_exchange.cpp):
// the flat route's MPI_Alltoall and the node-aware route's two node
// MPI_Alltoallv, between which its cross-node count messages are waited for.
inline int alltoall_counts(const void* sbuf, int scount, MPI_Datatype stype, void* rbuf, int rcount,
                           MPI_Datatype rtype, MPI_Comm comm) {
  const double t0 = MPI_Wtime();
  const int rc = counts_alltoall(sbuf, scount, stype, rbuf, rcount, rtype, comm);
  comm_times().counts += MPI_Wtime() - t0;
  return rc;
}

inline int alltoallv_counts(const void* sbuf, const int* scounts, const int* sdispls, MPI_Datatype stype, void* rbuf,
                            const int* rcounts, const int* rdispls, MPI_Datatype rtype, MPI_Comm comm) {
  const double t0 = MPI_Wtime();
  const int rc = counts_alltoallv(sbuf, scounts, sdispls, stype, rbuf, rcounts, rdispls, rtype, comm);
  CommTimes& t = comm_times();
  t.counts += MPI_Wtime() - t0;
  t.counts_pending = !t.counts_pending;  // stage 1 of the counts: their Waitall follows
  return rc;
}

inline int waitall_timed(int n, MPI_Request* reqs, MPI_Status* st) {
  for (int i = 0; i < n; ++i)
    if (deferred(reqs[i])) {
      const int rc = run_deferred(&reqs[i]);
      if (rc != MPI_SUCCESS) return rc;
    }
  const auto counts = counts_among(n, reqs);
  const double t0 = MPI_Wtime();
  const int rc = MPI_Waitall(n, reqs, st);
  deliver_counts(counts);
  CommTimes& t = comm_times();
  (t.counts_pending ? t.counts : t.cross_ids) += MPI_Wtime() - t0;
  return rc;
}

inline int wait_timed(MPI_Request* req, MPI_Status* st) {
  if (deferred(*req)) return run_deferred(req);
  return MPI_Wait(req, st);
}

inline int testall_timed(int n, MPI_Request* reqs, int* flag, MPI_Status* st) {
  // SMPI must not see a stand-in: test deferred ones, then the rest in a copy
  auto test = [&](int* f) {
    std::vector<MPI_Request> copy(reqs, reqs + n);
    bool all = true;
    for (int i = 0; i < n; ++i)
      if (deferred(copy[i])) {
        if (test_deferred(&copy[i])) reqs[i] = MPI_REQUEST_NULL;
        else all = false;
        copy[i] = MPI_REQUEST_NULL;
      }
    int real = 1;
    const int rc = MPI_Testall(n, copy.data(), &real, st);
    for (int i = 0; i < n; ++i)
      if (copy[i] == MPI_REQUEST_NULL && !deferred(reqs[i])) reqs[i] = MPI_REQUEST_NULL;
    *f = all && real;
    return rc;
  };
  const auto counts = counts_among(n, reqs);
  int rc = test(flag);
  // the leave tests' compute up to the next poll, chunk by chunk (5.); the
  // tests themselves take no simulated time (smpirun.sh smpi/test:0)
  PollCompute& pc = poll_compute();
  for (double spent = 0; !*flag && rc == MPI_SUCCESS && pc.per_chunk > 0 && pc.left > 0 && spent < pc.per_poll;) {
    const double d = std::min({pc.per_chunk, pc.left, pc.per_poll - spent});
    execute_seconds(d);
    pc.left -= d;
    spent += d;
    rc = test(flag);
  }
  // SMPI may complete some requests of a false Testall: deliver what completed
  std::vector<std::pair<int, PendingCounts*>> done;
  for (const auto& c : counts)
    if (reqs[c.first] == MPI_REQUEST_NULL) done.push_back(c);
  deliver_counts(done);
  return rc;
}

// The flat route's poll (MPI_Test on its one all-to-all): as a Testall of one.
inline int test_timed(MPI_Request* req, int* flag, MPI_Status* st) {
  return testall_timed(1, req, flag, st == MPI_STATUS_IGNORE ? MPI_STATUSES_IGNORE : st);
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

#define MPI_Ialltoallv gcnn_smpi::ialltoallv_deferred
#define MPI_Alltoall gcnn_smpi::alltoall_counts
#define MPI_Alltoallv gcnn_smpi::alltoallv_counts
#define MPI_Waitall gcnn_smpi::waitall_timed
#define MPI_Isend gcnn_smpi::isend_counts_aware
#define MPI_Irecv gcnn_smpi::irecv_counts_aware
#define MPI_Testall gcnn_smpi::testall_timed
#define MPI_Test gcnn_smpi::test_timed
#define MPI_Wait gcnn_smpi::wait_timed
#define MPI_Comm_split_type gcnn_smpi::split_type_by_node
