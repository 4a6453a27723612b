#pragma once
// Where the neurons sit after an exchange sweep: the data movement behind the
// Metropolis rules of exchange_rule.hpp. None of it changes a decision; it
// only has to produce the one canonical layout (each network's neurons in id
// order, the reservoir in a fixed order) whatever path it takes.
//
// A sweep's layout work, in order:
//   route_proposers  reservoir proposers to the send buffer (by destination
//                    rank), to the local joiners, or kept in the reservoir
//                    (compacted in place);
//   place_arrivals   arrived proposers: accepted ones join, rejected ones
//                    stay in this rank's reservoir;
//   group_joiners    the joiners grouped by network;
//   rebuild          per network, stayers and leavers split, the joiners
//                    merged into the stayers in id order, the leavers
//                    appended to the reservoir; the new arrays swapped in.
//
// rebuild has two paths that give the same layout: Vector (production:
// AVX-512 register compression for the split where the build has it, and
// counting in registers to order and merge groups of up to 64 joiners) and
// Scalar (one neuron at a time, std::sort and a plain merge), selectable at
// run time so that a test can run both on the same input in one build.
#include <cstdint>
#include <vector>

#include "gcnn/buffer.hpp"
#include "gcnn/ensemble.hpp"

namespace gcnn {

class MoverExchange;

enum class LayoutPath { Vector, Scalar };

class NeuronLayout {
 public:
  explicit NeuronLayout(const Ensemble& e);

  void set_path(LayoutPath p) { path_ = p; }
  LayoutPath path() const { return path_; }
  // True where the Vector path uses AVX-512 compression (else its split is
  // the scalar loop, and only the ordering and merge differ between paths).
  static bool has_avx512_split();

  // Reservoir neuron r proposed to join network target[r] and goes to
  // dest[r]: another rank (it travels, its id into ex's send buffer), this
  // rank (a local joiner), or P (rejected here: it stays in the reservoir).
  // Prepares ex's send buffer; the staying neurons are compacted in place.
  void route_proposers(NeuronBlock& res, const int64_t* target, const int* dest, MoverExchange& ex);
  // The arrived proposers, rebuilt from their ids (network, id, parameters):
  // those with joins[r] become joiners, the others stay in this rank's
  // reservoir. `leaving` leavers will be appended by rebuild.
  void place_arrivals(NeuronBlock& res, const Buffer<Mover>& arrivals, const uint8_t* joins, int64_t leaving);
  // Joiners grouped by network (CSR); staging is scratch of any size.
  void group_joiners(Buffer<Mover>& staging);
  // The networks' new neuron arrays from the leave flags of the active
  // neurons (`leaving` of them set) and the grouped joiners; swaps them in.
  void rebuild(Ensemble& e, const uint8_t* leave, int64_t leaving);

  int64_t joiners() const { return static_cast<int64_t>(joiners_.size()); }
  double scratch_bytes() const;

  // Slots rebuild() may write past its outputs (split() on the Vector path).
  static constexpr size_t kSlack = 8;

 private:
  template <int K> void route(NeuronBlock& res, const int64_t* target, const int* dest, MoverExchange& ex);
  template <int K, LayoutPath Path> void rebuild_networks(Ensemble& e, const uint8_t* leave, int64_t leaving);

  int K_, P_, me_;
  int64_t a_lo_, n_local_;
  LayoutPath path_ = LayoutPath::Vector;
  size_t kept_ = 0;  // proposers route_proposers() kept in the reservoir
  std::vector<int64_t> bin_hist_, bin_fill_;  // route(): P + 1 bins (4 histograms)
  std::vector<int64_t*> bin_base_;
  std::vector<uint8_t> bin_travels_;  // 1 for the bins of other ranks
  Buffer<Mover> joiners_;
  std::vector<int64_t> join_count_, join_start_;
  Buffer<int64_t> jkey_, jtmp_, jrank_, jdst_, sdst_;  // per-network merge scratch
  Buffer<uint32_t> jord_;
};

}  // namespace gcnn
