// docs/model.md §5 / §6 item 4b, unit level: the `widom` series. For one network
// (M = 1, s_i = 0, exact e_N tables) with q frozen at a cell centre (where the
// interpolated table is the table), the exchange samples N from
// P(N|q) ∝ e_N(b) e^{N mu/T}, and e^{-(Delta F_N - mu)/T} = P(N+1|q)/P(N|q).
// Its mean over N is therefore exactly sum_N P(N+1|q) = 1 - P(0|q): the Widom
// identity -T ln<e^{-Delta F/T}> = mu holds up to -T ln(1 - P(0)). A dilute
// network (<N> ~ 1.5, P(0) ~ 0.2) makes that correction visible, so the test
// also shows the naive mean = 1 is rejected. Error from batch means.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "gcnn/h5.hpp"
#include "gcnn/simulation.hpp"
#include "test_util.hpp"

namespace {
using namespace gcnn;

TEST(Widom, MeanInsertionFactorIsOneMinusTheEmptyProbability) {
  Comm comm;
  const std::string path = "test_widom_np" + std::to_string(comm.size()) + ".h5";
  // grid.n = 10 on [-2.5, 2.5): q = 0.25 is the centre of cell 5 (a grid for
  // binning one frozen network, not for verify's solve: grid.check off)
  const auto cfg = test::config({{"model.M", "1"}, {"model.rho", "64"}, {"model.mu", "-4.4"},
                                 {"model.sigma_w", "0.5"}, {"model.sigma_c", "0.5"}, {"learning.mode", "frozen"},
                                 {"init.q_center", "0.25"}, {"init.q_width", "0"}, {"grid.n", "10"}, {"grid.check", "false"},
                                 {"exchange.every", "1"}, {"run.steps", "30000"}, {"run.seed", "777"},
                                 {"observables.sample_every", "10"}, {"observables.hbar_n", "2"},
                                 {"checkpoint.at_end", "false"}, {"checkpoint.dir", path + ".ckpt"},
                                 {"output.file", path}});
  std::ostringstream log;
  run_simulation(cfg, comm, true, log);
  comm.barrier();
  if (!comm.root()) return;
  h5::Handle f = h5::open_file(path, false, MPI_COMM_SELF);
  ASSERT_EQ(h5::read_attr_string(h5::open_group(f, "grand_potential"), "sector_method").rfind("exact", 0), 0u);
  std::vector<hsize_t> dims;
  const auto log_eN = h5::read_dataset<double>(f, "grand_potential/log_eN", &dims);
  const size_t NT = dims[1];
  ASSERT_GT(NT, static_cast<size_t>(cfg.R()) + 1);  // every N has its F_{N+1}
  double z = 0;  // sum_N e_N e^{N mu/T} in cell 5
  for (size_t n = 0; n <= static_cast<size_t>(cfg.R()); ++n)
    z += std::exp(log_eN[5 * NT + n] + static_cast<double>(n) * cfg.mu / cfg.T);
  const double expect = 1.0 - 1.0 / z;

  const auto w = h5::read_dataset<double>(f, "observables/widom/value", &dims);
  const auto count = h5::read_dataset<int64_t>(f, "observables/widom_count/value");
  const size_t S = dims[0];
  const int B = 20;
  const size_t per = (S - 1) / B;  // sample 0 (the initial placement) left out
  std::vector<double> batch(B, 0.0);
  for (int b = 0; b < B; ++b) {
    for (size_t i = 0; i < per; ++i) {
      const size_t s = 1 + static_cast<size_t>(b) * per + i;
      ASSERT_EQ(count[s], 1);
      batch[b] += w[2 * s] / static_cast<double>(per);
    }
  }
  const auto me = test::batch_means(batch);
  std::cout << "widom mean " << me.mean << " +- " << me.err << ", expected 1 - P(0) = " << expect << "\n";
  EXPECT_LT(std::fabs(me.mean - expect), 5 * me.err);
  EXPECT_GT(std::fabs(me.mean - 1.0), 5 * me.err);  // the P(0) correction is seen
}

}  // namespace
