// Checkpoint file I/O for parallel file systems (README "Restart", "On a
// parallel file system"): the MPI-IO hints' precedence (config key over the
// ROMIO_HINTS file over gcnn's own), the bulk arrays starting on a stripe
// boundary, and a file written collectively and read back through one
// collective open giving the same state (digest) on the same ranks.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>

#include "gcnn/checkpoint.hpp"
#include "gcnn/digest.hpp"
#include "gcnn/ensemble.hpp"
#include "gcnn/h5.hpp"
#include "test_util.hpp"

namespace {
using namespace gcnn;

std::map<std::string, std::string> as_map(const std::vector<std::pair<std::string, std::string>>& v) {
  return {v.begin(), v.end()};
}

TEST(CheckpointIo, HintsFromConfigOverRomioHintsFileOverDefaults) {
  Comm comm;
  const std::string file = "test_checkpoint_io_hints_" + std::to_string(comm.rank()) + ".txt";
  unsetenv("ROMIO_HINTS");
  auto h = as_map(h5::mpio_hint_entries({}));
  EXPECT_EQ(h, (std::map<std::string, std::string>{{"romio_cb_write", "enable"}, {"romio_cb_read", "automatic"}}));
  {
    std::ofstream out(file);
    out << "romio_cb_write disable\nstriping_factor 4\ncb_nodes 2\n";
  }
  setenv("ROMIO_HINTS", file.c_str(), 1);
  h5::MpioHints set;
  set.stripe_count = 16;
  set.stripe_size = int64_t{4} << 20;
  h = as_map(h5::mpio_hint_entries(set));
  EXPECT_EQ(h["romio_cb_write"], "disable");  // the site's file over gcnn's choice
  EXPECT_EQ(h["romio_cb_read"], "automatic");
  EXPECT_EQ(h["striping_factor"], "16");  // a nonzero key over the file
  EXPECT_EQ(h["striping_unit"], "4194304");
  EXPECT_EQ(h["cb_nodes"], "2");  // 0 in the config: the file's value stays
  EXPECT_EQ(h.count("cb_buffer_size"), 0u);
  unsetenv("ROMIO_HINTS");
  std::remove(file.c_str());
}

TEST(CheckpointIo, BulkArraysStartOnAStripeAndTheStateReadsBack) {
  Comm comm;
  // R = 2^21 neurons: /state/neuron_w (K = 1, float) is exactly 8 MiB, the
  // smallest object aligned; neuron_id is 16 MiB.
  const std::string dir = "test_checkpoint_io_np" + std::to_string(comm.size());
  const auto cfg = test::config({{"model.M", "16384"}, {"model.rho", "128"}, {"checkpoint.stripe_size_mb", "1"},
                                 {"checkpoint.dir", dir}, {"output.file", dir + ".h5"}});
  Ensemble e(cfg, comm);
  CheckpointStore store(dir, 1, comm);
  store.ensure_dir();
  const std::string path = store.path_for(0);
  CheckpointMeta m;
  m.run_id = "test";
  m.n_samples = 1;
  m.config_ini = config_echo(cfg);
  m.digest = compute_digest(e).text();
  std::string hints;
  const double bytes = write_checkpoint(path, e, m, cfg, &hints);
  EXPECT_GT(bytes, 24.0 * (1 << 20));
  if (comm.root()) {
    h5::Handle f = h5::open_file(path, false, MPI_COMM_SELF);
    for (const char* name : {"state/neuron_id", "state/neuron_c", "state/neuron_w"}) {
      h5::Handle d = h5::open_dataset(f, name);
      const haddr_t at = H5Dget_offset(d);
      ASSERT_NE(at, HADDR_UNDEF) << name;
      EXPECT_EQ(at % (haddr_t{1} << 20), 0u) << name << " starts at byte " << at;
    }
  }
  Ensemble back(cfg, comm, Ensemble::Unset{});
  load_checkpoint(path, back, read_checkpoint_meta(path, comm));  // throws if a checksum or the digest differs
  EXPECT_EQ(compute_digest(back).text(), m.digest);
  comm.barrier();
  if (comm.root()) {
    std::remove(path.c_str());
    std::remove(dir.c_str());
  }
}

}  // namespace
