// Runs core's long work (loading, evaluation, generation, training) as a qs::Job on a qs::JobQueue,
// the mechanism the GUI uses too, and waits for it: a progress bar on stderr when stderr is a
// terminal, Ctrl-C cancels the job, and the job's captured error becomes the command's error.
#pragma once
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>

#include "quantscope/job.hpp"

namespace qs::cli {

// How a job shows its progress while the CLI waits for it.
struct JobDisplay {
  bool bar = true;  // off when the work itself writes to the terminal as it goes
  // The bar's text instead of the job's own progress message (called on the waiting thread).
  std::function<std::string()> message;
};

class JobRunner {
 public:
  JobRunner();   // installs the Ctrl-C handler (a Ctrl-C while cancelling ends the process)
  ~JobRunner();  // restores the previous handler
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  // Runs `work` and returns when it has finished. Throws qs::Error(Cancelled) after Ctrl-C and
  // std::runtime_error with the job's one-line error when the work failed.
  void run(const std::string& title, const Job::Work& work, const JobDisplay& display = {});
  // Writes text on stdout and flushes it; callable from the job's thread. Clears the progress bar
  // first so that the two do not interleave on a terminal.
  void stdout_write(const std::string& text);

 private:
  void bar_draw(const Job& job, const std::string& message, double elapsed);
  void bar_clear();  // call with terminal_mutex_ held

  const bool terminal_;  // stderr is a terminal
  std::mutex terminal_mutex_;
  bool bar_shown_ = false;
  std::string bar_line_;  // what the bar shows now
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool woken_ = false;
  // Last, so that its worker (which calls the listener) is joined before the members above go.
  JobQueue queue_;
};

}  // namespace qs::cli
