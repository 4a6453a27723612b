// The collective error agreement (mpi_env.hpp): every rank learns the same
// verdict, the message of the lowest failing rank, whichever ranks failed;
// nobody failed means no error. This is what lets an error path leave all
// ranks together instead of one rank waiting in a collective.
#include <gtest/gtest.h>

#include <string>

#include "gcnn/config.hpp"
#include "gcnn/mpi_env.hpp"

namespace {
using namespace gcnn;

std::string failure_of(int rank) { return "rank " + std::to_string(rank) + " failed"; }

TEST(Agreement, EveryRankGetsTheLowestFailingRanksMessage) {
  Comm comm;
  const int P = comm.size();
  // Every pattern of failing ranks (bit r set: rank r fails).
  for (int mask = 0; mask < (1 << P); ++mask) {
    const bool i_fail = (mask >> comm.rank()) & 1;
    const std::string got = agreed_error(comm, i_fail ? failure_of(comm.rank()) : "");
    int lowest = -1;
    for (int r = P - 1; r >= 0; --r)
      if ((mask >> r) & 1) lowest = r;
    EXPECT_EQ(got, lowest < 0 ? "" : failure_of(lowest)) << "failing ranks mask " << mask;
  }
}

TEST(Agreement, AgreeOrThrowRaisesTheSameErrorOnEveryRank) {
  Comm comm;
  const int last = comm.size() - 1;
  const std::string mine = comm.rank() == last ? failure_of(last) : "";
  try {
    agree_or_throw<ConfigError>(comm, mine, "reading x: ");
    ADD_FAILURE() << "no rank threw";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "reading x: " + failure_of(last));
  }
  EXPECT_NO_THROW(agree_or_throw(comm, ""));
  EXPECT_THROW(agree_or_throw(comm, comm.root() ? "x" : ""), AgreedError);
}

TEST(Agreement, TryEverywhereAndOnRootAgree) {
  Comm comm;
  const std::string e1 = try_everywhere(comm, [&] {
    if (comm.rank() == comm.size() - 1) throw std::runtime_error("disk full");
  });
  EXPECT_EQ(e1, "disk full");
  const std::string e2 = on_root(comm, [] { throw std::runtime_error("no such file"); });
  EXPECT_EQ(e2, "no such file");  // rank 0 ran it; every rank has its message
  EXPECT_EQ(root_says(comm, comm.root()), true);
  EXPECT_EQ(root_says(comm, !comm.root()), false);
}

}  // namespace
