// The results file has the documented layout (README "Results file schema")
// and its integer observables are exact: every sample's q histogram plus the
// out-of-grid count is M, the N histogram sums to M and
// sum_N N n(N) + reservoir = R when no network exceeds n_max.
#include <gtest/gtest.h>

#include <sstream>

#include "gcnn/h5.hpp"
#include "gcnn/h5md.hpp"
#include "gcnn/simulation.hpp"
#include "test_util.hpp"

namespace {
using namespace gcnn;

TEST(ResultsFile, HasTheDocumentedLayoutAndExactCounts) {
  Comm comm;
  const std::string path = "test_results_np" + std::to_string(comm.size()) + ".h5";
  const auto cfg = test::config({{"model.M", "50"}, {"model.rho", "4"}, {"model.K", "2"}, {"grid.n", "6,7"},
                                 {"run.steps", "40"}, {"observables.sample_every", "10"},
                                 {"observables.particles", "7"}, {"output.file", path}, {"observables.hbar_n", "5"},
                                 {"observables.nq_cells", "4"}});
  std::ostringstream log;
  const RunResult r = run_simulation(cfg, comm, true, log);
  comm.barrier();
  if (!comm.root()) return;
  h5::Handle f = h5::open_file(path, false, MPI_COMM_SELF);
  h5::Handle h5md = h5::open_group(f, "h5md");
  EXPECT_EQ(h5::read_attr_string(h5::open_group(h5md, "creator"), "name"), "gcnn");
  h5::Handle par = h5::open_group(f, "parameters");
  EXPECT_EQ(h5::read_attr_int(par, "model.M"), 50);
  EXPECT_DOUBLE_EQ(h5::read_attr_double(par, "model.mu"), cfg.mu);
  EXPECT_EQ(h5::read_attr_int(par, "n_ranks"), comm.size());
  EXPECT_FALSE(h5::read_attr_string(par, "git_sha").empty());
  EXPECT_EQ(h5::read_attr_string(par, "run_id").size(), 16u);
  EXPECT_EQ(h5::read_attr_string(h5::open_group(par, "units"), "model.T"), "energy");

  for (const char* name : {"q_histogram", "q_outside", "n_histogram", "reservoir", "occupied_fraction",
                           "join_acceptance", "leave_acceptance", "N", "loss", "F_set", "omega", "delta_F",
                           "delta_F_histogram", "coherence_sector", "coherence_set", "coherence_hbar_mu_over_n",
                           "psi_ensemble", "widom", "widom_count", "n_given_q", "phase_field", "current",
                           "current_samples"}) {
    h5::Handle g = h5::open_group(f, std::string("observables/") + name);
    const auto steps = h5::read_dataset<int64_t>(g, "step");
    EXPECT_EQ(steps, (std::vector<int64_t>{0, 10, 20, 30, 40})) << name;
    EXPECT_EQ(h5::read_dataset<double>(g, "time").back(), 40 * cfg.eta) << name;
    h5::Handle v(H5Dopen2(g, "value", H5P_DEFAULT), name);
    // a unit, or one per column where the columns' units differ
    EXPECT_TRUE(H5Aexists(v, "unit") > 0 || H5Aexists(v, "column_units") > 0) << name;
    if (H5Aexists(v, "unit") > 0) {
      EXPECT_TRUE(h5md::valid_unit(h5::read_attr_string(v, "unit"))) << name;
    }
  }
  // H5MD: the clock is an element (its value is the time), the particles have a box
  EXPECT_EQ(h5::read_dataset<double>(f, "observables/clock/value"), h5::read_dataset<double>(f, "observables/clock/time"));
  h5::Handle box = h5::open_group(f, "particles/networks/box");
  EXPECT_EQ(h5::read_attr_int(box, "dimension"), 2);
  EXPECT_EQ(h5::read_attr_int_vector(h5::open_group(f, "h5md/modules/units"), "version"), (std::vector<int64_t>{1, 0}));
  std::vector<hsize_t> dims;
  const auto qh = h5::read_dataset<int64_t>(f, "observables/q_histogram/value", &dims);
  ASSERT_EQ(dims, (std::vector<hsize_t>{5, 6, 7}));
  const auto out = h5::read_dataset<int64_t>(f, "observables/q_outside/value");
  const auto nh = h5::read_dataset<int64_t>(f, "observables/n_histogram/value", &dims);
  const auto res = h5::read_dataset<int64_t>(f, "observables/reservoir/value");
  const size_t nb = dims[1];
  for (size_t s = 0; s < 5; ++s) {
    int64_t sum = out[s], nsum = 0, neurons = res[s];
    for (size_t g = 0; g < 42; ++g) sum += qh[s * 42 + g];
    for (size_t n = 0; n < nb; ++n) {
      nsum += nh[s * nb + n];
      neurons += static_cast<int64_t>(n) * nh[s * nb + n];
    }
    EXPECT_EQ(sum, 50) << "sample " << s;
    EXPECT_EQ(nsum, 50) << "sample " << s;
    if (nh[s * nb + nb - 1] == 0) {
      EXPECT_EQ(neurons, cfg.R()) << "sample " << s;
    }
  }
  // n_given_q is q_histogram x n_histogram pooled by the documented map:
  // 6 and 7 fine cells into 4 blocks each, fine cell i in block floor(4 i / n)
  const auto nq = h5::read_dataset<int64_t>(f, "observables/n_given_q/value", &dims);
  ASSERT_EQ(dims, (std::vector<hsize_t>{5, 4, 4, nb}));
  h5::Handle nqv(H5Dopen2(f, "observables/n_given_q/value", H5P_DEFAULT), "n_given_q");
  EXPECT_EQ(h5::read_attr_int_vector(nqv, "pooled_n"), (std::vector<int64_t>{4, 4}));
  EXPECT_EQ(h5::read_attr_int_vector(nqv, "pool"), (std::vector<int64_t>{0, 0, 1, 2, 2, 3, 0, 0, 1, 1, 2, 2, 3}));
  for (size_t s = 0; s < 5; ++s) {
    std::vector<int64_t> pooled(16, 0);
    for (size_t g = 0; g < 42; ++g) pooled[(4 * (g / 7)) / 6 * 4 + (4 * (g % 7)) / 7] += qh[s * 42 + g];
    for (size_t c = 0; c < 16; ++c) {
      int64_t over_n = 0;
      for (size_t n = 0; n < nb; ++n) over_n += nq[(s * 16 + c) * nb + n];
      EXPECT_EQ(over_n, pooled[c]) << "sample " << s << " pooled cell " << c;
    }
  }
  const auto pos = h5::read_dataset<double>(f, "particles/networks/position/value", &dims);
  EXPECT_EQ(dims, (std::vector<hsize_t>{5, 7, 2}));
  EXPECT_EQ(h5::read_dataset<int64_t>(f, "particles/networks/id").size(), 7u);
  EXPECT_EQ(h5::read_dataset<double>(f, "grand_potential/omega", &dims).size(), 42u);
  EXPECT_EQ(h5::read_attr_string(h5::open_group(f, "digest"), "state"), r.digest.text());
}

// The H5MD units module's grammar: space-separated factors, integer powers,
// each symbol once, one leading number; q^-K and q^(-K/2) written in it.
TEST(H5mdUnits, GrammarAcceptsIntegerPowersOnly) {
  for (const char* u : {"1", "q", "q-2", "q2 time-2", "2.5 energy", "sqrtq-1", "networks"})
    EXPECT_TRUE(h5md::valid_unit(u)) << u;
  for (const char* u : {"", "q^-K", "q^(-K/2)", "q/time", "q q", "q0", "energy, energy^2", " q", "q  time", "q 2"})
    EXPECT_FALSE(h5md::valid_unit(u)) << u;
  EXPECT_EQ(h5md::density_unit(3), "q-3");
  EXPECT_EQ(h5md::amplitude_unit(2), "q-1");
  EXPECT_EQ(h5md::amplitude_unit(1), "sqrtq-1");
}

}  // namespace
