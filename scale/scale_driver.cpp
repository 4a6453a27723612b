// The scaling harness's driver (README "Scaling predictions", issue 16 item 1):
// the ensemble core's real sweep and learning step, without HDF5, PETSc or
// observables, built twice from the same source: with Open MPI (target
// scale_driver_ompi) and with SimGrid's smpicxx (scale/build.sh), so that a
// digest computed under SMPI can be compared with Open MPI's.
//
//   scale_driver real    [--scale.sweeps 4] [--scale.learn 2] [--model.* ...]
//     runs `sweeps` times (one exchange sweep, then `learn` learning steps)
//     and prints the state digest (docs/model.md §7): it is independent of
//     the rank count, so 64 simulated ranks must give 2 Open MPI ranks' digest.
//
//   scale_driver predict --scale.neurons N --scale.byte-scale S --scale.rates FILE
//                        [--scale.warm 6] [--scale.sweeps 2] [--scale.learn 2] [--scale.overlap 1]
//     the same loop on a real but reduced ensemble (the [model] given), timed
//     in simulated time. Every rank stands for a rank of N neurons: the
//     compute of each phase is injected (smpi_execute) as its work scaled by
//     N / (neurons here) over the per-core rate `gcnn bench` measured; the
//     platform's bandwidths are divided by S (scale/platforms/make_platform.py
//     --byte-scale), so every byte the real code sends stands for S bytes.
//     The messages are the real code path's: their number, peers and the
//     count exchange are those of ExchangeSweep::run, only their lengths are
//     S times shorter. With --scale.overlap 1 the leave tests' compute is
//     spent in the exchange's polls (scale/smpi_shim.hpp 5.), so that what
//     the real code hides behind them is hidden here too; 0: all of the
//     sweep's compute outside its exchange. Prints one line of simulated
//     seconds per sweep.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>

#include "gcnn/boundary_loss.hpp"
#include "gcnn/config.hpp"
#include "gcnn/digest.hpp"
#include "gcnn/ensemble.hpp"
#include "gcnn/exchange_sweep.hpp"
#include "gcnn/learning_step.hpp"
#include "gcnn/mpi_env.hpp"

#ifdef GCNN_SMPI
#include <simgrid/host.h>
#include <smpi/smpi.h>
#endif

namespace gcnn {
namespace {

// Per-core rates of `gcnn bench` (scale/rates.txt: "key value" lines).
struct BenchRates {
  double sweep = 0;            // neuron-moves/s per core (R / sweep time)
  double learn = 0;            // neuron-updates/s per core of the learning mode used
  double propose_share = 0.2;  // share of a sweep's compute before its all-to-all
  double leave_share = 0;      // share of the leave tests, which poll the exchange
};

BenchRates read_rates(const std::string& path, const std::string& mode) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("scale_driver: cannot read rates file " + path);
  std::map<std::string, double> kv;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    std::string k;
    double v;
    if (ss >> k >> v) kv[k] = v;
  }
  auto need = [&](const std::string& k) {
    auto it = kv.find(k);
    if (it == kv.end() || !(it->second > 0)) throw std::runtime_error("scale_driver: " + path + " has no " + k);
    return it->second;
  };
  BenchRates r;
  r.sweep = need("sweep");
  r.learn = need("learn_" + mode);
  r.propose_share = need("propose_share");
  r.leave_share = need("leave_share");
  return r;
}

// Simulated compute: `seconds` of this rank's core, whatever the simulation
// host's speed and SMPI's smpi/host-speed (smpi_execute would scale by the
// latter). Under Open MPI nothing is injected: the real work ran.
void inject_compute(double seconds) {
#ifdef GCNN_SMPI
  if (seconds > 0) smpi_execute_flops(seconds * sg_host_get_speed(sg_host_self()));
#else
  (void)seconds;
#endif
}

// Simulated seconds this rank spent in the exchange's calls so far, by kind
// (scale/smpi_shim.hpp): count exchange, proposers' all-to-alls (flat, or
// node-aware stages 1 and 3), node-aware stage 2 across nodes.
struct ExchangeTimes {
  double counts = 0, node_ids = 0, cross_ids = 0;
  ExchangeTimes operator-(const ExchangeTimes& o) const {
    return {counts - o.counts, node_ids - o.node_ids, cross_ids - o.cross_ids};
  }
};

ExchangeTimes exchange_times() {
#ifdef GCNN_SMPI
  const auto& t = gcnn_smpi::comm_times();
  return {t.counts, t.node_ids, t.cross_ids};
#else
  return {};
#endif
}

// The leave tests' compute, spent by the exchange's polls (scale/smpi_shim.hpp
// 5.): t_leave seconds over the reduced ensemble's polls (one per chunk of
// kLeaveChunk active neurons, ExchangeSweep::kChunk), each poll's share
// spent in pieces of one full-size chunk (the rank stands for `up` times as
// many neurons, so polls `up` times as often).
constexpr double kLeaveChunk = 2048;

void set_poll_compute(double t_leave, double active, double up) {
#ifdef GCNN_SMPI
  const double polls = std::max(1.0, std::ceil(active / kLeaveChunk));
  const double chunks = std::max(1.0, std::ceil(active * up / kLeaveChunk));
  gcnn_smpi::poll_compute() = {t_leave, t_leave / polls, t_leave / chunks};
#else
  (void)t_leave, (void)active, (void)up;
#endif
}

// The budget the polls left (the last chunks' compute once the exchange was
// done), and resets it.
double take_poll_compute() {
#ifdef GCNN_SMPI
  const double left = gcnn_smpi::poll_compute().left;
  gcnn_smpi::poll_compute() = {};
  return left;
#else
  return 0;
#endif
}

int64_t int_option(const CliRequest& req, const std::string& key, int64_t dflt) {
  const std::string v = req.extra_value(key);
  return v.empty() ? dflt : static_cast<int64_t>(std::stod(v));
}

// One "sweep" of the cost model: an exchange sweep, then `learn` learning steps.
struct Loop {
  Ensemble& e;
  ExchangeSweep& sweep;
  LearningStep& step;
  int64_t learn;
  uint64_t key = 0;

  void once() {
    sweep.run(e, ++key);
    for (int64_t l = 0; l < learn; ++l) step.advance(e, ++key);
    e.set_step(key);
  }
};

int run_real(const Config& cfg, const CliRequest& req, const Comm& comm) {
  Ensemble e(cfg, comm);
  auto loss = make_boundary_loss(cfg);
  auto step = make_learning_step(cfg, cfg, *loss);
  ExchangeSweep sweep(e, cfg);
  Loop loop{e, sweep, *step, int_option(req, "scale.learn", 2)};
  const int64_t sweeps = int_option(req, "scale.sweeps", 4);
  for (int64_t s = 0; s < sweeps; ++s) loop.once();
  const int64_t sent = comm.sum(sweep.counters().moved_bytes);
  const std::string digest = compute_digest(e).text();
  // The route the proposers took (mover_exchange.hpp), so that a test can
  // check which one it covered.
  const std::string route = sweep.exchange().node_aware()
                                ? "node-aware over " + std::to_string(sweep.exchange().nodes()) + " nodes"
                                : std::string("flat");
  if (comm.root())
    std::printf("scale_driver real: P = %d, M = %lld, rho = %lld, K = %d, mode %s, %lld sweeps x (1 exchange + %lld "
                "learning)\nroute %s\nbytes moved %lld\ndigest %s\n",
                comm.size(), static_cast<long long>(cfg.M), static_cast<long long>(cfg.rho), cfg.K, cfg.mode.c_str(),
                static_cast<long long>(sweeps), static_cast<long long>(loop.learn), route.c_str(),
                static_cast<long long>(sent), digest.c_str());
  return 0;
}

int run_predict(const Config& cfg, const CliRequest& req, const Comm& comm) {
  const double target = static_cast<double>(int_option(req, "scale.neurons", 1 << 20));
  const std::string bs = req.extra_value("scale.byte-scale");
  const double byte_scale = bs.empty() ? 1.0 : std::stod(bs);
  const BenchRates rates = read_rates(req.extra_value("scale.rates"), cfg.mode);
  const int64_t warm = int_option(req, "scale.warm", 6), timed = int_option(req, "scale.sweeps", 2);
  const bool overlap = int_option(req, "scale.overlap", 1) != 0;

  Ensemble e(cfg, comm);
  auto loss = make_boundary_loss(cfg);
  auto step = make_learning_step(cfg, cfg, *loss);
  ExchangeSweep sweep(e, cfg);
  Loop loop{e, sweep, *step, int_option(req, "scale.learn", 2)};
  // Warm-up to exchange equilibrium (the bench's reason: the first sweeps
  // move a transient surplus), with no compute injected and not timed.
  for (int64_t s = 0; s < warm; ++s) loop.once();

  // A rank of the reduced ensemble stands for `target` neurons: its work
  // (its neurons, active or reservoir, as they fluctuate) scales by `up`.
  const double up = target * comm.size() / static_cast<double>(cfg.R());
  double compute = 0, compute_max = 0, total = 0, moved = 0;
  ExchangeTimes in_calls, in_calls_max;
  const int64_t bytes0 = sweep.counters().moved_bytes;
  for (int64_t s = 0; s < timed; ++s) {
    comm.barrier();
    const ExchangeTimes calls0 = exchange_times();
    const double t0 = MPI_Wtime();
    const double n_all = static_cast<double>(e.active().size() + e.reservoir().size()) * up;
    const double t_sweep = n_all / rates.sweep;
    double c = t_sweep;
    // The sweep's compute around its message round: the proposals before it;
    // the leave tests in its polls (with overlap: scale/smpi_shim.hpp 5.;
    // the all-to-alls themselves run blocking, 1.), else after it; the
    // arrivals and rebuild after it.
    inject_compute(rates.propose_share * t_sweep);
    const double t_leave = rates.leave_share * t_sweep;
    if (overlap) set_poll_compute(t_leave, static_cast<double>(e.active().size()), up);
    loop.sweep.run(e, ++loop.key);
    // what the polls did not spend (all of it without overlap) after the sweep
    const double unspent = overlap ? take_poll_compute() : t_leave;
    inject_compute((1 - rates.propose_share - rates.leave_share) * t_sweep + unspent);
    for (int64_t l = 0; l < loop.learn; ++l) {
      const double t_learn = static_cast<double>(e.active().size()) * up / rates.learn;
      inject_compute(t_learn);
      c += t_learn;
      step->advance(e, ++loop.key);
    }
    e.set_step(loop.key);
    const double t = comm.max(MPI_Wtime() - t0);
    const ExchangeTimes calls = exchange_times() - calls0;
    compute += comm.sum(c) / comm.size();  // mean over ranks: the ideal, evenly divided work
    compute_max += comm.max(c);            // the slowest rank's: imbalance of the reduced ensemble
    in_calls.counts += comm.sum(calls.counts) / comm.size();
    in_calls.node_ids += comm.sum(calls.node_ids) / comm.size();
    in_calls.cross_ids += comm.sum(calls.cross_ids) / comm.size();
    in_calls_max.counts += comm.max(calls.counts);
    in_calls_max.node_ids += comm.max(calls.node_ids);
    in_calls_max.cross_ids += comm.max(calls.cross_ids);
    total += t;
  }
  moved = static_cast<double>(comm.sum(sweep.counters().moved_bytes - bytes0)) * byte_scale / timed / comm.size();
  if (comm.root())
    std::printf("predict P %d neurons_per_rank %.6g byte_scale %.6g total_s %.6e compute_s %.6e comm_s %.6e "
                "efficiency %.4f bytes_per_rank %.6e compute_max_s %.6e counts_s %.6e node_ids_s %.6e "
                "cross_ids_s %.6e route_nodes %d counts_max_s %.6e node_ids_max_s %.6e cross_ids_max_s %.6e\n",
                comm.size(), target, byte_scale, total / timed, compute / timed, (total - compute) / timed,
                compute / total, moved, compute_max / timed, in_calls.counts / timed, in_calls.node_ids / timed,
                in_calls.cross_ids / timed, sweep.exchange().nodes(), in_calls_max.counts / timed,
                in_calls_max.node_ids / timed, in_calls_max.cross_ids / timed);
  return 0;
}

int driver(int argc, char** argv, const Comm& comm) {
  if (argc < 2) throw std::runtime_error("usage: scale_driver real|predict [--key value ...]");
  const std::string mode = argv[1];
  // argv[1], the mode, takes argv[0]'s place for the parser (which skips it).
  CliRequest req = parse_command_line(argc - 1, argv + 1,
                                      {"scale.sweeps", "scale.learn", "scale.warm", "scale.neurons",
                                       "scale.byte-scale", "scale.rates", "scale.overlap"});
  const Config cfg = make_config(req.raw);
  if (mode == "real") return run_real(cfg, req, comm);
  if (mode == "predict") return run_predict(cfg, req, comm);
  throw std::runtime_error("scale_driver: unknown mode " + mode + " (real or predict)");
}

}  // namespace
}  // namespace gcnn

int main(int argc, char** argv) {
  gcnn::MpiSession mpi(&argc, &argv);
  const gcnn::Comm comm;
  try {
    return gcnn::driver(argc, argv, comm);
  } catch (const std::exception& ex) {
    std::cerr << "scale_driver: " << ex.what() << "\n";
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  return 1;
}
