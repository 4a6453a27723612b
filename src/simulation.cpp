#include "gcnn/simulation.hpp"

#include <sys/stat.h>

#include <array>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <ostream>

#include "gcnn/boundary_loss.hpp"
#include "gcnn/ensemble.hpp"
#include "gcnn/exchange_sweep.hpp"
#include "gcnn/grand_potential.hpp"
#include "gcnn/learning_step.hpp"
#include "gcnn/observables.hpp"
#include "gcnn/results_file.hpp"
#include "gcnn/run_control.hpp"

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

namespace {

// The ensemble's counters summed over ranks (a checkpoint stores global sums;
// on restore rank 0 carries them, so every global difference is unchanged).
std::array<int64_t, 12> global_counters(const ExchangeSweep& sw, const LearningStep& ls, const Observables& obs,
                                        const Comm& comm) {
  const ExchangeCounters& x = sw.counters();
  const auto last = obs.counters_at_sample();
  std::array<int64_t, 12> v{x.join_proposed, x.join_accepted, x.leave_proposed, x.leave_accepted,
                            ls.proposals(),  ls.accepted(),   last[0],          last[1],
                            last[2],         last[3],         last[4],          last[5]};
  comm.sum(v.data(), v.size());
  return v;
}

void restore_counters(const std::array<int64_t, 12>& v, ExchangeSweep& sw, LearningStep& ls, Observables& obs,
                      const Comm& comm) {
  std::array<int64_t, 12> mine{};
  if (comm.root()) mine = v;
  ExchangeCounters& x = sw.counters();
  x.join_proposed = mine[0];
  x.join_accepted = mine[1];
  x.leave_proposed = mine[2];
  x.leave_accepted = mine[3];
  ls.set_counters(mine[4], mine[5]);
  obs.set_counters_at_sample({mine[6], mine[7], mine[8], mine[9], mine[10], mine[11]});
}

std::string mala_text(const Config& c, const SampleSummary& s) {
  if (c.mode != GradMode::Mala) return "";
  char b[32];
  std::snprintf(b, sizeof(b), " mala %.3f", s.mala_acceptance);
  return b;
}

bool file_exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

}  // namespace

RunResult run_simulation(const Config& cfg, const Comm& comm, bool overwrite, std::ostream& log, Resume* resume) {
  const bool root = comm.root();
  const double t0 = MPI_Wtime();
  const std::string run_id = resume ? resume->meta.run_id : make_run_id(comm);
  const uint64_t start = resume ? resume->meta.step : 0;
  if (root) {
    log << "gcnn run: M = " << cfg.M << " networks, R = " << cfg.R() << " neurons, K = " << cfg.K << ", "
        << comm.size() << " rank(s), run id " << run_id << "\n";
    log << "please cite: M. I. Katsnelson and V. Vanchurin, Found. Phys. 51, 94 (2021), "
           "doi:10.1007/s10701-021-00503-3 (see CITATION.cff)\n";
    if (resume)
      log << "resuming from " << resume->path << " at step " << start << " (written on " << resume->meta.n_ranks
          << " rank(s) by gcnn " << resume->meta.version << ", git " << resume->meta.git_sha << ")\n";
    log << "---- configuration ----\n" << config_echo(cfg) << "-----------------------\n" << std::flush;
  }
  CheckpointStore store(checkpoint_dir(cfg), static_cast<int>(cfg.checkpoint_keep), comm);
  store.ensure_dir();
  if (!resume) {
    // Checkpoints of an earlier run in the same directory would be taken for
    // this run's by --resume latest and by pruning: replace them only with --overwrite.
    const auto old = store.list();
    if (!old.empty()) {
      if (!overwrite)
        throw ConfigError("checkpoint directory '" + store.dir() + "' holds checkpoints of an earlier run (" + old[0] +
                          "); continue it with --resume latest, pass --overwrite to replace it, or set checkpoint.dir");
      if (root) {
        for (const auto& p : old) std::remove(p.c_str());
        log << "removed " << old.size() << " checkpoint(s) of the overwritten run from " << store.dir() << "\n";
      }
      comm.barrier();
    }
  }

  // The physics in force (loss, learning, exchange, observables' analytic
  // tables) is that of physics_at(step); a quench rebuilds it once.
  Config phys = physics_at(cfg, start);
  auto loss = make_boundary_loss(phys);
  // Results: a fresh file, or the resumed run's file truncated to the checkpoint.
  std::unique_ptr<ResultsFile> outp;
  if (resume) {
    int exists = root && file_exists(cfg.output) ? 1 : 0;
    comm.bcast(&exists, 1);
    if (exists) {
      ResultsFile::Append how;
      how.keep_samples = resume->meta.n_samples;
      how.note = "resumed at step " + std::to_string(start) + " on " + std::to_string(comm.size()) +
                 " rank(s) from " + resume->path;
      outp = std::make_unique<ResultsFile>(cfg.output, comm, run_id, how);
    } else if (cfg.output == resume->original_output) {
      throw ConfigError("results file '" + cfg.output + "' of the resumed run is missing; pass --output NEW.h5 " +
                        "to continue into a new results file");
    } else {
      outp = std::make_unique<ResultsFile>(cfg.output, overwrite, comm, cfg, run_id);
    }
  } else {
    outp = std::make_unique<ResultsFile>(cfg.output, overwrite, comm, cfg, run_id);
  }
  ResultsFile& out = *outp;
  std::unique_ptr<Observables> obs;
  {
    GrandPotential gp(phys, comm);  // tables only; its neuron copy is freed at scope end
    if (root)
      log << "analytic Omega: mean-field iterations " << gp.iterations() << " (residual " << gp.residual()
          << "), predicted occupied fraction " << gp.predicted_occupancy() << ", sector free energy "
          << gp.sector_method() << "\n" << std::flush;
    obs = std::make_unique<Observables>(phys, gp, *loss);
    obs->declare(out);
    if (!out.appending()) obs->write_static(out, gp);
  }

  // A signal during setup (Omega, allocation, the first sample: minutes at
  // scale) stops here with exit 75 and no checkpoint: no step was taken, so
  // the next attempt starts (or resumes) exactly as this one did.
  auto interrupted_in_setup = [&](const char* stage) {
    const int sig = agreed_signal(comm);
    if (sig != 0 && root)
      log << "[gcnn] signal " << sig << " (" << strsignal(sig) << ") during setup (" << stage
          << "): stopping before any step; nothing to checkpoint, resubmit to start again\n" << std::flush;
    return sig;
  };
  RunResult res;
  if ((res.signal = interrupted_in_setup("analytic Omega"))) {
    res.interrupted = true;
    return res;
  }
  std::unique_ptr<Ensemble> ens_owner = resume ? std::move(resume->ensemble) : std::make_unique<Ensemble>(cfg, comm);
  Ensemble& ens = *ens_owner;
  ens.set_physics(phys);
  auto learn = make_learning_step(phys, *loss);
  auto sweep_owner = std::make_unique<ExchangeSweep>(ens);
  if (resume) restore_counters(resume->meta.counters, *sweep_owner, *learn, *obs, comm);
  // The quench: the same counters continue under the new physics.
  auto apply_quench = [&](uint64_t step) {
    if (const int64_t n_tagged = tagged_networks(cfg)) {
      // Tagged minority (MODEL §4): the physics stays, only these networks
      // move. Applied at the start of step quench.step like the collective
      // quench, so a checkpoint at step <= quench.step still displaces on
      // resume and one after it (whose state carries the shift) does not.
      ens.displace_tagged(n_tagged, cfg.quench_shift);
      if (root)
        log << "[gcnn] quench at step " << step << ": " << n_tagged << " tagged network(s) (a < " << n_tagged
            << ") displaced by the shift; U, kappa and mu unchanged\n" << std::flush;
      return;
    }
    const auto c12 = global_counters(*sweep_owner, *learn, *obs, comm);
    phys = physics_at(cfg, step);
    loss = make_boundary_loss(phys);
    learn = make_learning_step(phys, *loss);
    ens.set_physics(phys);
    sweep_owner = std::make_unique<ExchangeSweep>(ens);
    GrandPotential gp(phys, comm);
    obs = std::make_unique<Observables>(phys, gp, *loss);
    restore_counters(c12, *sweep_owner, *learn, *obs, comm);
    if (root)
      log << "[gcnn] quench at step " << step << ": U centre shifted, kappa x " << cfg.quench_kappa_factor
          << ", mu = " << phys.mu << "; predicted occupied fraction now " << gp.predicted_occupancy() << "\n"
          << std::flush;
  };

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
    return obs->sample(ens, sweep_owner->counters(), *learn, out);
  };

  uint64_t last_checkpoint = resume ? start : ~uint64_t{0};
  auto checkpoint = [&](uint64_t step) {
    const double tc = MPI_Wtime();
    out.flush();  // the samples the checkpoint counts are on disk first
    CheckpointMeta m;
    m.step = step;
    m.run_id = run_id;
    m.config_ini = config_echo(cfg);
    m.digest = compute_digest(ens).text();
    m.n_samples = out.samples();
    m.counters = global_counters(*sweep_owner, *learn, *obs, comm);
    const std::string path = store.path_for(step);
    const double bytes = write_checkpoint(path, ens, m);
    store.prune();
    last_checkpoint = step;
    const double dt = MPI_Wtime() - tc;
    if (root) {
      char b[512];
      std::snprintf(b, sizeof(b), "[gcnn] checkpoint step %llu -> %s (%.1f MB in %.2fs, %.0f MB/s)\n",
                    static_cast<unsigned long long>(step), path.c_str(), bytes / 1e6, dt, bytes / 1e6 / dt);
      log << b << std::flush;
    }
  };

  SampleSummary last;
  if (!out.appending()) last = take_sample();
  if ((res.signal = interrupted_in_setup("allocation and first sample"))) {
    res.interrupted = true;
    out.flush();
    return res;
  }
  RunControl control(cfg, comm);
  const double t_start = MPI_Wtime();
  double t_last_print = t_start;
  int64_t neuron_updates = 0;
  const uint64_t S = static_cast<uint64_t>(cfg.steps);
  if (root && start >= S)
    log << "the run is already complete at step " << start << " (run.steps = " << S << ")\n";
  for (uint64_t s = start; s < S; ++s) {
    if (cfg.quench_step > 0 && s == static_cast<uint64_t>(cfg.quench_step)) apply_quench(s);
    neuron_updates += static_cast<int64_t>(ens.active().size());
    // The current at the coming sample is measured over this one step.
    if (sample_due(cfg, s + 1)) obs->remember_q_before_step(ens);
    learn->advance(ens, s);
    ens.set_step(s + 1);
    if (cfg.exchange_every > 0 && (s + 1) % static_cast<uint64_t>(cfg.exchange_every) == 0)
      sweep_owner->run(ens, s + 1);
    if (sample_due(cfg, s + 1)) last = take_sample();
    const RunControl::Decision d = control.after_step(s + 1, S);
    if (d.checkpoint) {
      checkpoint(s + 1);
      control.checkpoint_written();
    }
    if (d.stop) {
      res.interrupted = true;
      res.signal = d.signal;
      if (root)
        log << "[gcnn] signal " << d.signal << " (" << strsignal(d.signal) << "): checkpointed at step " << s + 1
            << "; continue with --resume latest\n" << std::flush;
      break;
    }
    if (root && cfg.progress_seconds > 0) {
      const double now = MPI_Wtime();
      if (now - t_last_print >= cfg.progress_seconds) {
        t_last_print = now;
        const double rate = static_cast<double>(s + 1 - start) / (now - t_start);
        char b[320];
        std::snprintf(b, sizeof(b),
                      "[gcnn] step %llu/%llu (%.1f%%)  t=%.4g  %.0f steps/s  ETA %s  <N>=%.2f  reservoir %.1f%%  "
                      "acc join %.3f leave %.3f%s\n",
                      static_cast<unsigned long long>(s + 1), static_cast<unsigned long long>(S),
                      100.0 * static_cast<double>(s + 1) / static_cast<double>(S),
                      static_cast<double>(s + 1) * cfg.eta, rate,
                      fmt_seconds(static_cast<double>(S - s - 1) / rate).c_str(), last.mean_N,
                      100.0 * last.reservoir_fraction, last.join_acceptance, last.leave_acceptance,
                      mala_text(cfg, last).c_str());
        log << b << std::flush;
      }
    }
  }
  // A run that reached its end but whose final checkpoint is missing (e.g.
  // resumed from an earlier one with at_end set) gets it here.
  if (!res.interrupted && cfg.checkpoint_at_end && ens.step() == S && last_checkpoint != S) checkpoint(S);
  const double t_end = MPI_Wtime();

  res.digest = compute_digest(ens);
  res.wall_seconds = t_end - t0;
  const int64_t total_updates = comm.sum(neuron_updates);
  res.neuron_updates_per_second = total_updates / std::max(1e-9, t_end - t_start);
  if (res.interrupted) {
    out.flush();
    return res;
  }
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
