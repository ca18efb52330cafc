// Job and JobQueue: progress reporting, cancellation of running and pending jobs, captured errors,
// replacement of a pending job by a newer one with the same tag, shutdown with work queued, the thread
// listeners run on, and a stress of cancel against the worker starting the job. This file is also
// built with ThreadSanitizer where the compiler supports it (quantscope_job_tsan).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

#include "quantscope/error.hpp"
#include "quantscope/job.hpp"

namespace qs {
namespace {

using namespace std::chrono_literals;

// A job that holds the worker until released, so later submissions stay pending.
struct Gate {
  std::promise<void> started, release;
  std::shared_future<void> released = release.get_future().share();
  Job::Work work() {
    return [this](JobContext&) {
      started.set_value();
      released.wait();
    };
  }
};

TEST(Job, ProgressIsReportedToTheListener) {
  std::mutex mutex;
  std::vector<double> seen;
  JobQueue queue;
  auto job = queue.submit("", "count", [](JobContext& ctx) {
    for (int i = 1; i <= 4; ++i) ctx.progress(i / 4.0, "step " + std::to_string(i));
  }, [&](const Job& j) {
    std::lock_guard lock(mutex);
    seen.push_back(j.progress());
  });
  job->wait();
  EXPECT_EQ(job->state(), JobState::Succeeded);
  EXPECT_DOUBLE_EQ(job->progress(), 1.0);
  EXPECT_EQ(job->message(), "step 4");
  std::lock_guard lock(mutex);
  for (double p : {0.25, 0.5, 0.75}) EXPECT_NE(std::find(seen.begin(), seen.end(), p), seen.end()) << p;
}

TEST(Job, RunningJobStopsAtItsNextCancellationCheck) {
  JobQueue queue;
  std::promise<void> started;
  std::atomic<int> iterations{0};
  auto job = queue.submit("", "spin", [&](JobContext& ctx) {
    started.set_value();
    for (;;) {
      ctx.check_cancelled();
      ++iterations;
      std::this_thread::sleep_for(1ms);
    }
  });
  started.get_future().wait();
  EXPECT_EQ(job->state(), JobState::Running);
  job->cancel();
  job->wait();
  EXPECT_EQ(job->state(), JobState::Cancelled);
  EXPECT_TRUE(job->error().empty());
}

TEST(Job, PendingJobIsCancelledWithoutRunning) {
  JobQueue queue;
  Gate gate;
  auto blocker = queue.submit("", "blocker", gate.work());
  gate.started.get_future().wait();
  std::atomic<bool> ran{false};
  auto pending = queue.submit("", "pending", [&](JobContext&) { ran = true; });
  EXPECT_EQ(pending->state(), JobState::Pending);
  pending->cancel();
  EXPECT_EQ(pending->state(), JobState::Cancelled);
  gate.release.set_value();
  blocker->wait();
  auto after = queue.submit("", "after", [](JobContext&) {});
  after->wait();  // the worker went past the cancelled job
  EXPECT_FALSE(ran);
  EXPECT_EQ(after->state(), JobState::Succeeded);
}

TEST(Job, ErrorsAreCapturedAsOneLine) {
  JobQueue queue;
  auto typed = queue.submit("", "typed", [](JobContext&) { throw Error(ErrorKind::Format, "model.bin: truncated"); });
  auto plain = queue.submit("", "plain", [](JobContext&) { throw std::runtime_error("first line\nbacktrace"); });
  typed->wait();
  plain->wait();
  EXPECT_EQ(typed->state(), JobState::Failed);
  EXPECT_EQ(typed->error(), "model.bin: truncated");
  EXPECT_EQ(plain->state(), JobState::Failed);
  EXPECT_EQ(plain->error(), "first line");
}

TEST(Job, NewerRequestWithTheSameTagReplacesThePendingOne) {
  JobQueue queue;
  Gate gate;
  auto blocker = queue.submit("slider", "blocker", gate.work());
  gate.started.get_future().wait();
  std::atomic<int> which{0};
  auto first = queue.submit("slider", "first", [&](JobContext&) { which = 1; });
  auto other = queue.submit("other", "other", [](JobContext&) {});
  auto second = queue.submit("slider", "second", [&](JobContext&) { which = 2; });
  EXPECT_EQ(first->state(), JobState::Cancelled);
  EXPECT_EQ(queue.pending(), 2u);  // second took first's place; the running blocker is not replaced
  EXPECT_EQ(blocker->state(), JobState::Running);
  gate.release.set_value();
  second->wait();
  other->wait();
  EXPECT_EQ(which, 2);
  EXPECT_EQ(second->state(), JobState::Succeeded);
  EXPECT_EQ(blocker->state(), JobState::Succeeded);
}

TEST(Job, QueueShutdownCancelsRunningAndPendingWork) {
  std::shared_ptr<Job> running, pending;
  std::promise<void> started;  // outlives the queue, whose destructor joins the worker
  {
    JobQueue queue;
    running = queue.submit("", "spin", [&](JobContext& ctx) {
      started.set_value();
      for (;;) {
        ctx.check_cancelled();
        std::this_thread::sleep_for(1ms);
      }
    });
    pending = queue.submit("", "never", [](JobContext&) {});
    started.get_future().wait();
  }
  EXPECT_EQ(running->state(), JobState::Cancelled);
  EXPECT_EQ(pending->state(), JobState::Cancelled);
}

// Cancel racing the worker's start: whatever the outcome, once wait() returns the work is not inside
// its body (the CLI unwinds what the work captured by reference right after), and a job reported as
// cancelled never entered its body. The unfixed queue failed this about once in 3,000 cancels.
TEST(Job, CancelNeverReturnsWhileTheWorkRuns) {
  using Clock = std::chrono::steady_clock;
  const auto spin = [](std::chrono::nanoseconds span) {
    for (const auto end = Clock::now() + span; Clock::now() < end;) {
    }
  };
  JobQueue queue;
  std::atomic<bool> inside{false};
  int started = 0, cancelled_before = 0;
  constexpr int kRounds = 20000;
  for (int round = 0; round < kRounds; ++round) {
    std::atomic<bool> entered{false};
    auto job = queue.submit("", "race", [&](JobContext&) {
      entered = true;
      inside = true;
      spin(20us);
      inside = false;
    });
    // The cancel lands anywhere from before the worker wakes to after it has started the work.
    spin(std::chrono::nanoseconds(round % 97 * 250));
    job->cancel();
    job->wait();
    ASSERT_FALSE(inside) << "round " << round << ": wait() returned while the work was running";
    if (job->state() == JobState::Cancelled) {
      ASSERT_FALSE(entered) << "round " << round << ": reported cancelled after running";
      ++cancelled_before;
    } else {
      ASSERT_EQ(job->state(), JobState::Succeeded);
      ++started;
    }
  }
  // Both outcomes occur, so the race was exercised.
  EXPECT_GT(cancelled_before, 0);
  EXPECT_GT(started, 0);
}

TEST(Job, ListenersRunOnTheWorkerThreadEvenForACancelledPendingJob) {
  JobQueue queue;
  Gate gate;
  std::thread::id worker;
  auto blocker = queue.submit("", "blocker", [&](JobContext&) {
    worker = std::this_thread::get_id();
    gate.started.set_value();
    gate.released.wait();
  });
  gate.started.get_future().wait();
  std::mutex mutex;
  std::vector<std::pair<JobState, std::thread::id>> calls;
  auto pending = queue.submit("", "pending", [](JobContext&) {}, [&](const Job& job) {
    std::lock_guard lock(mutex);
    calls.emplace_back(job.state(), std::this_thread::get_id());
  });
  pending->cancel();
  EXPECT_EQ(pending->state(), JobState::Cancelled);
  {
    std::lock_guard lock(mutex);
    EXPECT_TRUE(calls.empty()) << "the cancelling thread called the listener";
  }
  gate.release.set_value();
  queue.submit("", "after", [](JobContext&) {})->wait();  // the worker has gone past `pending`
  std::lock_guard lock(mutex);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].first, JobState::Cancelled);
  EXPECT_EQ(calls[0].second, worker);
}

// A listener may ask the queue about itself while the queue shuts down: nothing is called under the
// queue's lock.
TEST(Job, ShutdownCallsListenersOutsideTheQueueLock) {
  std::atomic<int> reported{0};
  std::promise<void> started;
  {
    JobQueue queue;
    queue.submit("", "blocker", [&](JobContext& ctx) {
      started.set_value();
      while (!ctx.cancelled()) std::this_thread::sleep_for(1ms);
    });
    started.get_future().wait();
    for (int i = 0; i < 3; ++i)
      queue.submit("", "queued", [](JobContext&) {}, [&](const Job& job) {
        if (job.state() == JobState::Cancelled && queue.pending() == 0) ++reported;
      });
  }
  EXPECT_EQ(reported, 3);
}

TEST(Job, ExecuteRunsOnTheCallingThread) {
  Job job("", "inline", [](JobContext& ctx) { ctx.progress(0.5, "half"); }, {});
  job.execute();
  EXPECT_EQ(job.state(), JobState::Succeeded);
  EXPECT_EQ(job.message(), "half");
}

}  // namespace
}  // namespace qs
