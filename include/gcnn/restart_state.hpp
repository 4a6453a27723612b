#pragma once
// What a component carries from one run segment to the next besides the
// ensemble's state, in the spirit of LAMMPS's write_restart/read_restart:
// each component names its own counters, writes them, reads them back and
// says which values it cannot have. The checkpoint only composes the records
// (one group per component, README "Restart"); it knows no counter by name.
//
// Each component also has a static `check_restart(const RestartState&)`:
// "" if its record in a state read from a file (global sums) is one it could
// have written, else the reason (a missing or negative count, more
// acceptances than proposals, a count at the last sample above the current
// one). A resume runs these checks before it touches any file.
//
// Every value here is an integer count that adds over ranks (proposals,
// acceptances, and their values at the last sample). A checkpoint stores the
// global sums; on restore rank 0 carries them and the other ranks start from
// zero, so every global difference (an acceptance rate) continues exactly on
// any rank count.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace gcnn {

class Comm;

// A component's named counters, in the order it declares them.
class RestartRecord {
 public:
  void put(const std::string& name, int64_t value);
  // Throws std::runtime_error naming the counter if it is missing.
  int64_t get(const std::string& name) const;
  const std::vector<std::pair<std::string, int64_t>>& values() const { return values_; }
  bool operator==(const RestartRecord& o) const { return values_ == o.values_; }

 private:
  std::vector<std::pair<std::string, int64_t>> values_;
};

class RestartComponent {
 public:
  virtual ~RestartComponent() = default;
  // The component's group name in the checkpoint ("exchange", "learning", ...).
  virtual std::string restart_name() const = 0;
  // This rank's counters.
  virtual RestartRecord write_restart() const = 0;
  virtual void read_restart(const RestartRecord& r) = 0;
};

// The records of several components, by restart_name().
using RestartState = std::map<std::string, RestartRecord>;

// Collective: every component's record summed over ranks.
RestartState global_restart_state(const std::vector<const RestartComponent*>& parts, const Comm& comm);
// Gives each component its record: rank 0 the stored sums, the others
// zeros. Throws std::runtime_error if a component's record is missing.
void restore_restart_state(const RestartState& state, const std::vector<RestartComponent*>& parts, bool root);
// The same hand-over within one process (a quench rebuilds the components
// and they continue counting): each component gets its predecessor's record.
RestartState local_restart_state(const std::vector<const RestartComponent*>& parts);

// Shared checks for check_restart: the component's record ("" and null if
// missing, with the reason in *why); counts are >= 0, an accepted count is at
// most its proposed count, a count at the last sample at most the current one.
const RestartRecord* find_record(const RestartState& all, const std::string& name, std::string* why);
std::string check_counts(const RestartRecord& r, const std::vector<std::string>& names);
std::string check_at_most(const RestartRecord& r, const std::string& small, const RestartRecord& big_r,
                          const std::string& big);

}  // namespace gcnn
