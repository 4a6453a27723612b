#include "gcnn/simulation.hpp"

#include <array>
#include <cmath>
#include <ctime>
#include <cstring>
#include <cstdio>
#include <ostream>

#include "gcnn/boundary_loss.hpp"
#include "gcnn/ensemble.hpp"
#include "gcnn/exchange_sweep.hpp"
#include "gcnn/grand_potential.hpp"
#include "gcnn/grand_potential_tables.hpp"
#include "gcnn/learning_step.hpp"
#include "gcnn/observables.hpp"
#include "gcnn/phase_timer.hpp"
#include "gcnn/results_file.hpp"
#include "gcnn/run_control.hpp"
#include "gcnn/run_lock.hpp"
#include "gcnn/run_log.hpp"
#include "gcnn/version.hpp"
#include "gcnn/schedule.hpp"
#include "gcnn/solve_setup.hpp"

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

std::string mala_text(const LearningStep& ls, const SampleSummary& s) {
  if (!ls.metropolis()) return "";
  char b[32];
  std::snprintf(b, sizeof(b), " mala %.3f", s.mala_acceptance);
  return b;
}

}  // namespace

namespace {

// One `gcnn run`, as a pipeline of named stages (run() below). Fresh and
// resumed runs differ only in where the state and the results file come
// from (open_results, attach_ensemble); everything after is one path.
class Run {
 public:
  Run(const Config& cfg, const Comm& comm, bool overwrite, std::ostream& log, Resume* resume, RunLog* log_file)
      : cfg_(cfg), comm_(comm), log_(log), log_file_(log_file), overwrite_(overwrite), resume_(resume), root_(comm.root()),
        t0_(MPI_Wtime()), run_id_(resume ? resume->meta.run_id : make_run_id(comm)),
        start_(resume ? resume->meta.step : 0), store_(checkpoint_dir(cfg), static_cast<int>(cfg.checkpoint_keep), comm),
        last_checkpoint_(resume ? start_ : ~uint64_t{0}) {}

  RunResult run() {
    announce();
    check_resumed_state();
    // One writer per run: both locks before anything is created, removed or truncated.
    output_lock_ = std::make_unique<RunLock>(cfg_.output + ".lock", "results file '" + cfg_.output + "'", run_id_,
                                             comm_, log_);
    // The setup before any file is made or cleared: a grid verify could not
    // use is refused, and a signal during the setup stops, with nothing written.
    set_physics(start_);
    if (interrupted_in_setup("analytic Omega")) return res_;
    prepare_checkpoint_dir();
    open_log_file();
    open_results();
    declare_observables();
    attach_ensemble();
    declare_particles();
    out_->begin_writing();  // a resumed file is changed only from here on, after its validation
    if (!out_->appending()) last_ = sample();
    if (interrupted_in_setup("allocation and first sample")) {
      out_->flush();
      return res_;
    }
    advance();
    finish();
    return res_;
  }

 private:
  void announce() {
    if (!root_) return;
    log_ << "gcnn run: M = " << cfg_.M << " networks, R = " << cfg_.R() << " neurons, K = " << cfg_.K << ", "
         << comm_.size() << " rank(s), run id " << run_id_ << "\n";
    log_ << "please cite: M. I. Katsnelson and V. Vanchurin, Found. Phys. 51, 94 (2021), "
            "doi:10.1007/s10701-021-00503-3 (see CITATION.cff)\n";
    if (resume_)
      log_ << "resuming from " << resume_->path << " at step " << start_ << " (written on " << resume_->meta.n_ranks
           << " rank(s) by gcnn " << resume_->meta.version << ", git " << resume_->meta.git_sha << ")\n";
    log_ << "---- configuration ----\n" << config_echo(cfg_) << "-----------------------\n" << std::flush;
  }

  // A resumed checkpoint's restart state must be one the components could
  // have written (a crafted or damaged file), checked before any file is
  // touched. Every rank holds the same broadcast state: all agree.
  void check_resumed_state() const {
    if (!resume_) return;
    for (auto check : {&ExchangeSweep::check_restart, &LearningStep::check_restart, &Observables::check_restart})
      if (const std::string why = check(resume_->meta.restart); !why.empty())
        throw CheckpointError("checkpoint '" + resume_->path + "': " + why);
  }

  // Checkpoints of an earlier run in the same directory would be taken for
  // this run's by --resume latest and by pruning: replace them only with --overwrite.
  void prepare_checkpoint_dir() {
    store_.ensure_dir();
    checkpoint_lock_ = std::make_unique<RunLock>(store_.dir() + "/.lock", "checkpoint directory '" + store_.dir() + "'",
                                                 run_id_, comm_, log_);
    if (resume_) return;
    const auto old = store_.list();
    if (old.empty()) return;
    if (!overwrite_)
      throw ConfigError("checkpoint directory '" + store_.dir() + "' holds checkpoints of an earlier run (" + old[0] +
                        "); continue it with --resume latest, pass --overwrite to replace it, or set checkpoint.dir");
    if (root_) {
      for (const auto& p : old) std::remove(p.c_str());
      log_ << "removed " << old.size() << " checkpoint(s) of the overwritten run from " << store_.dir() << "\n";
    }
    comm_.barrier();
  }

  // The log beside the results file, once this run owns its files: replaced
  // with the results file (a fresh run with --overwrite), else appended to.
  void open_log_file() {
    if (!log_file_) return;
    char when[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    const std::string what = resume_ ? "resumed from " + resume_->path + " at step " + std::to_string(start_)
                                     : std::string("fresh run");
    log_file_->open(log_path(cfg_), !resume_ && overwrite_,
                    "==== gcnn " + std::string(kVersion) + " (git " + kGitSha + ") run " + run_id_ + ": " + what +
                        ", " + std::to_string(comm_.size()) + " rank(s), " + when + " ====");
  }

  // A fresh results file, or the resumed run's file truncated to the checkpoint.
  void open_results() {
    if (!resume_) {
      out_ = std::make_unique<ResultsFile>(cfg_.output, overwrite_, comm_, cfg_, run_id_);
      return;
    }
    if (root_says(comm_, file_exists(cfg_.output))) {
      ResultsFile::Append how;
      how.keep_samples = resume_->meta.n_samples;
      how.at_step = static_cast<int64_t>(start_);
      how.n_particles = std::min<int64_t>(cfg_.particles, cfg_.M);
      how.K = cfg_.K;
      how.note = "resumed at step " + std::to_string(start_) + " on " + std::to_string(comm_.size()) +
                 " rank(s) from " + resume_->path;
      out_ = std::make_unique<ResultsFile>(cfg_.output, comm_, run_id_, how);
    } else if (cfg_.output == resume_->original_output) {
      throw ConfigError("results file '" + cfg_.output + "' of the resumed run is missing; pass --output NEW.h5 " +
                        "to continue into a new results file");
    } else {
      out_ = std::make_unique<ResultsFile>(cfg_.output, overwrite_, comm_, cfg_, run_id_);
    }
  }

  // The physics in force from `step` on (physics_at): the loss, the
  // observables' analytic tables and, once the ensemble exists, the learning
  // step and the exchange. Used at the start and at a collective quench, where
  // the counters continue under the new physics.
  void set_physics(uint64_t step) {
    const bool quench = obs_ != nullptr;
    RestartState carried;  // the counters continue under the new physics
    if (quench) carried = local_restart_state(const_parts());
    phys_ = physics_at(cfg_, step);
    loss_ = make_boundary_loss(phys_);
    {
      GrandPotential gp = grand_potential(quench);  // tables only; its neuron copy is freed at scope end
      obs_ = std::make_unique<Observables>(phys_, gp, *loss_);
      gp_tables_ = gp.tables();  // for the checkpoints
      if (!quench) {
        if (root_) {
          char took[96];
          if (gp.restored()) std::snprintf(took, sizeof(took), "loaded from the checkpoint, setup skipped");
          else std::snprintf(took, sizeof(took), "setup %.2f s", gp.setup_seconds());
          log_ << "analytic Omega: mean-field iterations " << gp.iterations() << " (residual " << gp.residual()
               << "), predicted occupied fraction " << gp.predicted_occupancy() << ", sector free energy "
               << gp.sector_method() << "; " << took << "\n" << std::flush;
        }
        if (!resume_) check_start_grid(gp, phys_);  // verify could not use this grid: refused before any file
      } else if (root_) {
        log_ << "[gcnn] quench at step " << step << ": U centre shifted, kappa x " << cfg_.quench_kappa_factor
             << ", mu = " << phys_.mu << "; predicted occupied fraction now " << gp.predicted_occupancy() << "\n"
             << std::flush;
      }
    }
    if (!ens_) return;
    set_dynamics();
    for (RestartComponent* p : parts()) p->read_restart(carried.at(p->restart_name()));
  }

  // The observables' series in the results file and, in a new file, the
  // analytic tables of the physics at the start (write_static needs only
  // the tables, so a restored GrandPotential serves).
  void declare_observables() {
    obs_->declare(*out_);
    if (!out_->appending()) obs_->write_static(*out_, GrandPotential(phys_, comm_, gp_tables_));
  }

  // The analytic tables of phys_: on a resume the checkpoint's, when it has
  // them for this physics (nothing is recomputed); else solved here, as at a
  // start or a quench.
  GrandPotential grand_potential(bool quench) {
    if (resume_ && !quench) {
      std::string note;
      if (auto t = read_grand_potential_tables(resume_->path, phys_, comm_, &note))
        return GrandPotential(phys_, comm_, std::move(*t));
      if (root_) log_ << "[gcnn] " << note << "\n" << std::flush;
    }
    return GrandPotential(phys_, comm_);
  }

  // The components that keep restart state (restart_state.hpp).
  std::vector<RestartComponent*> parts() { return {sweep_.get(), learn_.get(), obs_.get()}; }
  std::vector<const RestartComponent*> const_parts() const { return {sweep_.get(), learn_.get(), obs_.get()}; }

  void set_dynamics() {
    learn_ = make_learning_step(phys_, *loss_);
    sweep_ = std::make_unique<ExchangeSweep>(*ens_, phys_);
  }

  // The state: the checkpoint's, or a fresh one from the seed.
  void attach_ensemble() {
    ens_ = resume_ ? std::move(resume_->ensemble) : std::make_unique<Ensemble>(cfg_, comm_);
    set_dynamics();
    if (!resume_) return;
    try {
      restore_restart_state(resume_->meta.restart, parts(), root_);
    } catch (const std::exception& ex) {  // the same on every rank: the state was broadcast
      throw CheckpointError("checkpoint '" + resume_->path + "': " + ex.what());
    }
  }

  // A tagged minority (docs/model.md §4): the physics stays, only the networks
  // a < round(f M) move. Applied at the start of step quench.step like the
  // collective quench, so a checkpoint at step <= quench.step still displaces
  // on resume and one after it (whose state carries the shift) does not.
  void quench(uint64_t step) {
    const int64_t n_tagged = tagged_networks(cfg_);
    if (n_tagged == 0) return set_physics(step);
    ens_->displace_tagged(n_tagged, cfg_.quench_shift);
    if (root_)
      log_ << "[gcnn] quench at step " << step << ": " << n_tagged << " tagged network(s) (a < " << n_tagged
           << ") displaced by the shift; U, kappa and mu unchanged\n" << std::flush;
  }

  // A signal during setup (Omega, allocation, the first sample: minutes at
  // scale) stops the run with exit 75 and no checkpoint: no step was taken, so
  // the next attempt starts (or resumes) exactly as this one did.
  bool interrupted_in_setup(const char* stage) {
    res_.signal = agreed_signal(comm_);
    if (res_.signal == 0) return false;
    res_.interrupted = true;
    if (root_)
      log_ << "[gcnn] signal " << res_.signal << " (" << strsignal(res_.signal) << ") during setup (" << stage
           << "): stopping before any step; nothing to checkpoint, resubmit to start again\n" << std::flush;
    return true;
  }

  // The particle subsample: networks a_j = floor(j M / n_sub).
  void declare_particles() {
    n_sub_ = std::min<int64_t>(cfg_.particles, cfg_.M);
    if (n_sub_ == 0) return;
    std::vector<int64_t> ids(static_cast<size_t>(n_sub_));
    for (int64_t j = 0; j < n_sub_; ++j) ids[j] = static_cast<int64_t>((static_cast<__int128>(j) * cfg_.M) / n_sub_);
    out_->declare_particles(n_sub_, cfg_.K, ids);
    particle_rows(cfg_, ens_->a_lo(), ens_->a_lo() + ens_->n_local(), n_sub_, j_lo_, j_hi_);
  }

  SampleSummary sample() {
    if (n_sub_ > 0) {
      pbuf_.clear();
      for (int64_t j = j_lo_; j < j_hi_; ++j) {
        const int64_t a = static_cast<int64_t>((static_cast<__int128>(j) * cfg_.M) / n_sub_);
        const double* q = ens_->q(a - ens_->a_lo());
        pbuf_.insert(pbuf_.end(), q, q + cfg_.K);
      }
      out_->put_particles(j_lo_, pbuf_);
    }
    return obs_->sample(*ens_, sweep_->counters(), *learn_, *out_);
  }

  void checkpoint(uint64_t step) {
    PhaseTimer::Scope timed(timer_, Phase::Checkpoint);
    const double tc = MPI_Wtime();
    out_->flush();  // the samples the checkpoint counts are on disk first
    CheckpointMeta m;
    m.step = step;
    m.run_id = run_id_;
    m.config_ini = config_echo(cfg_);
    m.digest = compute_digest(*ens_).text();
    m.n_samples = out_->samples();
    m.restart = global_restart_state(const_parts(), comm_);
    m.grand_potential = &gp_tables_;
    const std::string path = store_.path_for(step);
    std::string hints;
    const double bytes = write_checkpoint(path, *ens_, m, cfg_, &hints);
    store_.prune();
    last_checkpoint_ = step;
    const double dt = MPI_Wtime() - tc;
    if (root_) {
      if (!hints_logged_) log_ << "[gcnn] checkpoint MPI-IO hints in use: " << (hints.empty() ? "(none reported)" : hints) << "\n";
      hints_logged_ = true;
      char b[512];
      std::snprintf(b, sizeof(b), "[gcnn] checkpoint step %llu -> %s (%.1f MB in %.2fs, %.0f MB/s)\n",
                    static_cast<unsigned long long>(step), path.c_str(), bytes / 1e6, dt, bytes / 1e6 / dt);
      log_ << b << std::flush;
    }
  }

  // One learning step s -> s + 1: quench, learning, exchange, sample.
  void step(uint64_t s) {
    if (cfg_.quench_step > 0 && s == static_cast<uint64_t>(cfg_.quench_step)) quench(s);
    neuron_updates_ += static_cast<int64_t>(ens_->active().size());
    // The current at the coming sample is measured over this one step.
    const bool sampled = sample_due(cfg_, s + 1);
    if (sampled) {
      PhaseTimer::Scope timed(timer_, Phase::Observables);
      obs_->remember_q_before_step(*ens_);
    }
    {
      PhaseTimer::Scope timed(timer_, Phase::Learning);
      learn_->advance(*ens_, s);
    }
    ens_->set_step(s + 1);
    if (cfg_.exchange_every > 0 && (s + 1) % static_cast<uint64_t>(cfg_.exchange_every) == 0) {
      PhaseTimer::Scope timed(timer_, Phase::Exchange);
      sweep_->run(*ens_, s + 1);
    }
    if (sampled) {
      PhaseTimer::Scope timed(timer_, Phase::Observables);
      last_ = sample();
    }
  }

  // The step loop with its checkpoints, signals and progress lines.
  void advance() {
    RunControl control(cfg_, comm_);
    t_start_ = MPI_Wtime();
    timer_.add(Phase::Setup, t_start_ - t0_);
    double t_last_print = t_start_;
    const uint64_t S = static_cast<uint64_t>(cfg_.steps);
    if (root_ && start_ >= S)
      log_ << "the run is already complete at step " << start_ << " (run.steps = " << S << ")\n";
    for (uint64_t s = start_; s < S; ++s) {
      step(s);
      const RunControl::Decision d = control.after_step(s + 1, S);
      if (d.checkpoint) {
        checkpoint(s + 1);
        control.checkpoint_written();
      }
      if (d.stop) {
        res_.interrupted = true;
        res_.signal = d.signal;
        if (root_ && d.signal != 0)
          log_ << "[gcnn] signal " << d.signal << " (" << strsignal(d.signal) << "): checkpointed at step " << s + 1
               << "; continue with --resume latest\n" << std::flush;
        else if (root_)
          log_ << "[gcnn] " << d.why << ": checkpointed at step " << s + 1 << "; continue with --resume latest\n"
               << std::flush;
        break;
      }
      const double now = MPI_Wtime();
      if (root_ && cfg_.progress_seconds > 0 && now - t_last_print >= cfg_.progress_seconds) {
        t_last_print = now;
        progress(s + 1, now);
      }
    }
    // A run that reached its end but whose final checkpoint is missing (e.g.
    // resumed from an earlier one with at_end set) gets it here.
    if (!res_.interrupted && cfg_.checkpoint_at_end && ens_->step() == S && last_checkpoint_ != S) checkpoint(S);
  }

  void progress(uint64_t done, double now) {
    const uint64_t S = static_cast<uint64_t>(cfg_.steps);
    const double rate = static_cast<double>(done - start_) / (now - t_start_);
    char b[320];
    std::snprintf(b, sizeof(b),
                  "[gcnn] step %llu/%llu (%.1f%%)  t=%.4g  %.0f steps/s  ETA %s  <N>=%.2f  reservoir %.1f%%  "
                  "acc join %.3f leave %.3f%s\n",
                  static_cast<unsigned long long>(done), static_cast<unsigned long long>(S),
                  100.0 * static_cast<double>(done) / static_cast<double>(S), static_cast<double>(done) * cfg_.eta,
                  rate, fmt_seconds(static_cast<double>(S - done) / rate).c_str(), last_.mean_N,
                  100.0 * last_.reservoir_fraction, last_.join_acceptance, last_.leave_acceptance,
                  mala_text(*learn_, last_).c_str());
    log_ << b << std::flush;
  }

  // The digest, the results file's closing group and the summary.
  void finish() {
    const double t_end = MPI_Wtime();
    res_.digest = compute_digest(*ens_);
    res_.wall_seconds = t_end - t0_;
    const int64_t total_updates = comm_.sum(neuron_updates_);
    res_.neuron_updates_per_second = total_updates / std::max(1e-9, t_end - t_start_);
    const std::string timing = timer_.table(comm_, res_.wall_seconds);
    if (root_) log_ << timing << std::flush;
    if (res_.interrupted) {
      out_->flush();
      return;
    }
    out_->write_digest(res_.digest.text(), static_cast<int64_t>(res_.digest.step));
    out_->flush();
    if (root_) summary();
  }

  void summary() {
    char b[512];
    std::snprintf(b, sizeof(b),
                  "---- summary ----\n"
                  "steps %llu (t = %.4g) in %s wall, %.3g neuron-updates/s on %d rank(s)\n"
                  "<N> = %.3f, reservoir %.2f%% of R, join acc %.3f, leave acc %.3f\n"
                  "Delta F = F_{N+1} - F_N: %.4f +- %.4f (mu = %.4f)\n"
                  "coherence at hbar_mu: sector %.4f, set %.4f\n"
                  "results: %s (%lld samples)\n"
                  "digest %s\n",
                  static_cast<unsigned long long>(cfg_.steps), static_cast<double>(cfg_.steps) * cfg_.eta,
                  fmt_seconds(res_.wall_seconds).c_str(), res_.neuron_updates_per_second, comm_.size(), last_.mean_N,
                  100.0 * last_.reservoir_fraction, last_.join_acceptance, last_.leave_acceptance,
                  last_.delta_F_mean, last_.delta_F_std, cfg_.mu, last_.coherence_sector_at_hbar_mu,
                  last_.coherence_set_at_hbar_mu, cfg_.output.c_str(), static_cast<long long>(out_->samples()),
                  res_.digest.text().c_str());
    log_ << b << std::flush;
  }

  const Config& cfg_;
  const Comm& comm_;
  std::ostream& log_;
  RunLog* log_file_;
  const bool overwrite_;
  Resume* resume_;
  const bool root_;
  const double t0_;
  const std::string run_id_;
  const uint64_t start_;
  CheckpointStore store_;
  std::unique_ptr<RunLock> output_lock_, checkpoint_lock_;  // released after the results file is closed
  uint64_t last_checkpoint_;
  bool hints_logged_ = false;  // the first checkpoint echoes its MPI-IO hints
  Config phys_;
  std::unique_ptr<BoundaryLoss> loss_;
  std::unique_ptr<ResultsFile> out_;
  std::unique_ptr<Observables> obs_;
  GrandPotentialTables gp_tables_;  // of the physics in force, stored in every checkpoint
  std::unique_ptr<Ensemble> ens_;
  std::unique_ptr<LearningStep> learn_;
  std::unique_ptr<ExchangeSweep> sweep_;
  int64_t n_sub_ = 0, j_lo_ = 0, j_hi_ = 0;
  std::vector<double> pbuf_;
  SampleSummary last_;
  double t_start_ = 0;
  int64_t neuron_updates_ = 0;
  PhaseTimer timer_;
  RunResult res_;
};

}  // namespace

RunResult run_simulation(const Config& cfg, const Comm& comm, bool overwrite, std::ostream& log, Resume* resume,
                         RunLog* log_file) {
  return Run(cfg, comm, overwrite, log, resume, log_file).run();
}

}  // namespace gcnn
