#pragma once
// Ensemble observables of docs/model.md §5, sampled every `sample_every` steps.
// Integer histograms are reduced exactly; floating sums agree across rank
// counts to rounding (~1e-12 relative), as §7 allows.
#include <array>
#include <string>
#include <vector>

#include "gcnn/boundary_loss.hpp"
#include "gcnn/ensemble.hpp"
#include "gcnn/exchange_sweep.hpp"
#include "gcnn/grand_potential.hpp"
#include "gcnn/grid.hpp"
#include "gcnn/learning_step.hpp"
#include "gcnn/restart_state.hpp"
#include "gcnn/results_file.hpp"

namespace gcnn {

// What rank 0 knows after a sample; also feeds the progress line.
struct SampleSummary {
  int64_t step = 0;
  double mean_N = 0, reservoir_fraction = 0, join_acceptance = 0, leave_acceptance = 0, mala_acceptance = 0;
  double coherence_sector_at_hbar_mu = 0, coherence_set_at_hbar_mu = 0, delta_F_mean = 0, delta_F_std = 0;
  int64_t q_outside = 0;
};

class Observables final : public RestartComponent {
 public:
  // The model in force, the learning step (current), the grid and the [observables] settings.
  using Params = Sections<ModelParams, LearningParams, GridParams, ObservablesParams>;
  Observables(const Params& c, const GrandPotential& gp, const BoundaryLoss& loss);
  void declare(ResultsFile& out) const;           // series + static tables
  void write_static(ResultsFile& out, const GrandPotential& gp) const;
  // Collective: measures, reduces to rank 0 and appends one sample.
  SampleSummary sample(const Ensemble& e, const ExchangeCounters& ex, const LearningStep& ls, ResultsFile& out);
  // Local, no communication: keeps this rank's q before the learning step
  // that leads to a sample, so that the sample can measure each network's
  // displacement over that one step (the probability current, docs/model.md §5).
  // Called in the same loop iteration as the sample, so a restart needs no
  // extra checkpoint state.
  void remember_q_before_step(const Ensemble& e);

  // Restart state "observables": the exchange and learning counters at the
  // previous sample (acceptance rates are differences between samples).
  std::string restart_name() const override { return "observables"; }
  RestartRecord write_restart() const override;
  void read_restart(const RestartRecord& r) override;
  static std::string check_restart(const RestartState& all);


 private:
  Params cfg_;
  Grid grid_;
  const BoundaryLoss& loss_;
  std::vector<double> omega_, log_eN_;  // copies of the analytic tables
  int64_t NT_ = 0;
  std::vector<double> hbar_;
  double hbar_mu_ = 0;
  int ihbar_mu_ = 0;
  std::vector<double> dF_edges_;
  std::vector<std::string> particle_names_;
  // state between samples (for acceptance rates)
  ExchangeCounters last_ex_;
  int64_t last_prop_ = 0, last_acc_ = 0;
  // n_given_q: fine cell -> pooled cell per axis (pool_[k][i]), pooled cells per axis
  std::vector<std::vector<int64_t>> pool_;
  std::vector<int64_t> pooled_n_;
  int64_t pooled_size_ = 1;
  int64_t pooled_cell(int64_t fine) const;
  // The stages of sample() (observables.cpp).
  struct Tally;
  Tally tally();
  void tally_network(const Ensemble& e, int64_t la, const Tally& t) const;
  void tally_acceptance(const ExchangeCounters& ex, const LearningStep& ls, int64_t* cnt);
  void reduce_to_root(const Comm& comm);
  void write_occupation(const Tally& t, ResultsFile& out, SampleSummary& sum) const;
  void write_free_energies(const Tally& t, ResultsFile& out, SampleSummary& sum) const;
  void write_coherence(const Tally& t, ResultsFile& out, SampleSummary& sum) const;
  // q of the local networks before the last learning step (current); valid
  // when q_before_step_ + 1 equals the sampled step
  std::vector<double> q_before_;
  uint64_t q_before_step_ = ~uint64_t{0};
  void add_current(const Ensemble& e, double* cur, int64_t& counted) const;
  // scratch
  std::vector<int64_t> ihist_;
  std::vector<double> dsum_, zsec_, zset_;
};

}  // namespace gcnn
