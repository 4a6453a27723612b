#include "gcnn/checkpoint.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <type_traits>

#include "gcnn/build_info.hpp"
#include "gcnn/digest.hpp"
#include "gcnn/grand_potential_tables.hpp"
#include "gcnn/h5.hpp"
#include "gcnn/version.hpp"

namespace gcnn {

namespace {

// Positional checksum of a dataset, independent of how it is split over
// ranks: s1 = sum w_i and s2 = sum (i + 1) w_i (mod 2^64), w_i the bits of
// element i (its index in the whole dataset, row-major). A damaged element
// changes s1 whatever the damage; moved or swapped data changes s2. It guards
// the bulk arrays, which are stored unfiltered so that each rank can write
// its blocks straight through MPI-IO (h5::create_plain_dataset).
struct Checksum {
  uint64_t s[2] = {0, 0};
  template <class T>
  void add(const T* x, int64_t n, int64_t first) {
    uint64_t a = 0, b = 0;
    for (int64_t i = 0; i < n; ++i) {
      uint64_t w;
      if constexpr (sizeof(T) == 8) w = std::bit_cast<uint64_t>(x[i]);
      else w = std::bit_cast<uint32_t>(x[i]);
      a += w;
      b += static_cast<uint64_t>(first + i + 1) * w;
    }
    s[0] += a;
    s[1] += b;
  }
  std::vector<int64_t> stored() const { return {std::bit_cast<int64_t>(s[0]), std::bit_cast<int64_t>(s[1])}; }
};

// Position of this rank's active and reservoir neurons in the [R] arrays.
struct NeuronLayout {
  int64_t act_lo = 0, res_lo = 0, n_active = 0, n_reservoir = 0;
};
NeuronLayout layout(const Comm& comm, int64_t na, int64_t nr) {
  int64_t mine[2] = {na, nr}, before[2] = {0, 0}, total[2] = {na, nr};
  mpi_check(MPI_Exscan(mine, before, 2, MPI_INT64_T, MPI_SUM, comm.raw()), "MPI_Exscan");
  if (comm.rank() == 0) before[0] = before[1] = 0;  // MPI_Exscan leaves rank 0 undefined
  comm.sum(total, 2);
  return NeuronLayout{before[0], total[0] + before[1], total[0], total[1]};
}

void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) throw std::runtime_error("cannot open '" + path + "' to sync it: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw std::runtime_error("fsync of '" + path + "' failed: " + std::strerror(errno));
}

// The MPI-IO hints of a checkpoint file from the [checkpoint] keys (0: unset).
h5::MpioHints mpio_hints(const CheckpointIo& c) {
  h5::MpioHints h;
  h.stripe_count = c.checkpoint_stripe_count;
  h.stripe_size = c.checkpoint_stripe_size_mb << 20;
  h.cb_nodes = c.checkpoint_cb_nodes;
  h.cb_buffer_size = c.checkpoint_cb_buffer_mb << 20;
  return h;
}

// Where the checkpoint's objects go in the file. The bulk arrays start on a
// stripe boundary (checkpoint.stripe_size_mb, else 4 MiB: a multiple of
// Lustre's common 1 and 4 MiB defaults), so no stripe holds the end of one
// array and the start of the next, and the collective writes' aggregators
// own whole stripes. Only objects of at least 8 MiB (and one stripe) are
// aligned: the small datasets' chunks (<= 4 MiB) would waste up to a stripe
// each. Metadata is kept together in 1 MiB blocks instead of 2 KiB pieces
// between the data, but only in a file of 64 MiB or more, where that block
// is negligible (a small file would carry an unused hole).
h5::FileLayout file_layout(const CheckpointIo& c, double expected_bytes) {
  h5::FileLayout l;
  const hsize_t mib = hsize_t{1} << 20;
  l.alignment = c.checkpoint_stripe_size_mb > 0 ? static_cast<hsize_t>(c.checkpoint_stripe_size_mb) * mib : 4 * mib;
  l.align_threshold = std::max<hsize_t>(l.alignment, 8 * mib);
  if (expected_bytes >= 64.0 * static_cast<double>(mib)) l.meta_block = mib;
  return l;
}

// Every rank's share of a file written through MPI-IO on stable storage.
// fsync acts on the calling client's cache: on a parallel file system
// (Lustre) rank 0's fsync flushes only its own node's writes. So one rank
// per node (a shared-memory communicator) fsyncs; all agree on the outcome.
void sync_on_every_node(const std::string& path, const Comm& comm) {
  MPI_Comm node = MPI_COMM_NULL;
  mpi_check(MPI_Comm_split_type(comm.raw(), MPI_COMM_TYPE_SHARED, comm.rank(), MPI_INFO_NULL, &node),
            "MPI_Comm_split_type");
  int node_rank = 0;
  const int rc = MPI_Comm_rank(node, &node_rank);
  MPI_Comm_free(&node);
  mpi_check(rc, "MPI_Comm_rank");
  const std::string err = try_everywhere(comm, [&] {
    if (node_rank == 0) fsync_path(path, false);
  });
  if (!err.empty()) throw std::runtime_error("checkpoint write failed: " + err);
}

std::string parent_dir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

// The components' restart records: /state/restart/<name> [n] int64 with
// @names (one per line), and the list of components on the group. Rank 0
// writes the values (global sums); the others take part collectively.
void write_restart_state(hid_t state, const RestartState& rs, bool root) {
  h5::Handle g = h5::create_group(state, "restart");
  std::string components;
  for (const auto& [comp, rec] : rs) {
    components += comp + "\n";
    std::string names;
    std::vector<int64_t> v;
    for (const auto& [n, x] : rec.values()) {
      names += n + "\n";
      v.push_back(x);
    }
    const hsize_t n = v.size();
    h5::Handle d = h5::create_checked_dataset(g, comp, H5T_NATIVE_INT64, {n});
    h5::write_slab(d, H5T_NATIVE_INT64, {0}, {root ? n : hsize_t{0}}, v.data());
    h5::attr(d, "names", names);
  }
  h5::attr(g, "components", components);
}

// The lines of a text ("a\nb\n" -> {a, b}): the lists broadcast or stored
// as one string (checkpoint files, restart components and counter names).
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    out.push_back(text.substr(pos, nl - pos));
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return out;
}

// Schema 2 stored the counters as one anonymous [12] array; their names, in
// its order, so that such a checkpoint still resumes.
RestartState schema2_restart_state(hid_t f) {
  static const char* kExchange[4] = {"join_proposed", "join_accepted", "leave_proposed", "leave_accepted"};
  static const char* kObs[6] = {"join_proposed_at_sample", "join_accepted_at_sample", "leave_proposed_at_sample",
                                "leave_accepted_at_sample", "mala_proposed_at_sample", "mala_accepted_at_sample"};
  int64_t c[12];
  h5::Handle d = h5::open_dataset(f, "state/counters");
  if (h5::dims_of(d) != std::vector<hsize_t>{12}) throw std::runtime_error("/state/counters does not hold 12 values");
  h5::read_slab(d, H5T_NATIVE_INT64, {0}, {12}, c, "/state/counters");
  RestartState rs;
  for (int i = 0; i < 4; ++i) rs["exchange"].put(kExchange[i], c[i]);
  rs["learning"].put("proposed", c[4]);
  rs["learning"].put("accepted", c[5]);
  for (int i = 0; i < 6; ++i) rs["observables"].put(kObs[i], c[6 + i]);
  return rs;
}

RestartState read_restart_state(hid_t f, int64_t schema) {
  if (schema == 2) return schema2_restart_state(f);
  RestartState rs;
  h5::Handle g = h5::open_group(f, "state/restart");
  for (const std::string& comp : lines_of(h5::read_attr_string(g, "components"))) {
    h5::Handle d = h5::open_dataset(g, comp);
    const std::vector<std::string> names = lines_of(h5::read_attr_string(d, "names"));
    if (h5::dims_of(d) != std::vector<hsize_t>{names.size()})
      throw std::runtime_error("/state/restart/" + comp + " does not hold one value per name");
    std::vector<int64_t> v(names.size());
    h5::read_slab(d, H5T_NATIVE_INT64, {0}, {v.size()}, v.data(), "/state/restart/" + comp);
    for (size_t i = 0; i < v.size(); ++i) rs[comp].put(names[i], v[i]);
  }
  return rs;
}

// The header's counts as a run writes them: a step >= 0, at least one rank,
// and between 1 (the sample at step 0) and step + 1 results rows.
void check_meta_counts(int64_t step, int64_t n_ranks, int64_t n_samples) {
  if (step < 0) throw std::runtime_error("step " + std::to_string(step) + " is negative");
  if (n_ranks < 1) throw std::runtime_error("n_ranks " + std::to_string(n_ranks) + " is not a rank count");
  if (n_samples < 1 || n_samples > step + 1)
    throw std::runtime_error("n_samples " + std::to_string(n_samples) + " is impossible at step " +
                             std::to_string(step) + " (a run has between 1 and step + 1 samples)");
}

// theta_i is a function of the id (docs/model.md §1): a stored neuron whose
// parameters differ from draw_neuron_params(id) was not written by a run of
// this config (checksums and digest only prove the file unchanged since).
void check_theta(const NeuronBlock& b, const CounterRng& rng, const ModelParams& c) {
  for (size_t j = 0; j < b.size(); ++j) {
    const NeuronParams p = draw_neuron_params(rng, static_cast<uint64_t>(b.id[j]), c.sigma_w, c.sigma_c);
    bool same = b.c[j] == p.c;
    for (int k = 0; k < c.K; ++k) same = same && b.w[k][j] == p.w[k];
    if (!same)
      throw std::runtime_error("parameters of neuron " + std::to_string(b.id[j]) +
                               " differ from theta(id) of this config (model.sigma_w, model.sigma_c, run.seed)");
  }
}

// Every id 0 .. R-1 exactly once (neurons are conserved): the count, the sum
// and the sum of squares (mod 2^64) over all ranks against their closed
// forms. A duplicated id in place of another changes the sum.
struct IdSums {
  uint64_t s[3] = {0, 0, 0};
  void add(const NeuronBlock& b) {
    for (int64_t id : b.id) {
      const uint64_t u = static_cast<uint64_t>(id);
      s[0] += 1;
      s[1] += u;
      s[2] += u * u;
    }
  }
  bool is_permutation(int64_t R, const Comm& comm) {
    comm.sum<uint64_t>(s, 3);
    // sum_{i<R} i = R(R-1)/2, sum i^2 = (R-1)R(2R-1)/6: divide the factors
    // exactly first, then multiply mod 2^64.
    unsigned __int128 a = static_cast<unsigned __int128>(R) - 1, b = static_cast<unsigned __int128>(R),
                      c = 2 * static_cast<unsigned __int128>(R) - 1;
    const uint64_t sum1 = static_cast<uint64_t>((a * b) / 2);
    if (a % 2 == 0) a /= 2; else b /= 2;
    if (a % 3 == 0) a /= 3; else if (b % 3 == 0) b /= 3; else c /= 3;
    const uint64_t sum2 = static_cast<uint64_t>(a) * static_cast<uint64_t>(b) * static_cast<uint64_t>(c);
    return s[0] == static_cast<uint64_t>(R) && s[1] == sum1 && s[2] == sum2;
  }
};

// The restart state as text ("component counter value" lines), to broadcast it.
std::string restart_text(const RestartState& rs) {
  std::string t;
  for (const auto& [comp, rec] : rs)
    for (const auto& [n, v] : rec.values()) t += comp + " " + n + " " + std::to_string(v) + "\n";
  return t;
}
RestartState restart_from_text(const std::string& t) {
  RestartState rs;
  for (const std::string& line : lines_of(t)) {
    const size_t a = line.find(' '), b = line.rfind(' ');
    rs[line.substr(0, a)].put(line.substr(a + 1, b - a - 1), std::stoll(line.substr(b + 1)));
  }
  return rs;
}

// Collective: if any rank failed, every rank closes `f` (the close of an
// MPI-IO file is collective, so all ranks do it here, together, rather than
// some of them while an exception unwinds) and throws the agreed error.
void close_unless_agreed(h5::Handle& f, const Comm& comm, const std::string& local_error, const std::string& where) {
  const std::string msg = agreed_error(comm, local_error);
  if (msg.empty()) return;
  f.reset();
  throw CheckpointError(where + msg);
}

}  // namespace

double write_checkpoint(const std::string& path, const Ensemble& e, const CheckpointMeta& meta,
                        const CheckpointIo& io, std::string* hints_used) {
  const Comm& comm = e.comm();
  const auto& c = e.config();
  const int K = c.K;
  const std::string tmp = path + ".tmp";
  const NeuronBlock& act = e.active();
  const NeuronBlock& res = e.reservoir();
  const int64_t na = static_cast<int64_t>(act.size()), nr = static_cast<int64_t>(res.size());
  const NeuronLayout L = layout(comm, na, nr);
  const hsize_t R = static_cast<hsize_t>(c.R()), M = static_cast<hsize_t>(c.M);
  const hsize_t a_lo = static_cast<hsize_t>(e.a_lo()), n = static_cast<hsize_t>(e.n_local());
  std::vector<int64_t> N(static_cast<size_t>(n));
  for (hsize_t la = 0; la < n; ++la) N[la] = e.N(static_cast<int64_t>(la));
  // A file left by an interrupted write goes first: the striping hints
  // apply only to a file being created (Lustre fixes a file's layout then).
  const std::string stale = on_root(comm, [&] {
    if (std::remove(tmp.c_str()) != 0 && errno != ENOENT)
      throw std::runtime_error("cannot remove '" + tmp + "': " + std::strerror(errno));
  });
  if (!stale.empty()) throw std::runtime_error("checkpoint write failed: " + stale);
  const double expected_bytes = static_cast<double>(R) * static_cast<double>(8 + 4 + 4 * K) +
                                static_cast<double>(M) * static_cast<double>(8 * (K + 1));
  {
    h5::Handle f =
        h5::create_checked_file(tmp, comm.raw(), mpio_hints(io), file_layout(io, expected_bytes));
    if (hints_used) *hints_used = h5::mpio_hints_in_use(f);
    h5::attr(f, "gcnn_file_kind", std::string("checkpoint"));
    h5::attr(f, "gcnn_schema_version", kCheckpointSchemaVersion);
    h5::attr(f, "gcnn_version", std::string(kVersion));
    h5::attr(f, "git_sha", std::string(kGitSha));
    h5::attr(f, "build", build_info());  // compiler, flags, instruction set
    h5::attr(f, "arithmetic", std::string(kArithmetic));
    h5::attr(f, "run_id", meta.run_id);
    h5::attr(f, "step", static_cast<int64_t>(meta.step));
    h5::attr(f, "n_ranks", static_cast<int64_t>(comm.size()));
    h5::attr(f, "n_samples", meta.n_samples);
    h5::attr(f, "config", meta.config_ini);
    h5::attr(f, "digest", meta.digest);
    h5::attr(f, "n_active", L.n_active);
    h5::attr(f, "n_reservoir", L.n_reservoir);
    h5::Handle g = h5::create_group(f, "state");
    {
      h5::Handle d = h5::create_checked_dataset(g, "q", H5T_NATIVE_DOUBLE, {M, static_cast<hsize_t>(K)});
      h5::write_slab(d, H5T_NATIVE_DOUBLE, {a_lo, 0}, {n, static_cast<hsize_t>(K)}, n ? e.q(0) : nullptr);
      h5::attr(d, "unit", std::string("q"));
    }
    {
      h5::Handle d = h5::create_checked_dataset(g, "N", H5T_NATIVE_INT64, {M});
      h5::write_slab(d, H5T_NATIVE_INT64, {a_lo}, {n}, N.data());
    }
    // The bulk arrays, one row at a time in two collective writes: first
    // every rank's active part, then every rank's reservoir part. Each call
    // fills one contiguous region of the file that the ranks partition in
    // rank order, so MPI-IO can hand its aggregators whole stripes (a rank
    // with nothing to write takes part with an empty selection). The
    // checksums are summed over ranks and stored.
    auto put = [&](hid_t d, hid_t type, hsize_t row, bool two_d, const void* a, const void* r) {
      auto st = [&](hsize_t lo) { return two_d ? std::vector<hsize_t>{row, lo} : std::vector<hsize_t>{lo}; };
      auto ct = [&](hsize_t cnt) { return two_d ? std::vector<hsize_t>{1, cnt} : std::vector<hsize_t>{cnt}; };
      h5::write_slab(d, type, st(static_cast<hsize_t>(L.act_lo)), ct(static_cast<hsize_t>(na)), na ? a : nullptr);
      h5::write_slab(d, type, st(static_cast<hsize_t>(L.res_lo)), ct(static_cast<hsize_t>(nr)), nr ? r : nullptr);
    };
    // One bulk dataset: `rows` rows of R (a [R] array when !two_d), row k
    // from act_row(k) and res_row(k); its checksum summed over ranks.
    auto write_bulk = [&](const char* name, hid_t type, int rows, bool two_d, auto act_row, auto res_row) {
      const std::vector<hsize_t> dims =
          two_d ? std::vector<hsize_t>{static_cast<hsize_t>(rows), R} : std::vector<hsize_t>{R};
      h5::Handle d = h5::create_plain_dataset(g, name, type, dims);
      Checksum cs;
      for (int k = 0; k < rows; ++k) {
        put(d, type, static_cast<hsize_t>(k), two_d, act_row(k), res_row(k));
        const int64_t base = static_cast<int64_t>(k) * c.R();
        cs.add(act_row(k), na, base + L.act_lo);
        cs.add(res_row(k), nr, base + L.res_lo);
      }
      comm.sum<uint64_t>(cs.s, 2);
      h5::attr(d, "gcnn_checksum", cs.stored());
    };
    write_bulk("neuron_id", H5T_NATIVE_INT64, 1, false, [&](int) { return act.id.data(); },
               [&](int) { return res.id.data(); });
    write_bulk("neuron_c", H5T_NATIVE_FLOAT, 1, false, [&](int) { return act.c.data(); },
               [&](int) { return res.c.data(); });
    write_bulk("neuron_w", H5T_NATIVE_FLOAT, K, true, [&](int k) { return act.w[k].data(); },
               [&](int k) { return res.w[k].data(); });
    write_restart_state(g, meta.restart, comm.root());
    if (meta.grand_potential) write_grand_potential_tables(g, *meta.grand_potential, comm.root());
    // Test hook (fault tests only): GCNN_TEST_CHECKPOINT_PAUSE=STEP:SECONDS
    // pauses the write of the checkpoint at STEP with its data half-way to
    // disk, so that a test can kill the job at the worst moment.
    if (const char* p = std::getenv("GCNN_TEST_CHECKPOINT_PAUSE")) {
      unsigned long long at = 0;
      double secs = 0;
      if (std::sscanf(p, "%llu:%lf", &at, &secs) == 2 && at == meta.step) {
        comm.barrier();
        if (comm.root()) std::fprintf(stderr, "gcnn: test hook: pausing in the write of %s\n", tmp.c_str());
        std::this_thread::sleep_for(std::chrono::duration<double>(secs));
      }
    }
  }  // collective close: all data is in the file
  sync_on_every_node(tmp, comm);  // every node's share durable before the rename publishes it
  double bytes = 0;
  const std::string err = on_root(comm, [&] {
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
      throw std::runtime_error("cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(errno));
    fsync_path(parent_dir(path), true);
    struct stat st;
    if (stat(path.c_str(), &st) == 0) bytes = static_cast<double>(st.st_size);
  });
  if (!err.empty()) throw std::runtime_error("checkpoint write failed: " + err);
  comm.bcast(&bytes, 1);
  return bytes;
}

CheckpointMeta read_checkpoint_meta(const std::string& path, const Comm& comm) {
  CheckpointMeta m;
  int64_t ints[4] = {0, 0, 0, 0};
  std::string restart;
  const std::string err = on_root(comm, [&] {
      struct stat st;
      if (stat(path.c_str(), &st) != 0) throw std::runtime_error("no such file");
      h5::Handle f = h5::open_file(path, false, MPI_COMM_SELF);
      const std::string kind = h5::file_kind(f);
      if (kind != "checkpoint") throw std::runtime_error("not a gcnn checkpoint (gcnn_file_kind = '" + kind + "')");
      const int64_t schema = h5::read_attr_int(f, "gcnn_schema_version");
      if (schema < kOldestReadableCheckpointSchema || schema > kCheckpointSchemaVersion)
        throw std::runtime_error("checkpoint schema version " + std::to_string(schema) + ", this gcnn reads " +
                                 std::to_string(kOldestReadableCheckpointSchema) + " to " +
                                 std::to_string(kCheckpointSchemaVersion));
      ints[0] = h5::read_attr_int(f, "step");
      ints[1] = h5::read_attr_int(f, "n_ranks");
      ints[2] = h5::read_attr_int(f, "n_samples");
      check_meta_counts(ints[0], ints[1], ints[2]);
      m.run_id = h5::read_attr_string(f, "run_id");
      m.config_ini = h5::read_attr_string(f, "config");
      m.digest = h5::read_attr_string(f, "digest");
      m.git_sha = h5::read_attr_string(f, "git_sha");
      m.version = h5::read_attr_string(f, "gcnn_version");
      const htri_t has_arithmetic = H5Aexists(f, "arithmetic");  // absent in checkpoints of older builds
      h5::check(static_cast<herr_t>(has_arithmetic), "H5Aexists(arithmetic)");
      if (has_arithmetic > 0) m.arithmetic = h5::read_attr_string(f, "arithmetic");
      restart = restart_text(read_restart_state(f, schema));
  });
  if (!err.empty()) throw CheckpointError("checkpoint '" + path + "': " + err);
  comm.bcast(ints, 4);
  m.step = static_cast<uint64_t>(ints[0]);
  m.n_ranks = ints[1];
  m.n_samples = ints[2];
  for (std::string* s : {&m.run_id, &m.config_ini, &m.digest, &m.git_sha, &m.version, &m.arithmetic}) comm.bcast(*s);
  comm.bcast(restart);
  m.restart = restart_from_text(restart);
  return m;
}

void load_checkpoint(const std::string& path, Ensemble& e, const CheckpointMeta& meta) {
  const Comm& comm = e.comm();
  const auto& c = e.config();
  const int K = c.K;
  const std::string where = "checkpoint '" + path + "': ";
  const hsize_t a_lo = static_cast<hsize_t>(e.a_lo()), n = static_cast<hsize_t>(e.n_local());
  std::vector<double> q(static_cast<size_t>(n) * K);
  std::vector<int64_t> N(static_cast<size_t>(n));
  NeuronBlock act(K), res(K);
  static constexpr const char* kBulk[3] = {"neuron_id", "neuron_c", "neuron_w"};
  Checksum got_sum[3];
  std::vector<int64_t> want_sum[3];
  std::string err;
  // One collective open through MPI-IO (not P serial opens, each a metadata
  // request to a parallel file system). The reads are independent: a
  // damaged chunk on one rank cannot hang the others in a collective call.
  h5::Handle f;
  try {
    f = h5::open_file(path, false, comm.raw());
  } catch (const std::exception& ex) {
    err = ex.what();
  }
  agree_or_throw<CheckpointError>(comm, err, where);  // open everywhere, or nowhere
  int64_t n_active = 0;
  try {
    n_active = h5::read_attr_int(f, "n_active");
    const int64_t n_res = h5::read_attr_int(f, "n_reservoir");
    if (n_active < 0 || n_res < 0 || n_active + n_res != c.R())
      throw std::runtime_error("neuron counts " + std::to_string(n_active) + " + " + std::to_string(n_res) +
                               " differ from R = " + std::to_string(c.R()));
    h5::Handle d = h5::open_dataset(f, "state/N");
    if (h5::dims_of(d) != std::vector<hsize_t>{static_cast<hsize_t>(c.M)})
      throw std::runtime_error("/state/N does not have M = " + std::to_string(c.M) + " rows");
    h5::read_slab(d, H5T_NATIVE_INT64, {a_lo}, {n}, N.data(), "/state/N");
    for (int64_t x : N)
      if (x < 0 || x > c.R()) throw std::runtime_error("/state/N holds an impossible occupancy " + std::to_string(x));
  } catch (const std::exception& ex) {
    err = ex.what();
  }
  close_unless_agreed(f, comm, err, where);

  int64_t na = 0;
  for (int64_t x : N) na += x;
  const NeuronLayout L0 = layout(comm, na, 0);
  if (L0.n_active != n_active) close_unless_agreed(f, comm, "sum of /state/N differs from n_active", where);
  const Blocks rb{c.R() - n_active, comm.size()};
  const int64_t nr = rb.hi(comm.rank()) - rb.lo(comm.rank());
  try {
    act.resize(static_cast<size_t>(na));
    res.resize(static_cast<size_t>(nr));
    const hsize_t alo = static_cast<hsize_t>(L0.act_lo), rlo = static_cast<hsize_t>(n_active + rb.lo(comm.rank()));
    {
      h5::Handle d = h5::open_dataset(f, "state/q");
      h5::read_slab(d, H5T_NATIVE_DOUBLE, {a_lo, 0}, {n, static_cast<hsize_t>(K)}, q.data(), "/state/q");
    }
    auto get = [&](int which, bool two_d, hsize_t row, auto* a, auto* r) {
      using T = std::remove_pointer_t<decltype(a)>;
      const hid_t type = sizeof(T) == 8 ? H5T_NATIVE_INT64 : H5T_NATIVE_FLOAT;
      h5::Handle d = h5::open_dataset(f, std::string("state/") + kBulk[which]);
      const std::string what = std::string("/state/") + kBulk[which];
      if (row == 0) {
        want_sum[which] = h5::read_attr_int_vector(d, "gcnn_checksum");
        if (want_sum[which].size() != 2) throw std::runtime_error(what + " has no valid checksum attribute");
      }
      auto st = [&](hsize_t lo) { return two_d ? std::vector<hsize_t>{row, lo} : std::vector<hsize_t>{lo}; };
      auto ct = [&](hsize_t cnt) { return two_d ? std::vector<hsize_t>{1, cnt} : std::vector<hsize_t>{cnt}; };
      h5::read_slab(d, type, st(alo), ct(static_cast<hsize_t>(na)), a, what);
      h5::read_slab(d, type, st(rlo), ct(static_cast<hsize_t>(nr)), r, what);
      const int64_t base = static_cast<int64_t>(row) * c.R();
      got_sum[which].add(a, na, base + static_cast<int64_t>(alo));
      got_sum[which].add(r, nr, base + static_cast<int64_t>(rlo));
    };
    get(0, false, 0, act.id.data(), res.id.data());
    get(1, false, 0, act.c.data(), res.c.data());
    for (int k = 0; k < K; ++k) get(2, true, static_cast<hsize_t>(k), act.w[k].data(), res.w[k].data());
    // Structural checks the digest would also catch, but with a clearer message.
    int64_t j = 0;
    for (size_t la = 0; la < N.size(); ++la)
      for (int64_t i = 0; i < N[la]; ++i, ++j) {
        const int64_t id = act.id[static_cast<size_t>(j)];
        if (id < 0 || id >= c.R() || (i > 0 && id <= act.id[static_cast<size_t>(j - 1)]))
          throw std::runtime_error("neuron ids of network " + std::to_string(a_lo + la) + " are not canonical");
      }
    for (int64_t id : res.id)
      if (id < 0 || id >= c.R()) throw std::runtime_error("reservoir holds an invalid neuron id");
  } catch (const std::exception& ex) {
    err = ex.what();
  }
  f.reset();
  agree_or_throw<CheckpointError>(comm, err, where);
  for (int i = 0; i < 3; ++i) {
    comm.sum<uint64_t>(got_sum[i].s, 2);
    if (got_sum[i].stored() != want_sum[i])
      throw CheckpointError(where + "checksum of /state/" + kBulk[i] + " does not match its data (the file is damaged)");
  }
  // Intact, but is it a state this config can have? (a crafted or foreign file)
  try {
    check_theta(act, e.rng(), c);
    check_theta(res, e.rng(), c);
  } catch (const std::exception& ex) {
    err = ex.what();
  }
  agree_or_throw<CheckpointError>(comm, err, where);
  IdSums ids;
  ids.add(act);
  ids.add(res);
  if (!ids.is_permutation(c.R(), comm))
    throw CheckpointError(where + "the neuron ids are not each of 0 .. R-1 exactly once");
  e.restore(meta.step, std::move(q), N, std::move(act), std::move(res));
  const std::string got = compute_digest(e).text();
  if (got != meta.digest)
    throw CheckpointError(where + "state digest " + got + " differs from the stored " + meta.digest +
                          " (the file is damaged)");
}

CheckpointStore::CheckpointStore(std::string dir, int keep, const Comm& comm)
    : dir_(std::move(dir)), keep_(keep), comm_(comm) {}

std::string CheckpointStore::path_for(uint64_t step) const {
  char b[64];
  std::snprintf(b, sizeof(b), "/ckpt.%012llu.h5", static_cast<unsigned long long>(step));
  return dir_ + b;
}

std::vector<std::string> CheckpointStore::list() const {
  std::string joined;
  if (comm_.root()) {
    std::vector<std::pair<unsigned long long, std::string>> found;
    if (DIR* d = opendir(dir_.c_str())) {
      while (dirent* ent = readdir(d)) {
        unsigned long long s = 0;
        char tail[8] = {0};
        const std::string name = ent->d_name;
        if (name.size() == 20 && std::sscanf(name.c_str(), "ckpt.%12llu.%3s", &s, tail) == 2 &&
            std::string(tail) == "h5")
          found.emplace_back(s, dir_ + "/" + name);
      }
      closedir(d);
    }
    std::sort(found.rbegin(), found.rend());
    for (auto& f : found) joined += f.second + "\n";
  }
  comm_.bcast(joined);
  return lines_of(joined);
}

void CheckpointStore::ensure_dir() const {
  const std::string err = on_root(comm_, [&] {
    // mkdir -p
    for (size_t pos = 0; pos != std::string::npos;) {
      const size_t next = dir_.find('/', pos + 1);
      const std::string cur = dir_.substr(0, next);
      if (!cur.empty() && ::mkdir(cur.c_str(), 0777) != 0 && errno != EEXIST)
        throw std::runtime_error("cannot create checkpoint directory '" + cur + "': " + std::strerror(errno));
      pos = next;
    }
    struct stat st;
    if (stat(dir_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      throw std::runtime_error("checkpoint directory '" + dir_ + "' is not a directory");
  });
  if (!err.empty()) throw ConfigError(err);
}

void CheckpointStore::prune() const {
  const std::vector<std::string> all = list();
  if (comm_.root())
    for (size_t i = static_cast<size_t>(keep_); i < all.size(); ++i) std::remove(all[i].c_str());
  comm_.barrier();
}

std::string checkpoint_dir(const Config& c) {
  if (!c.checkpoint_dir.empty()) return c.checkpoint_dir;
  std::string base = c.output;
  if (base.size() > 3 && base.compare(base.size() - 3, 3, ".h5") == 0) base.resize(base.size() - 3);
  return base + ".ckpt";
}

}  // namespace gcnn
