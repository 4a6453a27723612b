#include "gcnn/restart_state.hpp"

#include <stdexcept>

#include "gcnn/mpi_env.hpp"

namespace gcnn {

void RestartRecord::put(const std::string& name, int64_t value) {
  for (auto& [n, v] : values_)
    if (n == name) {
      v = value;
      return;
    }
  values_.emplace_back(name, value);
}

int64_t RestartRecord::get(const std::string& name) const {
  for (const auto& [n, v] : values_)
    if (n == name) return v;
  throw std::runtime_error("counter '" + name + "' is missing");
}

RestartState local_restart_state(const std::vector<const RestartComponent*>& parts) {
  RestartState s;
  for (const RestartComponent* p : parts) s[p->restart_name()] = p->write_restart();
  return s;
}

RestartState global_restart_state(const std::vector<const RestartComponent*>& parts, const Comm& comm) {
  RestartState s = local_restart_state(parts);
  // The same components in the same order on every rank: one reduction.
  std::vector<int64_t> flat;
  for (const auto& [name, rec] : s)
    for (const auto& nv : rec.values()) flat.push_back(nv.second);
  comm.sum(flat.data(), flat.size());
  size_t i = 0;
  for (auto& [name, rec] : s) {
    const RestartRecord mine = rec;
    for (const auto& nv : mine.values()) rec.put(nv.first, flat[i++]);
  }
  return s;
}

void restore_restart_state(const RestartState& state, const std::vector<RestartComponent*>& parts, bool root) {
  for (const RestartComponent* p : parts)
    if (!state.count(p->restart_name()))
      throw std::runtime_error("restart state of '" + p->restart_name() + "' is missing");
  for (RestartComponent* p : parts) {
    RestartRecord r = state.at(p->restart_name());
    if (!root)
      for (const auto& nv : state.at(p->restart_name()).values()) r.put(nv.first, 0);
    p->read_restart(r);
  }
}

const RestartRecord* find_record(const RestartState& all, const std::string& name, std::string* why) {
  const auto it = all.find(name);
  if (it != all.end()) return &it->second;
  *why = "restart state of '" + name + "' is missing";
  return nullptr;
}

std::string check_counts(const RestartRecord& r, const std::vector<std::string>& names) {
  for (const std::string& n : names) {
    int64_t v = 0;
    try {
      v = r.get(n);
    } catch (const std::exception& e) {
      return e.what();
    }
    if (v < 0) return "counter '" + n + "' is negative (" + std::to_string(v) + ")";
  }
  return "";
}

std::string check_at_most(const RestartRecord& small_r, const std::string& small, const RestartRecord& big_r,
                          const std::string& big) {
  try {
    const int64_t a = small_r.get(small), b = big_r.get(big);
    if (a > b) return "'" + small + "' = " + std::to_string(a) + " exceeds '" + big + "' = " + std::to_string(b);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace gcnn
