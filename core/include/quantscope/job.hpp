// Long work (load, quantize, evaluate, train, export) runs as a Job on a JobQueue: one worker thread
// that takes tagged requests, reports progress, honours cancellation and captures errors. The GUI and
// the CLI use this one mechanism. A newer request with the same tag replaces a pending one, which is
// what a slider that re-quantizes on every move needs.
//
// States move Pending -> Running -> Succeeded | Failed | Cancelled, or Pending -> Cancelled, each
// transition under the job's lock: once wait() returns, the work function is not running and never
// will. Listeners run on the thread that executes the job (the queue's worker), never under a lock,
// once per transition and progress report; a job cancelled before it started is reported when the
// worker reaches its place in the queue.
#pragma once
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace qs {

enum class JobState { Pending, Running, Succeeded, Failed, Cancelled };
const char* job_state_name(JobState state);

class Job;

// What the work function sees: report progress, ask whether to stop.
class JobContext {
 public:
  explicit JobContext(Job& job) : job_(job) {}
  // fraction in [0, 1], or negative when the amount of work is unknown.
  void progress(double fraction, const std::string& message = {});
  bool cancelled() const;
  // Throws qs::Error(Cancelled) when the job was cancelled; call it between units of work.
  void check_cancelled() const;

 private:
  Job& job_;
};

class Job {
 public:
  using Work = std::function<void(JobContext&)>;
  using Listener = std::function<void(const Job&)>;  // called on the thread that executes the job

  Job(std::string tag, std::string title, Work work, Listener listener);
  const std::string& tag() const { return tag_; }
  const std::string& title() const { return title_; }
  JobState state() const;
  double progress() const;
  std::string message() const;
  std::string error() const;  // one line; empty unless Failed
  bool finished() const;
  // A pending job becomes Cancelled at once and its work is released; a running one is asked to stop
  // and becomes Cancelled when its work returns or throws. Never calls the listener.
  void cancel() { cancel_take(); }
  // Returns when the job has finished and its work function has returned.
  void wait() const;
  // Runs the work on the calling thread, capturing any exception; for a job cancelled while pending
  // it only reports that. Called once, by JobQueue or by tools that want the job mechanics without a
  // worker thread.
  void execute();

 private:
  friend class JobContext;
  friend class JobQueue;
  // cancel(), handing back the work of a job that had not started, so that the caller destroys it
  // (and whatever it captured) where it holds no lock.
  Work cancel_take();
  void set_progress(double fraction, const std::string& message);
  void finish(JobState state, std::string error);
  void notify() const;
  bool terminal() const;  // call with mutex_ held

  const std::string tag_;
  const std::string title_;
  Work work_;
  Listener listener_;
  mutable std::mutex mutex_;
  mutable std::condition_variable done_;
  JobState state_ = JobState::Pending;
  double progress_ = 0.0;
  std::string message_;
  std::string error_;
  bool cancel_requested_ = false;
};

class JobQueue {
 public:
  JobQueue();
  ~JobQueue();  // cancels what is pending or running and joins the worker
  JobQueue(const JobQueue&) = delete;
  JobQueue& operator=(const JobQueue&) = delete;

  // An empty tag never replaces anything.
  std::shared_ptr<Job> submit(std::string tag, std::string title, Job::Work work,
                              Job::Listener listener = {});
  // Jobs waiting to run (not those cancelled while waiting).
  size_t pending() const;

 private:
  void worker_loop();

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  // In order; cancelled jobs stay until the worker has reported them.
  std::deque<std::shared_ptr<Job>> queue_;
  std::shared_ptr<Job> running_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace qs
