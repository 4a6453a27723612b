#pragma once
// The run's log file (README "Running"): everything rank 0 prints during
// `gcnn run` on std::cout and std::cerr (the echoed configuration, progress
// and ETA lines, warnings, checkpoints, the timing table, the summary, the
// error that ended it) is also written to a plain text file beside the
// results file: out.h5 -> out.gcnn.log (not out.log, the name scripts give
// to `mpirun ... --output out.h5 > out.log`: under mpirun a rank's stdout is
// a pipe, so it cannot see that the two are one file).
//
// The file belongs to the run that holds the results file's lock: until
// open() (called once the lock is taken) the text is kept in memory, so a
// refused run (bad input, a results file in use) writes nothing. A fresh run
// with --overwrite replaces the log, as it replaces the results file; any
// other run appends to it after a header line, so nothing is ever lost. When
// the log file is already the run's stdout or stderr (`> out.log`), it is not
// opened a second time.
#include <fstream>
#include <memory>
#include <streambuf>
#include <string>

#include "gcnn/config.hpp"
#include "gcnn/mpi_env.hpp"

namespace gcnn {

// output.file without ".h5", plus ".gcnn.log".
std::string log_path(const Config& c);

class RunLog {
 public:
  // Rank 0: from now on std::cout and std::cerr are also copied into the log
  // (held in memory until open()). Other ranks: nothing.
  explicit RunLog(const Comm& comm);
  ~RunLog();  // restores std::cout and std::cerr
  RunLog(const RunLog&) = delete;
  RunLog& operator=(const RunLog&) = delete;

  // Collective: rank 0 opens `path` (truncated when `replace`, else appended
  // to), writes `header` as one line, then everything held so far, and copies
  // every later line directly. A failure is agreed (AgreedError, exit 1).
  void open(const std::string& path, bool replace, const std::string& header);
  // Rank 0: the message of the error that ends the run, to the file only (main
  // prints it on stderr after the log is closed). Nothing before open().
  void note_error(const std::string& what);
  const std::string& path() const { return path_; }

 private:
  class Tee;
  bool root_;
  Comm comm_;
  std::string path_;
  std::string held_;  // the text printed before open()
  std::ofstream file_;
  std::unique_ptr<Tee> out_, err_;
  std::streambuf *old_out_ = nullptr, *old_err_ = nullptr;
};

}  // namespace gcnn
