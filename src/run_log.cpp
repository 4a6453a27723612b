#include "gcnn/run_log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

namespace gcnn {

std::string log_path(const Config& c) {
  const std::string& out = c.output;
  const bool h5 = out.size() > 3 && out.compare(out.size() - 3, 3, ".h5") == 0;
  return (h5 ? out.substr(0, out.size() - 3) : out) + ".gcnn.log";
}

// A stream buffer that passes every character to the terminal's buffer and
// to the log: the file once open, else the memory held for it.
namespace {
// Whether `path` is the file that descriptor `fd` writes to (`gcnn run
// --output x.h5 > x.log`): then the shell already keeps the log, and a second
// writer at another offset would garble it.
bool same_file(const std::string& path, int fd) {
  struct stat a, b;
  return stat(path.c_str(), &a) == 0 && fstat(fd, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}
}  // namespace

class RunLog::Tee : public std::streambuf {
 public:
  Tee(std::streambuf* terminal, RunLog& log) : terminal_(terminal), log_(log) {}

 protected:
  int_type overflow(int_type ch) override {
    if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
    const char c = traits_type::to_char_type(ch);
    return xsputn(&c, 1) == 1 ? ch : traits_type::eof();
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (log_.file_.is_open()) log_.file_.write(s, n);
    else log_.held_.append(s, static_cast<size_t>(n));
    return terminal_->sputn(s, n);
  }
  // std::flush and std::cerr's unitbuf: progress lines reach the file at once.
  int sync() override {
    if (log_.file_.is_open()) log_.file_.flush();
    return terminal_->pubsync();
  }

 private:
  std::streambuf* terminal_;
  RunLog& log_;
};

RunLog::RunLog(const Comm& comm) : root_(comm.root()), comm_(comm) {
  if (!root_) return;
  out_ = std::make_unique<Tee>(std::cout.rdbuf(), *this);
  err_ = std::make_unique<Tee>(std::cerr.rdbuf(), *this);
  old_out_ = std::cout.rdbuf(out_.get());
  old_err_ = std::cerr.rdbuf(err_.get());
}

RunLog::~RunLog() {
  if (!root_) return;
  std::cout.flush();
  std::cerr.flush();
  std::cout.rdbuf(old_out_);
  std::cerr.rdbuf(old_err_);
}

void RunLog::open(const std::string& path, bool replace, const std::string& header) {
  path_ = path;
  const std::string err = on_root(comm_, [&] {
    if (same_file(path, STDOUT_FILENO) || same_file(path, STDERR_FILENO)) {
      held_.clear();
      std::cout << "log: " << path << " is this run's standard output already; not written separately\n";
      return;
    }
    file_.open(path, replace ? std::ios::out | std::ios::trunc : std::ios::out | std::ios::app);
    if (!file_) throw std::runtime_error("cannot write the log file '" + path + "': " + std::strerror(errno));
    file_ << header << "\n" << held_;
    held_.clear();
    if (!file_.flush()) throw std::runtime_error("writing the log file '" + path + "' failed");
    std::cout << "log: " << path << "\n" << std::flush;  // through the tee: in the file too
  });
  if (!err.empty()) throw AgreedError(err);
}

void RunLog::note_error(const std::string& what) {
  if (root_ && file_.is_open()) file_ << "gcnn: error: " << what << "\n" << std::flush;
}

}  // namespace gcnn
