// The proposers' all-to-all counts movers, not bytes (mover_exchange.hpp):
// MPI-3 counts and displacements are int, and in bytes they overflowed at
// 2^31 bytes. A mover on the wire is its id (kWireBytes = 8). mover_counts_to_mpi turns 64-bit per-rank mover counts into
// MPI counts and displacements; these cases are above 2^31 bytes (a real
// exchange of that size would need tens of GB, so only the arithmetic runs).
#include <gtest/gtest.h>

#include <climits>
#include <stdexcept>
#include <vector>

#include "gcnn/mover_exchange.hpp"
#include "gcnn/neuron_model.hpp"
#include <cstring>

namespace {
using namespace gcnn;

constexpr int64_t kMoverBytes = kWireBytes;
static_assert(kWireBytes == 8, "a proposer travels as its id");

TEST(MoverCounts, CountsAndDisplacementsInMoversAboveTwoToThe31Bytes) {
  // R = 1e9 on 2 ranks sends ~1e8 movers per rank; a peer receiving 3e8
  // movers gets 2.4e9 bytes, beyond int in bytes.
  const std::vector<int64_t> movers = {100'000'000, 0, 300'000'000, 7};
  const int P = static_cast<int>(movers.size());
  std::vector<int> counts(P), displs(P);
  const int64_t total = mover_counts_to_mpi(movers.data(), P, counts.data(), displs.data(), "test");
  EXPECT_EQ(total, 400'000'007);
  EXPECT_GT(movers[2] * kMoverBytes, int64_t{INT_MAX}) << "the case must overflow a byte count";
  EXPECT_GT(total * kMoverBytes, int64_t{1} << 31);
  int64_t prefix = 0;
  for (int p = 0; p < P; ++p) {
    EXPECT_EQ(counts[p], movers[p]) << "rank " << p;
    EXPECT_EQ(displs[p], prefix) << "rank " << p;
    prefix += movers[p];
  }
}

TEST(MoverCounts, TheLargestCountsThatFitAreAccepted) {
  // The last displacement may be INT_MAX and the total beyond it: MPI only
  // sees counts and displacements (the buffer is sized in size_t).
  const std::vector<int64_t> movers = {INT_MAX - 5, 5, INT_MAX};
  std::vector<int> counts(3), displs(3);
  const int64_t total = mover_counts_to_mpi(movers.data(), 3, counts.data(), displs.data(), "test");
  EXPECT_EQ(total, 2 * int64_t{INT_MAX});
  EXPECT_EQ(counts[2], INT_MAX);
  EXPECT_EQ(displs[1], INT_MAX - 5);
  EXPECT_EQ(displs[2], INT_MAX);
}

TEST(MoverCounts, CountsBeyondIntAreRefusedWithAClearError) {
  std::vector<int> counts(3), displs(3);
  const std::vector<int64_t> big_count = {1, int64_t{INT_MAX} + 1, 0};
  EXPECT_THROW(mover_counts_to_mpi(big_count.data(), 3, counts.data(), displs.data(), "test"), std::overflow_error);
  const std::vector<int64_t> big_displ = {INT_MAX, 1, 1};  // displs[2] = 2^31
  try {
    mover_counts_to_mpi(big_displ.data(), 3, counts.data(), displs.data(), "exchange sweep: movers sent");
    ADD_FAILURE() << "a displacement of 2^31 movers was accepted";
  } catch (const std::overflow_error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("exchange sweep: movers sent"), std::string::npos) << msg;
    EXPECT_NE(msg.find("displacement for rank 2"), std::string::npos) << msg;
  }
}

// The receiver rebuilds a proposer's theta(id) from its id alone, in a vector
// loop (fastmath's Box-Muller), falling back to draw_neuron_params where the
// float rounding is not certain: the result must be draw_neuron_params'
// floats bit for bit for every id, and the fallback rare (it is the slow
// path). 3e5 ids and three laws of the parameters, with a bias scale far
// from 1.
TEST(MoverCounts, ThetaRebuiltFromTheIdIsTheDrawnOneBitForBit) {
  const CounterRng rng(20260412);
  const double laws[3][2] = {{1.0, 1.0}, {0.3, 2.5}, {3.0, 1e-3}};
  for (const auto& law : laws) {
    int64_t unsure = 0;
    const int64_t n = 300'000;
    for (int64_t i = 0; i < n; ++i) {
      const uint64_t id = static_cast<uint64_t>(i) * 2654435761u;
      NeuronParams fast{};
      const bool sure = draw_neuron_params_fast(rng, id, law[0], law[1], fast);
      const NeuronParams drawn = draw_neuron_params(rng, id, law[0], law[1]);
      unsure += !sure;
      if (sure) {
        ASSERT_EQ(std::memcmp(&fast, &drawn, sizeof(NeuronParams)), 0)
            << "id " << id << ", sigma_w " << law[0] << ", sigma_c " << law[1];
      }
    }
    EXPECT_LT(unsure, n / 100) << "the libm fallback should be rare";
  }
}

}  // namespace
