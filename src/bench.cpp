// `gcnn bench`: throughput of the hot loops on the standard workload
// (K = 2, rho = 64, M = 16384 unless overridden), per core, in steady state:
// 10 warm-up sweeps (each followed by a learning step) bring the ensemble to
// exchange equilibrium and the buffers to their working size first. Each
// learning step and each sweep is timed on its own between barriers, and the
// median is reported (a shared VM's neighbours inflate single calls).
//
// What each figure measures, and its limit:
//  - learning mean/sampled: neuron-updates/s per core = sum_a N_a /
//    (median step time * ranks). Compute-bound: one exp and a division
//    (tanh) and ~4K flops per neuron; sampled adds one Philox draw.
//  - learning mala: the same unit. Compute-bound: per neuron the field, tanh
//    and ln 2cosh at q and at the proposal q' (four exp, one log, three
//    divisions, ~8K flops), so at best about 1/3 of the mean rate (target).
//  - sweep: neuron-moves/s per core = R / (median sweep time * ranks): one
//    Philox draw and two exp per neuron, one all-to-all of the proposers,
//    the grouping of the joiners by network and the CSR rebuild. Bound by
//    memory traffic (about 40 % of all neurons move per sweep here).
//  - efficiency: the same workload on one rank of the communicator versus all
//    of it, (rate_P / P) / rate_1. Limited by memory bandwidth shared between
//    cores and by the all-to-all.
//  - setup (--bench.setup): CPU seconds of the mean-field grand potential
//    (GrandPotential's constructor, K = 2, grid 100^2, rho = 64, mu as
//    configured, M = 4096 unless overridden) on this rank, and ns per
//    neuron * cell * pass. Compute-bound: per neuron and cell ~5 flops of the
//    Omega product plus ~4 of the blocked s_i product (unfused); one log per
//    cell and pass. Process CPU time, so a shared VM's neighbours inflate it
//    less than wall time, but they still share the core's caches and units.
//  - bytes per neuron: capacity of all neuron buffers (both halves of the
//    double buffer and the reservoir) over R; the sweep's scratch (movers in
//    flight, joiners, per-neuron decisions) is reported on its own line.
#include <cstdlib>
#include <algorithm>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <iostream>

#include "gcnn/boundary_loss.hpp"
#include "gcnn/checkpoint.hpp"
#include "gcnn/bench.hpp"
#include "gcnn/solver_module.hpp"
#include "gcnn/cli.hpp"
#include "gcnn/digest.hpp"
#include "gcnn/ensemble.hpp"
#include "gcnn/exchange_sweep.hpp"
#include "gcnn/grand_potential.hpp"
#include "gcnn/learning_step.hpp"

namespace gcnn {

namespace {

struct Rates {
  double mean = 0, sampled = 0, mala = 0, sweep = 0, bytes = 0, scratch = 0;
  ExchangeTiming t;
  int sweeps = 0;
};

// Median wall time of `n` calls of f on all ranks (each call between barriers):
// a VM's noisy neighbours inflate single calls, and the median ignores them.
template <class F>
double median_time(const Comm& comm, int n, F&& f) {
  std::vector<double> t(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    comm.barrier();
    const double t0 = MPI_Wtime();
    f(i);
    comm.barrier();
    t[static_cast<size_t>(i)] = comm.max(MPI_Wtime() - t0);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// Steady state: the ensemble is first brought to exchange equilibrium by
// `kWarmSweeps` sweeps, each followed by a learning step (the first sweeps
// move a transient surplus of neurons and fill the buffers; neither is what
// a run spends its time on). Then the learning steps and the sweeps are
// timed one by one.
constexpr int kWarmSweeps = 10;

Rates measure(const Config& base, const Comm& comm, int steps) {
  Rates r;
  for (const char* mode : {"mean", "sampled", "mala"}) {
    const std::string m = mode;
    Config c = base;
    c.mode = m;
    Ensemble e(c, comm);
    auto loss = make_boundary_loss(c);
    auto step = make_learning_step(c, c, *loss);
    ExchangeSweep sweep(e, c);
    uint64_t key = 0;
    for (int s = 0; s < kWarmSweeps; ++s) {
      sweep.run(e, ++key);
      step->advance(e, key);
    }
    const double upd = comm.sum(static_cast<double>(e.active().size()));
    const double dt = median_time(comm, steps, [&](int) { step->advance(e, ++key); });
    (m == "mean" ? r.mean : m == "sampled" ? r.sampled : r.mala) = upd / dt / comm.size();
    if (m == "mean") {
      const int sweeps = std::max(5, steps / 2);
      const ExchangeTiming before = sweep.timing();
      const double ds = median_time(comm, sweeps, [&](int) { sweep.run(e, ++key); });
      r.t = sweep.timing();
      r.t.leave -= before.leave; r.t.propose -= before.propose;
      r.t.communicate -= before.communicate; r.t.arrive -= before.arrive; r.t.rebuild -= before.rebuild;
      r.sweeps = sweeps;
      r.sweep = static_cast<double>(c.R()) / ds / comm.size();
      r.bytes = comm.max(e.bytes_per_neuron());
      r.scratch = comm.max(sweep.scratch_bytes() / static_cast<double>(e.active().size() + e.reservoir().size()));
    }
  }
  return r;
}

}  // namespace

// The standard workload (K = 2, rho = 64, mu = 0, M as given) unless the
// command line sets M or K.
Config standard_workload(CliRequest& req, const Comm& comm, const char* M) {
  bool has_M = false, has_K = false;
  for (auto& [k, v] : req.raw) { has_M |= k == "model.M"; has_K |= k == "model.K"; }
  if (!has_M) req.raw.emplace_back("model.M", M);
  if (!has_K) req.raw.emplace_back("model.K", "2");
  req.raw.emplace_back("model.mu", "0");
  return load_config(req, comm);
}

// Checkpoint write and read throughput for a state of about 1 GB (K = 2,
// rho = 64, M = 781250 unless overridden) in DIR. The write includes the
// fsync and rename; before the read the file is evicted from the page cache
// (posix_fadvise DONTNEED), so both figures are disk figures. The read
// includes the digest verification. The limit is the disk: compare with
// `dd` to the same directory (bench/checkpoint-io does both).
int bench_checkpoint(CliRequest& req, const Comm& comm, const std::string& dir) {
  const Config cfg = standard_workload(req, comm, "781250");
  Ensemble e(cfg, comm);
  ExchangeSweep sweep(e, cfg);
  sweep.run(e, 1);  // a realistic layout: networks and reservoir
  e.set_step(1);
  CheckpointStore store(dir, 1, comm);
  store.ensure_dir();
  const std::string path = dir + "/bench-checkpoint.h5";
  CheckpointMeta m;
  m.step = 1;
  m.run_id = "bench";
  m.config_ini = config_echo(cfg);
  m.digest = compute_digest(e).text();
  m.n_samples = 1;  // a run has sampled step 0 (read_checkpoint_meta checks it)
  // Each checkpoint of a run is written into a page cache that earlier ones
  // have recycled; the first write of a process pays the VM's first touch of
  // fresh memory on top (2-3x here). So: `repeat` writes and reads, each
  // reported, and their median.
  const std::string rep = req.extra_value("bench.repeat");
  const int repeat = std::max(1, rep.empty() ? 3 : std::atoi(rep.c_str()));
  std::vector<double> tw, tr;
  double bytes = 0;
  std::string hints;
  // Writes first, back to back, as a run writes them (the ensemble's memory
  // steady); then the reads, each into a fresh ensemble.
  for (int r = 0; r < repeat; ++r) {
    comm.barrier();
    const double t = MPI_Wtime();
    bytes = write_checkpoint(path, e, m, cfg, &hints);
    tw.push_back(MPI_Wtime() - t);
  }
  for (int r = 0; r < repeat; ++r) {
    if (comm.root()) {
      const int fd = ::open(path.c_str(), O_RDONLY);
      if (fd >= 0) { posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); ::close(fd); }
    }
    Ensemble back(cfg, comm, Ensemble::Unset{});
    comm.barrier();
    const double t = MPI_Wtime();
    load_checkpoint(path, back, read_checkpoint_meta(path, comm));
    tr.push_back(MPI_Wtime() - t);
  }
  if (comm.root()) {
    std::remove(path.c_str());
    auto line = [&](const char* what, std::vector<double> ts, const char* how) {
      std::string each;
      for (double x : ts) each.append(" ").append(std::to_string(static_cast<int>(bytes / 1e6 / x + 0.5)));
      std::sort(ts.begin(), ts.end());
      const double med = ts[ts.size() / 2];
      std::printf("  %-5s %8.1f MB/s median  (%.2f s; each:%s MB/s; %s)\n", what, bytes / 1e6 / med, med,
                  each.c_str(), how);
    };
    std::printf("gcnn bench checkpoint: M = %lld, R = %lld, K = %d, %d rank(s), file %.1f MB in %s, %d repeats\n",
                static_cast<long long>(cfg.M), static_cast<long long>(cfg.R()), cfg.K, comm.size(), bytes / 1e6,
                dir.c_str(), repeat);
    line("write", tw, "collective MPI-IO, checksummed, fsync on every node + rename");
    line("read", tr, "page cache dropped, checksums + digest verified");
    std::printf("  MPI-IO hints in use: %s\n", hints.empty() ? "(none reported)" : hints.c_str());
    std::fflush(stdout);
  }
  return kExitOk;
}

// The setup's CPU time: the analytic grand potential (all its passes and the
// sector tables) solved `repeat` times; the median is reported, with the
// pass count and the cost per neuron * cell * pass of this rank's share.
int bench_setup(CliRequest& req, const Comm& comm) {
  bool has_M = false, has_K = false, has_n = false;
  for (auto& [k, v] : req.raw) { has_M |= k == "model.M"; has_K |= k == "model.K"; has_n |= k == "grid.n"; }
  if (!has_M) req.raw.emplace_back("model.M", "4096");
  if (!has_K) req.raw.emplace_back("model.K", "2");
  if (!has_n) req.raw.emplace_back("grid.n", "100");
  const std::string rep = req.extra_value("bench.repeat");
  const Config cfg = load_config(req, comm);
  const int repeat = rep.empty() ? 3 : std::max(1, std::stoi(rep));
  std::vector<double> cpu;
  int passes = 0;
  for (int r = 0; r < repeat; ++r) {
    comm.barrier();
    timespec t0{}, t1{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    const GrandPotential gp(cfg, comm);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    cpu.push_back(comm.max(static_cast<double>(t1.tv_sec - t0.tv_sec) + 1e-9 * static_cast<double>(t1.tv_nsec - t0.tv_nsec)));
    passes = gp.iterations() + 2;  // the s = 0 pass, the fixed-point passes, the occupancy/Lambda pass
  }
  std::sort(cpu.begin(), cpu.end());
  const double med = cpu[cpu.size() / 2];
  const double per_rank = static_cast<double>(cfg.R()) / comm.size();
  if (comm.root())
    std::printf("gcnn bench setup: K = %d, %lld cells, R = %lld (%.0f per rank), %d rank(s), %d passes\n"
                "  CPU %.2f s per rank (median of %d; min %.2f)   %.3f ns per neuron * cell * pass\n",
                cfg.K, static_cast<long long>(cfg.grid_cells()), static_cast<long long>(cfg.R()), per_rank,
                comm.size(), passes, med, repeat, cpu.front(),
                1e9 * med / (per_rank * static_cast<double>(cfg.grid_cells()) * passes));
  return kExitOk;
}

int cmd_bench(int argc, char** argv, const Comm& comm) {
  CliRequest req = parse_command_line(argc, argv, {"bench.steps", "bench.checkpoint", "bench.solver", "bench.repeat", "bench.setup"});
  if (!req.extra_value("bench.solver").empty())
    return with_solver_module(comm, [&](const SolverCommands& t) { return t.bench_solver(req, comm); });
  if (!req.extra_value("bench.setup").empty()) return bench_setup(req, comm);
  if (!req.extra_value("bench.checkpoint").empty()) return bench_checkpoint(req, comm, req.extra_value("bench.checkpoint"));
  if (req.help) {
    if (comm.root())
      std::cout << help_text("bench") << "\n"
                << "usage: mpirun -np P gcnn bench [--model.M 16384] [--model.K 2] [--bench.steps 50]\n"
                   "Prints neuron-updates/s per core for the learning step (mean, sampled, mala), neuron-moves/s\n"
                   "per core for an exchange sweep, the efficiency of P ranks against 1 and bytes per neuron.\n"
                   "       mpirun -np P gcnn bench --bench.checkpoint DIR [--model.M 781250] [--bench.repeat 3]\n"
                   "Prints checkpoint write and read MB/s for a state of about 1 GB in DIR.\n"
                   "       mpirun -np P gcnn bench --bench.setup 1 [--model.M 4096] [--bench.repeat 3]\n"
                   "Prints the CPU seconds of the mean-field setup (K = 2, grid 100^2) and ns per neuron*cell*pass.\n"
                   "       mpirun -np P gcnn bench --bench.solver 1|noeig\n"
                   "Prints Crank-Nicolson and Fokker-Planck time per step on the standard grids, the ratio to\n"
                   "an FFTW split-operator step, and (unless noeig) the 10 lowest eigenpairs on 512^2.\n";
    return kExitOk;
  }
  // Standard workload unless overridden.
  const Config cfg = standard_workload(req, comm, "16384");
  const std::string st = req.extra_value("bench.steps");
  const int steps = st.empty() ? 50 : std::max(1, std::stoi(st));

  const Rates all = measure(cfg, comm, steps);
  Rates one;
  if (comm.size() > 1) {
    // The same total workload on rank 0 alone (the other ranks idle).
    MPI_Comm solo;
    mpi_check(MPI_Comm_split(comm.raw(), comm.root() ? 0 : MPI_UNDEFINED, 0, &solo), "MPI_Comm_split");
    if (comm.root()) {
      one = measure(cfg, Comm(solo), steps);
      mpi_check(MPI_Comm_free(&solo), "MPI_Comm_free");
    }
  } else {
    one = all;
  }
  if (comm.root()) {
    char b[1024];
    std::snprintf(b, sizeof(b),
                  "gcnn bench: K = %d, rho = %lld, M = %lld, R = %lld, %d rank(s), %d steps\n"
                  "  learning mean     %10.3e neuron-updates/s per core   (target >= 3e8)\n"
                  "  learning sampled  %10.3e neuron-updates/s per core   (target >= 1e8)\n"
                  "  learning mala     %10.3e neuron-updates/s per core   (target >= mean/3 = %.2e)\n"
                  "  exchange sweep    %10.3e neuron-moves/s per core     (target >= 5e7)\n"
                  "  1 rank:  mean %.3e  sampled %.3e  mala %.3e  sweep %.3e per core\n"
                  "  efficiency %d ranks vs 1: mean %.0f%%  sampled %.0f%%  mala %.0f%%  sweep %.0f%%   (target >= 80%%)\n"
                  "  memory  %.1f bytes per neuron of state   (target <= 48)\n"
                  "          + %.1f bytes per neuron of exchange-sweep scratch (movers, joiners; not state)\n",
                  cfg.K, static_cast<long long>(cfg.rho), static_cast<long long>(cfg.M),
                  static_cast<long long>(cfg.R()), comm.size(), steps, all.mean, all.sampled, all.mala, all.mean / 3,
                  all.sweep, one.mean, one.sampled, one.mala, one.sweep, comm.size(), 100 * all.mean / one.mean,
                  100 * all.sampled / one.sampled, 100 * all.mala / one.mala, 100 * all.sweep / one.sweep, all.bytes,
                  all.scratch);
    std::cout << b;
    const double ms = 1e3 / std::max(1, all.sweeps);
    std::snprintf(b, sizeof(b),
                  "  sweep phases on rank 0 (ms per sweep, mean): propose %.2f  all-to-all (not hidden) %.2f  "
                  "leave test (+ all-to-all progress) %.2f  arrivals %.2f  rebuild %.2f\n",
                  all.t.propose * ms, all.t.communicate * ms, all.t.leave * ms, all.t.arrive * ms, all.t.rebuild * ms);
    std::cout << b;
  }
  return kExitOk;
}

}  // namespace gcnn
