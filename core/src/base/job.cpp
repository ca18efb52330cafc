// Job and JobQueue: one worker thread, tagged requests, progress, cancellation, captured errors.
#include "quantscope/job.hpp"

#include <algorithm>
#include <exception>
#include <vector>

#include "quantscope/error.hpp"

namespace qs {

const char* job_state_name(JobState state) {
  switch (state) {
    case JobState::Pending: return "pending";
    case JobState::Running: return "running";
    case JobState::Succeeded: return "succeeded";
    case JobState::Failed: return "failed";
    case JobState::Cancelled: return "cancelled";
  }
  return "unknown";
}

void JobContext::progress(double fraction, const std::string& message) { job_.set_progress(fraction, message); }

bool JobContext::cancelled() const {
  std::lock_guard lock(job_.mutex_);
  return job_.cancel_requested_;
}

void JobContext::check_cancelled() const {
  if (cancelled()) throw Error(ErrorKind::Cancelled, job_.title() + ": cancelled");
}

Job::Job(std::string tag, std::string title, Work work, Listener listener)
    : tag_(std::move(tag)), title_(std::move(title)), work_(std::move(work)), listener_(std::move(listener)) {}

JobState Job::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}
double Job::progress() const {
  std::lock_guard lock(mutex_);
  return progress_;
}
std::string Job::message() const {
  std::lock_guard lock(mutex_);
  return message_;
}
std::string Job::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}
bool Job::terminal() const {
  return state_ == JobState::Succeeded || state_ == JobState::Failed || state_ == JobState::Cancelled;
}

bool Job::finished() const {
  std::lock_guard lock(mutex_);
  return terminal();
}

Job::Work Job::cancel_take() {
  Work released;
  {
    std::lock_guard lock(mutex_);
    cancel_requested_ = true;
    if (state_ != JobState::Pending) return released;  // a running job stops at its next check_cancelled()
    state_ = JobState::Cancelled;
    released = std::move(work_);
  }
  done_.notify_all();
  return released;
}

void Job::wait() const {
  std::unique_lock lock(mutex_);
  done_.wait(lock, [&] { return terminal(); });
}

void Job::execute() {
  bool started;
  {
    std::lock_guard lock(mutex_);
    started = state_ == JobState::Pending;
    if (started) state_ = JobState::Running;
  }
  // Either Running now, or cancelled before it started: the listener hears of it here, on this thread.
  notify();
  if (!started) return;
  JobContext context(*this);
  try {
    work_(context);
    finish(JobState::Succeeded, {});
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::Cancelled) finish(JobState::Cancelled, {});
    else finish(JobState::Failed, e.what());
  } catch (const std::exception& e) {
    // LibTorch errors carry a multi-line backtrace; the first line is the message.
    std::string text = e.what();
    finish(JobState::Failed, text.substr(0, text.find('\n')));
  } catch (...) {
    finish(JobState::Failed, title_ + ": unknown error");
  }
}

void Job::set_progress(double fraction, const std::string& message) {
  {
    std::lock_guard lock(mutex_);
    progress_ = fraction;
    if (!message.empty()) message_ = message;
  }
  notify();
}

// Only execute() calls this, once, from Running.
void Job::finish(JobState state, std::string error) {
  {
    std::lock_guard lock(mutex_);
    state_ = state;
    error_ = std::move(error);
    if (state == JobState::Succeeded) progress_ = 1.0;
  }
  done_.notify_all();
  notify();
}

void Job::notify() const {
  if (listener_) listener_(*this);
}

JobQueue::JobQueue() : worker_([this] { worker_loop(); }) {}

JobQueue::~JobQueue() {
  std::vector<Job::Work> released;  // destroyed after the queue's lock is released
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    // State changes only; the worker reports each cancelled job as it drains the queue.
    for (auto& job : queue_) released.push_back(job->cancel_take());
    if (running_) running_->cancel();
  }
  wake_.notify_all();
  worker_.join();
}

std::shared_ptr<Job> JobQueue::submit(std::string tag, std::string title, Job::Work work, Job::Listener listener) {
  auto job = std::make_shared<Job>(std::move(tag), std::move(title), std::move(work), std::move(listener));
  Job::Work released;  // the replaced request's, destroyed after the queue's lock is released
  {
    std::lock_guard lock(mutex_);
    auto place = queue_.end();
    if (!job->tag().empty()) {
      place = std::find_if(queue_.begin(), queue_.end(), [&](const std::shared_ptr<Job>& queued) {
        return queued->tag() == job->tag() && queued->state() == JobState::Pending;
      });
      // The newer request takes the replaced one's place, right behind it so that the worker
      // reports the cancellation first.
      if (place != queue_.end()) released = (*place++)->cancel_take();
    }
    queue_.insert(place, job);
  }
  wake_.notify_one();
  return job;
}

size_t JobQueue::pending() const {
  std::lock_guard lock(mutex_);
  return size_t(std::count_if(queue_.begin(), queue_.end(),
                              [](const std::shared_ptr<Job>& job) { return job->state() == JobState::Pending; }));
}

void JobQueue::worker_loop() {
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and every job has been reported
      job = queue_.front();
      queue_.pop_front();
      running_ = job;
    }
    job->execute();
    std::lock_guard lock(mutex_);
    running_.reset();
  }
}

}  // namespace qs
