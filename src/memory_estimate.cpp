#include "gcnn/memory_estimate.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <ostream>
#include <sstream>

#include "gcnn/grid.hpp"

namespace gcnn {

namespace {

// Measured on this machine (README "Benchmarks", "Memory estimate"): the
// neuron buffers' capacity is 2.38 x (id, K weights, c) per neuron (active
// with growth slack, its double buffer, the reservoir), the sweep's working
// buffers 43 bytes per neuron on 2 ranks (measured with 32-byte movers in
// flight, sized by the first sweeps' transient; with the 8-byte movers of
// issue 16 they measured 39.4 bytes through the flat exchange and 48.4
// through the two-level one, so 44 stays within 10 % of either), and a tiny
// run's resident size (MPI, HDF5, PETSc, the program) 45 MiB, rounded up.
constexpr double kNeuronBufferFactor = 2.4;
constexpr double kSweepBytesPerNeuron = 44.0;
// Resident memory per neuron not in any buffer above (MPI's copies of the
// movers, allocator slack): the named buffers fell 11 % short of the measured
// peak at M = 16384, rho = 64, K = 2 on 2 ranks (README "Memory estimate").
constexpr double kUnaccountedBytesPerNeuron = 32.0;
constexpr double kLibraryBytes = 50.0 * 1024 * 1024;
constexpr int kExtraHbar = 4, kDFBins = 100, kCounters = 16, kDSum = 64;  // as in observables.cpp (rounded up)

double ceil_share(double n, int P) { return std::ceil(n / P); }

std::string gib(double b) {
  char s[32];
  if (b >= 1024.0 * 1024 * 1024 * 1024) std::snprintf(s, sizeof(s), "%.3g TiB", b / (1024.0 * 1024 * 1024 * 1024));
  else if (b >= 1024.0 * 1024 * 1024) std::snprintf(s, sizeof(s), "%.2f GiB", b / (1024.0 * 1024 * 1024));
  else std::snprintf(s, sizeof(s), "%.1f MiB", b / (1024.0 * 1024));
  return s;
}

// A "key:  value kB" line of /proc/meminfo, in bytes; -1 if absent.
double meminfo_bytes(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) return std::atof(line.c_str() + key.size() + 1) * 1024.0;
  return -1;
}

// The memory cgroup's limit (v2 memory.max, else v1 memory.limit_in_bytes);
// -1 if none or unlimited.
double cgroup_limit_bytes() {
  for (const char* p : {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    std::ifstream in(p);
    std::string v;
    if (!(in >> v) || v == "max") continue;
    const double b = std::atof(v.c_str());
    if (b > 0 && b < 1e18) return b;  // v1 reports "unlimited" as ~2^63
  }
  return -1;
}

double env_mb(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return -1;
  const double mb = std::atof(v);  // SLURM's values are in MB (a suffix is not used in the environment)
  return mb > 0 ? mb * 1024.0 * 1024.0 : -1;
}

int ranks_on_this_node(const Comm& comm) {
  MPI_Comm node;
  mpi_check(MPI_Comm_split_type(comm.raw(), MPI_COMM_TYPE_SHARED, comm.rank(), MPI_INFO_NULL, &node),
            "MPI_Comm_split_type(node)");
  int n = 1;
  const int rc = MPI_Comm_size(node, &n);
  MPI_Comm_free(&node);
  mpi_check(rc, "MPI_Comm_size(node)");
  return n;
}

// This rank's limit: the smallest of the candidates that are set.
MemoryLimit local_limit(int on_node) {
  MemoryLimit best{-1, ""};
  auto consider = [&](double bytes, const std::string& source) {
    if (bytes > 0 && (best.bytes < 0 || bytes < best.bytes)) best = {bytes, source};
  };
  const std::string per = " / " + std::to_string(on_node) + " rank(s) on the node";
  if (const double b = env_mb("GCNN_MEMORY_LIMIT_MB"); b > 0) return {b, "GCNN_MEMORY_LIMIT_MB"};
  consider(meminfo_bytes("MemAvailable") / on_node, "MemAvailable" + per);
  consider(cgroup_limit_bytes() / on_node, "the cgroup's memory limit" + per);
  if (const double b = env_mb("SLURM_MEM_PER_CPU"); b > 0) {
    const char* cpt = std::getenv("SLURM_CPUS_PER_TASK");
    const double cpus = cpt && std::atoi(cpt) > 0 ? std::atoi(cpt) : 1;
    consider(b * cpus, "SLURM_MEM_PER_CPU x SLURM_CPUS_PER_TASK");
  }
  consider(env_mb("SLURM_MEM_PER_NODE") / on_node, "SLURM_MEM_PER_NODE" + per);
  return best;
}

}  // namespace

std::string MemoryEstimate::text() const {
  return gib(peak) + " per rank (state " + gib(state) + ", exchange sweep " + gib(sweep) + ", observables " +
         gib(observables) + ", setup peak " + gib(setup) + ", libraries " + gib(libraries) + ")";
}

MemoryEstimate estimate_memory(const Config& c, int n_ranks, bool resume) {
  MemoryEstimate e;
  const double K = static_cast<double>(c.K);
  const double nets = ceil_share(static_cast<double>(c.M), n_ranks);
  const double neurons = ceil_share(static_cast<double>(c.M) * static_cast<double>(c.rho), n_ranks);
  const double G = static_cast<double>(c.grid_cells());
  const double nN = static_cast<double>(c.n_max) + 2;  // N histogram bins, and the sector table's N = 0..n_max+1
  double pooled = 1;
  for (int k = 0; k < c.K; ++k) pooled *= static_cast<double>(std::min<int64_t>(c.nq_cells, c.grid_n[k]));
  const double NH = static_cast<double>(c.hbar_n + kExtraHbar);

  // q (K doubles), q before the step is in the observables; two CSR offset arrays.
  e.state = nets * (8 * K + 16) + neurons * kNeuronBufferFactor * (8 + 4 * K + 4);
  // Movers in flight, decisions, and the per-network join counts.
  e.sweep = neurons * (kSweepBytesPerNeuron + kUnaccountedBytesPerNeuron) + nets * 16;
  // Integer histograms (+ rank 0's copies written to the file), the per-sample
  // sums (hbar scan, phase, current), Omega and log e_N copies, q before the
  // step, the particle rows of this rank.
  const double ihist = G + 1 + nN + kDFBins + 2 + kCounters + pooled * nN;
  const double dsum = kDSum + 4 * G * NH + 3 * G + 2 * G * K;
  const double particles = ceil_share(static_cast<double>(std::min<int64_t>(c.particles, c.M)), n_ranks);
  e.observables = 8 * (2 * ihist + dsum + G + G * nN + nets * K + particles * K) + 8 * 2 * G;
  // GrandPotential: this rank's neurons' theta and s_i (24 bytes each), the
  // exact sector recursion's copy of all neurons (R <= sector_exact_max),
  // log Lambda and log e_N tables and the mean-field iteration's G-vectors:
  // ~8 of the pass, ~17 of Anderson mixing at depth 5 (its histories, the
  // least squares' copy), ~2 + 128/n_last of MeanFieldGroup; 30 in all.
  const double R = static_cast<double>(c.M) * static_cast<double>(c.rho);
  e.setup = 24 * neurons + (R <= static_cast<double>(c.sector_exact_max) ? 24 * R : 0) + 8 * (G * nN + 30 * G);
  e.libraries = kLibraryBytes;
  // A fresh run frees the setup before the state exists; a resumed run
  // has loaded its state before the setup.
  e.peak = e.libraries + e.observables + std::max(e.setup + (resume ? e.state : 0), e.state + e.sweep);
  return e;
}

MemoryLimit rank_memory_limit(const Comm& comm) {
  const MemoryLimit mine = local_limit(ranks_on_this_node(comm));
  struct {
    double bytes;
    int rank;
  } v{mine.bytes > 0 ? mine.bytes : 1e300, comm.rank()};
  mpi_check(MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_DOUBLE_INT, MPI_MINLOC, comm.raw()), "MPI_Allreduce(minloc)");
  MemoryLimit out{v.bytes < 1e300 ? v.bytes : -1, mine.source};
  comm.bcast(out.source, v.rank);
  if (v.rank != 0) out.source += " on rank " + std::to_string(v.rank);
  return out;
}

void check_memory(const Config& c, const Comm& comm, bool resume, std::ostream& log) {
  const MemoryEstimate e = estimate_memory(c, comm.size(), resume);
  const MemoryLimit lim = rank_memory_limit(comm);
  if (comm.root()) log << "memory estimate: " << e.text() << "\n" << std::flush;
  if (lim.bytes > 0 && e.peak > lim.bytes)
    throw ConfigError("the run needs about " + gib(e.peak) + " per rank but a rank may use " + gib(lim.bytes) +
                      " (" + lim.source + "); estimate: " + e.text() +
                      ". Use more ranks or nodes, or reduce model.M, model.rho, grid.n, observables.n_max or "
                      "observables.hbar_n");
}

}  // namespace gcnn
