#pragma once
// One grand canonical exchange sweep (MODEL.md §2): every neuron makes one
// Metropolis move, all at once, given the current q.
//   network neuron in a:  leave with prob min(1, e^{(f_i(q_a) - mu)/T})
//   reservoir neuron:     pick a uniformly, join with prob min(1, e^{-(f_i(q_a) - mu)/T})
// A join is decided on the rank that owns a, so the only communication is
// one all-to-all carrying each proposing reservoir neuron to that rank
// (non-blocking: it travels while the leave tests run).
// A rejected proposer stays in the reservoir on the rank it reached; this
// keeps the reservoir spread like the networks and costs no second message.
#include <cstdint>
#include <vector>

#include "gcnn/ensemble.hpp"

namespace gcnn {

struct ExchangeCounters {
  int64_t join_proposed = 0, join_accepted = 0, leave_proposed = 0, leave_accepted = 0;
  int64_t moved_bytes = 0;  // bytes this rank sent in all-to-alls
};

// Wall seconds spent in each phase on this rank (for `gcnn bench`).
struct ExchangeTiming {
  double leave = 0, propose = 0, communicate = 0, arrive = 0, rebuild = 0;
};

class ExchangeSweep {
 public:
  // `physics`: the [model] parameters in force (T, mu; after a quench, the
  // quenched ones), fixed for the sweep's life: a quench builds a new sweep.
  ExchangeSweep(const Ensemble& e, const ModelParams& physics);
  // Runs the sweep keyed by `step`, rebuilds the layout and checks Sum N + N_res = R.
  void run(Ensemble& e, uint64_t step);
  const ExchangeCounters& counters() const { return counters_; }  // since construction
  ExchangeCounters& counters() { return counters_; }
  const ExchangeTiming& timing() const { return timing_; }
  // Bytes of scratch this sweep holds (capacities): movers in flight, joiners,
  // per-neuron decisions. Proportional to the neurons that move.
  double scratch_bytes() const;

 private:
  template <int K> void decide_leaves(Ensemble& e, uint64_t step);
  template <int K> void propose(Ensemble& e, uint64_t step);
  template <int K> void decide_arrivals(const Ensemble& e, uint64_t step);
  void group_joiners(const Ensemble& e);
  template <int K> void rebuild(Ensemble& e);

  double inv_T_, exp_minus_mu_T_;
  ExchangeCounters counters_;
  ExchangeTiming timing_;
  int64_t leaving_ = 0;  // leavers of the current sweep (set by decide_leaves)
  MPI_Request pending_ = MPI_REQUEST_NULL;  // the proposers' all-to-all, overlapped with the leave tests
  size_t kept_ = 0;      // rejected local proposers compacted by propose
  // Scratch reused every sweep: no allocation once warm.
  Buffer<uint8_t> leave_, arrived_ok_;
  Buffer<int64_t> target_;
  static constexpr int64_t kChunk = 2048;
  static constexpr size_t kSlack = 8;  // slots rebuild() may write past its outputs (split())
  std::vector<double> chunk_ = std::vector<double>(kChunk);
  Buffer<int> dest_;
  std::vector<int> send_counts_, recv_counts_, send_displs_, recv_displs_;
  std::vector<int64_t> bin_hist_, bin_fill_;  // propose(): P + 1 bins (4 histograms)
  std::vector<Mover*> bin_base_;
  Buffer<Mover> send_, recv_, joiners_;  // send_ also stages the joiners' grouping
  std::vector<int64_t> join_count_, join_start_;
  Buffer<int64_t> jkey_, jtmp_, jrank_, jdst_, sdst_;  // per-network merge scratch
  Buffer<uint32_t> jord_;
};

}  // namespace gcnn
