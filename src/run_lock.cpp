#include "gcnn/run_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fstream>
#include <ostream>
#include <sstream>

#include "gcnn/config.hpp"

namespace gcnn {

namespace {

std::string this_host() {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  return host;
}

std::string first_line(const char* path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  return s;
}

// What /proc/PID/stat says of a process: field 3, its state ('Z' zombie or
// 'X' dead: it has exited and released its locks but is not reaped yet, as
// the ranks of a job killed with kill -9 linger for a moment), and field 22,
// its start time in clock ticks since boot (with the boot id it tells a
// recycled PID from the original holder). '?' and 0 where /proc is not
// available.
struct ProcStat {
  char state = '?';
  long long start_ticks = 0;
};
ProcStat proc_stat(long long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s;
  ProcStat p;
  if (!std::getline(in, s)) return p;
  const auto close = s.rfind(')');  // the command name may contain spaces
  if (close == std::string::npos) return p;
  std::istringstream rest(s.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    if (!(rest >> field)) return p;
    if (i == 3) p.state = field[0];
  }
  p.start_ticks = std::atoll(field.c_str());
  return p;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[32];
  std::strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return b;
}

std::string read_all(int fd) {
  std::string text;
  char buf[512];
  for (off_t at = 0;;) {
    const ssize_t n = pread(fd, buf, sizeof(buf), at);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
    at += n;
    if (text.size() > 8192) break;  // not a lock file of ours: enough to describe it
  }
  return text;
}

// Opens and flocks `path`; returns the fd, or -1 with `held` set when another
// process holds the flock. Retries when the file was removed or replaced
// between open and flock (its holder released it), so the fd refers to the
// file that is at `path` now.
int open_and_flock(const std::string& path, bool& held, bool& flock_enforced) {
  held = false;
  flock_enforced = true;
  for (int attempt = 0; attempt < 10; ++attempt) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw ConfigError("cannot create the lock file '" + path + "': " + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      if (err == EWOULDBLOCK) {
        held = true;
        return fd;
      }
      if (err != ENOLCK && err != EOPNOTSUPP && err != ENOSYS) {
        ::close(fd);
        throw ConfigError("cannot lock '" + path + "': " + std::strerror(err));
      }
      flock_enforced = false;  // the file system has no flock: the text alone decides
    }
    struct stat open_st, path_st;
    if (::fstat(fd, &open_st) == 0 && ::stat(path.c_str(), &path_st) == 0 && open_st.st_dev == path_st.st_dev &&
        open_st.st_ino == path_st.st_ino)
      return fd;
    ::close(fd);  // released and removed by its holder meanwhile: open the new one
  }
  throw ConfigError("cannot lock '" + path + "': it keeps being replaced");
}

void write_owner(int fd, const std::string& path, const std::string& text) {
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()) ||
      ::fsync(fd) != 0)
    throw ConfigError("cannot write the lock file '" + path + "': " + std::strerror(errno));
}

}  // namespace

LockOwner LockOwner::self(const std::string& run_id) {
  LockOwner o;
  o.host = this_host();
  o.boot_id = first_line("/proc/sys/kernel/random/boot_id");
  o.pid = static_cast<long long>(getpid());
  o.pid_start = proc_stat(o.pid).start_ticks;
  o.run_id = run_id;
  o.started = utc_now();
  return o;
}

LockOwner LockOwner::parse(const std::string& text) {
  LockOwner o;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string k = line.substr(0, eq), v = line.substr(eq + 1);
    if (k == "host") o.host = v;
    else if (k == "boot_id") o.boot_id = v;
    else if (k == "pid") o.pid = std::atoll(v.c_str());
    else if (k == "pid_start") o.pid_start = std::atoll(v.c_str());
    else if (k == "run_id") o.run_id = v;
    else if (k == "started") o.started = v;
  }
  return o;
}

std::string LockOwner::text() const {
  return "# gcnn run lock: the run below writes this results file / checkpoint directory\n"
         "host=" + host + "\nboot_id=" + boot_id + "\npid=" + std::to_string(pid) +
         "\npid_start=" + std::to_string(pid_start) + "\nrun_id=" + run_id + "\nstarted=" + started + "\n";
}

std::string LockOwner::describe() const {
  return "run id " + (run_id.empty() ? std::string("?") : run_id) + ", PID " + std::to_string(pid) + " on host " +
         (host.empty() ? std::string("?") : host) + ", started " + (started.empty() ? std::string("?") : started);
}

bool LockOwner::alive_on_this_host() const {
  if (host != this_host() || pid <= 0) return false;
  const std::string boot = first_line("/proc/sys/kernel/random/boot_id");
  if (!boot.empty() && !boot_id.empty() && boot != boot_id) return false;  // written before a reboot
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM) return false;
  const ProcStat st = proc_stat(pid);
  if (st.state == 'Z' || st.state == 'X') return false;  // exited, not yet reaped
  return pid_start == 0 || st.start_ticks == pid_start;  // else: the PID was recycled
}

RunLock::RunLock(std::string path, const std::string& what, const std::string& run_id, const Comm& comm,
                 std::ostream& log)
    : path_(std::move(path)) {
  std::string stale;
  const std::string err = on_root(comm, [&] {
    bool held = false, enforced = true;
    const int fd = open_and_flock(path_, held, enforced);
    const LockOwner holder = LockOwner::parse(read_all(fd));
    auto refuse = [&](const std::string& msg) {
      ::close(fd);  // the lock is someone else's: leave its file as it is
      throw ConfigError(msg);
    };
    if (held)
      refuse(what + " is in use by another gcnn run (" + holder.describe() + "; lock file '" + path_ +
             "'): wait for it to end or stop it; give this run another --output or checkpoint.dir");
    if (!holder.host.empty()) {
      if (holder.host != this_host())
        refuse(what + " is locked by a gcnn run on another host (" + holder.describe() + "; lock file '" + path_ +
               "'); this host cannot tell whether it still runs. If it does not, delete '" + path_ + "' and retry");
      if (holder.alive_on_this_host())
        refuse(what + " is in use by another gcnn run (" + holder.describe() + ", still running; lock file '" +
               path_ + "'" + (enforced ? "" : ", on a file system without flock") + ")");
      stale = "gcnn: warning: taking over the stale lock '" + path_ + "' of " + what + ": " + holder.describe() +
              ", which is no longer running (killed?)\n";
    }
    try {
      write_owner(fd, path_, LockOwner::self(run_id).text());
    } catch (...) {
      ::close(fd);
      throw;
    }
    fd_ = fd;
  });
  if (!err.empty()) throw ConfigError(err);
  if (comm.root() && !stale.empty()) log << stale << std::flush;
}

RunLock::~RunLock() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());  // while still holding the flock: a waiter then sees a replaced file and retries
  ::close(fd_);
}

}  // namespace gcnn
