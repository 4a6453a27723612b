#pragma once
// One grand canonical exchange sweep (docs/model.md §2): every neuron makes one
// Metropolis move, all at once, given the current q.
//   network neuron in a:  leave with prob min(1, e^{(f_i(q_a) - mu)/T})
//   reservoir neuron:     pick a uniformly, join with prob min(1, e^{-(f_i(q_a) - mu)/T})
// The rules themselves are ExchangeRule (exchange_rule.hpp). A join is
// decided on the rank that owns a, so the only communication is one
// all-to-all carrying each proposing reservoir neuron's id to that rank
// (MoverExchange, non-blocking: it travels while the leave tests run), where
// its network and parameters are recomputed from the id.
// A rejected proposer stays in the reservoir on the rank it reached; this
// keeps the reservoir spread like the networks and costs no second message.
// Moving the neurons into their new places is NeuronLayout's job.
#include <cstdint>
#include <vector>

#include "gcnn/ensemble.hpp"
#include "gcnn/exchange_rule.hpp"
#include "gcnn/mover_exchange.hpp"
#include "gcnn/neuron_layout.hpp"
#include "gcnn/restart_state.hpp"

namespace gcnn {

struct ExchangeCounters {
  int64_t join_proposed = 0, join_accepted = 0, leave_proposed = 0, leave_accepted = 0;
  int64_t moved_bytes = 0;  // bytes of movers this rank sent (kWireBytes each)
};

// Wall seconds spent in each phase on this rank (for `gcnn bench`).
struct ExchangeTiming {
  double leave = 0, propose = 0, communicate = 0, arrive = 0, rebuild = 0;
};

class ExchangeSweep final : public RestartComponent {
 public:
  // `physics`: the [model] parameters in force (T, mu; after a quench, the
  // quenched ones), fixed for the sweep's life: a quench builds a new sweep.
  // `route`: how proposers travel (mover_exchange.hpp; by default the
  // machine's nodes, or GCNN_RANKS_PER_NODE); it changes no result.
  ExchangeSweep(const Ensemble& e, const ModelParams& physics,
                ExchangeTopology route = ExchangeTopology::from_environment());
  // Runs the sweep keyed by `step`, rebuilds the layout and checks Sum N + N_res = R.
  void run(Ensemble& e, uint64_t step);
  const ExchangeCounters& counters() const { return counters_; }  // since construction
  ExchangeCounters& counters() { return counters_; }
  const ExchangeTiming& timing() const { return timing_; }
  // Restart state "exchange": the join and leave counters.
  std::string restart_name() const override { return "exchange"; }
  RestartRecord write_restart() const override;
  void read_restart(const RestartRecord& r) override;
  static std::string check_restart(const RestartState& all);
  // Bytes of scratch this sweep holds (capacities): movers in flight, joiners,
  // per-neuron decisions. Proportional to the neurons that move.
  double scratch_bytes() const;
  // The layout path (tests compare them; production uses the default, Vector).
  void set_layout_path(LayoutPath p) { layout_.set_path(p); }
  // The proposers' exchange (its route, for tests and bench).
  const MoverExchange& exchange() const { return movers_; }

 private:
  template <int K> void propose(Ensemble& e, uint64_t step);
  template <int K> void decide_leaves(const Ensemble& e, uint64_t step);
  template <int K> void decide_arrivals(const Ensemble& e, uint64_t step);

  ExchangeRule rule_;
  MoverExchange movers_;
  NeuronLayout layout_;
  ExchangeCounters counters_;
  ExchangeTiming timing_;
  int64_t leaving_ = 0;  // leavers of the current sweep (set by decide_leaves)
  // Per-neuron decisions, reused every sweep: no allocation once warm.
  Buffer<uint8_t> leave_, joins_;
  Buffer<Mover> arrivals_;  // the arrived ids, rebuilt; then the joiners' grouping scratch
  Buffer<int64_t> target_;
  Buffer<int> dest_;
  static constexpr int64_t kChunk = 2048;
  std::vector<double> chunk_ = std::vector<double>(kChunk);
};

}  // namespace gcnn
