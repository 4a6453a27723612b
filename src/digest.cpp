#include "gcnn/digest.hpp"

#include <bit>
#include <cstdio>

namespace gcnn {

std::string StateDigest::text() const {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%016llx-%016llx@%llu", static_cast<unsigned long long>(networks),
                static_cast<unsigned long long>(reservoir), static_cast<unsigned long long>(step));
  return buf;
}

StateDigest compute_digest(const Ensemble& e) {
  const int K = e.config().K;
  uint64_t d[2] = {0, 0};
  for (int64_t la = 0; la < e.n_local(); ++la) {
    uint64_t h = mix64(static_cast<uint64_t>(e.a_lo() + la));
    for (int k = 0; k < K; ++k) h = mix64(h ^ std::bit_cast<uint64_t>(e.q(la)[k]));
    h = mix64(h ^ static_cast<uint64_t>(e.N(la)));
    for (int64_t j = e.begin(la); j < e.end(la); ++j) h = mix64(h ^ static_cast<uint64_t>(e.active().id[j]));
    d[0] += mix64(h);
  }
  for (auto id : e.reservoir().id) d[1] += mix64(static_cast<uint64_t>(id) ^ 0x5EED5EED5EED5EEDull);
  e.comm().sum<uint64_t>(d, 2);
  return StateDigest{d[0], d[1], e.step()};
}

}  // namespace gcnn
