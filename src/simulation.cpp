#include "gcnn/simulation.hpp"

#include <cmath>
#include <cstdio>
#include <ostream>

#include "gcnn/boundary_loss.hpp"
#include "gcnn/ensemble.hpp"
#include "gcnn/exchange_sweep.hpp"
#include "gcnn/grand_potential.hpp"
#include "gcnn/learning_step.hpp"
#include "gcnn/observables.hpp"
#include "gcnn/results_file.hpp"

namespace gcnn {

namespace {

std::string fmt_seconds(double s) {
  char b[32];
  if (s < 120) std::snprintf(b, sizeof(b), "%.0fs", s);
  else if (s < 7200) std::snprintf(b, sizeof(b), "%.1fmin", s / 60);
  else std::snprintf(b, sizeof(b), "%.1fh", s / 3600);
  return b;
}

// Which rows of the particle subsample this rank owns: networks
// a_j = floor(j M / n_sub), j in [j_lo, j_hi).
void particle_rows(const Config& c, int64_t a_lo, int64_t a_hi, int64_t n_sub, int64_t& j_lo, int64_t& j_hi) {
  auto ceil_div = [](__int128 a, __int128 b) { return static_cast<int64_t>((a + b - 1) / b); };
  j_lo = ceil_div(static_cast<__int128>(a_lo) * n_sub, c.M);
  j_hi = ceil_div(static_cast<__int128>(a_hi) * n_sub, c.M);
}

}  // namespace

RunResult run_simulation(const Config& cfg, const Comm& comm, bool overwrite, std::ostream& log) {
  const bool root = comm.root();
  const double t0 = MPI_Wtime();
  const std::string run_id = make_run_id(comm);
  if (root) {
    log << "gcnn run: M = " << cfg.M << " networks, R = " << cfg.R() << " neurons, K = " << cfg.K << ", "
        << comm.size() << " rank(s), run id " << run_id << "\n";
    log << "---- configuration ----\n" << config_echo(cfg) << "-----------------------\n" << std::flush;
  }

  auto loss = make_boundary_loss(cfg);
  ResultsFile out(cfg.output, overwrite, comm, cfg, run_id);
  std::unique_ptr<Observables> obs;
  {
    GrandPotential gp(cfg, comm);  // tables only; its neuron copy is freed at scope end
    if (root)
      log << "analytic Omega: mean-field iterations " << gp.iterations() << " (residual " << gp.residual()
          << "), predicted occupied fraction " << gp.predicted_occupancy() << ", sector free energy "
          << gp.sector_method() << "\n" << std::flush;
    obs = std::make_unique<Observables>(cfg, gp, *loss);
    obs->declare(out);
    obs->write_static(out, gp);
  }

  Ensemble ens(cfg, comm);
  auto learn = make_learning_step(cfg, *loss);
  ExchangeSweep sweep(ens);

  int64_t n_sub = std::min<int64_t>(cfg.particles, cfg.M), j_lo = 0, j_hi = 0;
  std::vector<double> pbuf;
  if (n_sub > 0) {
    std::vector<int64_t> ids(static_cast<size_t>(n_sub));
    for (int64_t j = 0; j < n_sub; ++j) ids[j] = static_cast<int64_t>((static_cast<__int128>(j) * cfg.M) / n_sub);
    out.declare_particles(n_sub, cfg.K, ids);
    particle_rows(cfg, ens.a_lo(), ens.a_lo() + ens.n_local(), n_sub, j_lo, j_hi);
  }
  auto take_sample = [&]() {
    if (n_sub > 0) {
      pbuf.clear();
      for (int64_t j = j_lo; j < j_hi; ++j) {
        const int64_t a = static_cast<int64_t>((static_cast<__int128>(j) * cfg.M) / n_sub);
        const double* q = ens.q(a - ens.a_lo());
        pbuf.insert(pbuf.end(), q, q + cfg.K);
      }
      out.put_particles(j_lo, pbuf);
    }
    return obs->sample(ens, sweep.counters(), *learn, out);
  };

  SampleSummary last = take_sample();
  const double t_start = MPI_Wtime();
  double t_last_print = t_start;
  int64_t neuron_updates = 0;
  const uint64_t S = static_cast<uint64_t>(cfg.steps);
  for (uint64_t s = 0; s < S; ++s) {
    neuron_updates += static_cast<int64_t>(ens.active().size());
    learn->advance(ens, s);
    ens.set_step(s + 1);
    if (cfg.exchange_every > 0 && (s + 1) % static_cast<uint64_t>(cfg.exchange_every) == 0) sweep.run(ens, s + 1);
    if ((s + 1) % static_cast<uint64_t>(cfg.sample_every) == 0 || s + 1 == S) last = take_sample();
    if (root && cfg.progress_seconds > 0) {
      const double now = MPI_Wtime();
      if (now - t_last_print >= cfg.progress_seconds) {
        t_last_print = now;
        const double rate = static_cast<double>(s + 1) / (now - t_start);
        char b[320];
        std::snprintf(b, sizeof(b),
                      "[gcnn] step %llu/%llu (%.1f%%)  t=%.4g  %.0f steps/s  ETA %s  <N>=%.2f  reservoir %.1f%%  "
                      "acc join %.3f leave %.3f%s\n",
                      static_cast<unsigned long long>(s + 1), static_cast<unsigned long long>(S),
                      100.0 * static_cast<double>(s + 1) / static_cast<double>(S),
                      static_cast<double>(s + 1) * cfg.eta, rate,
                      fmt_seconds(static_cast<double>(S - s - 1) / rate).c_str(), last.mean_N,
                      100.0 * last.reservoir_fraction, last.join_acceptance, last.leave_acceptance,
                      cfg.mode == GradMode::Mala ? (" mala " + std::to_string(last.mala_acceptance)).c_str() : "");
        log << b << std::flush;
      }
    }
  }
  const double t_end = MPI_Wtime();

  RunResult res;
  res.digest = compute_digest(ens);
  res.wall_seconds = t_end - t0;
  const int64_t total_updates = comm.sum(neuron_updates);
  res.neuron_updates_per_second = total_updates / std::max(1e-9, t_end - t_start);
  {
    h5::Handle g = h5::create_group(out.file(), "digest");
    h5::attr(g, "state", res.digest.text());
    h5::attr(g, "step", static_cast<int64_t>(res.digest.step));
    h5::attr(g, "description", std::string("state digest of the final step; see README 'State digest'"));
  }
  out.flush();
  if (root) {
    char b[512];
    std::snprintf(b, sizeof(b),
                  "---- summary ----\n"
                  "steps %llu (t = %.4g) in %s wall, %.3g neuron-updates/s on %d rank(s)\n"
                  "<N> = %.3f, reservoir %.2f%% of R, join acc %.3f, leave acc %.3f\n"
                  "Delta F = F_{N+1} - F_N: %.4f +- %.4f (mu = %.4f)\n"
                  "coherence at hbar_mu: sector %.4f, set %.4f\n"
                  "results: %s (%lld samples)\n"
                  "digest %s\n",
                  static_cast<unsigned long long>(S), static_cast<double>(S) * cfg.eta,
                  fmt_seconds(res.wall_seconds).c_str(), res.neuron_updates_per_second, comm.size(), last.mean_N,
                  100.0 * last.reservoir_fraction, last.join_acceptance, last.leave_acceptance, last.delta_F_mean,
                  last.delta_F_std, cfg.mu, last.coherence_sector_at_hbar_mu, last.coherence_set_at_hbar_mu,
                  cfg.output.c_str(), static_cast<long long>(out.samples()), res.digest.text().c_str());
    log << b << std::flush;
  }
  return res;
}

}  // namespace gcnn
