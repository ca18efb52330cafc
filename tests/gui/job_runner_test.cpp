// JobRunner delivers a job's outcome on the UI thread as signals: the GUI relies on exactly one
// terminal signal per job, on replaced requests reporting cancelled, and on errors arriving intact. The
// jobs panel's model lists the jobs of every runner and cancels them one by one or all.
#include "job_runner.hpp"

#include <gtest/gtest.h>

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QTest>
#include <QThread>
#include <atomic>

#include "job_list_model.hpp"
#include "quantscope/error.hpp"

namespace qs {
namespace {

TEST(JobRunner, ReportsProgressAndFinishOnTheUiThread) {
  JobRunner runner;
  QThread* ui = QThread::currentThread();
  std::vector<double> fractions;
  bool on_ui_thread = true;
  QObject::connect(&runner, &JobRunner::progress, [&](JobRunner::JobId, double f, const QString&) {
    fractions.push_back(f);
    on_ui_thread = on_ui_thread && QThread::currentThread() == ui;
  });
  QSignalSpy finished(&runner, &JobRunner::finished);
  std::atomic<bool> ran_off_ui{false};
  const JobRunner::JobId id = runner.submit("t", "work", [&](JobContext& job) {
    ran_off_ui = QThread::currentThread() != ui;
    job.progress(0.5, "half");
  });
  EXPECT_TRUE(runner.active(id));
  ASSERT_TRUE(QTest::qWaitFor([&] { return finished.count() == 1; }, 10000));
  EXPECT_EQ(finished.at(0).at(0).value<JobRunner::JobId>(), id);
  EXPECT_TRUE(ran_off_ui);
  EXPECT_TRUE(on_ui_thread);
  EXPECT_NE(std::find(fractions.begin(), fractions.end(), 0.5), fractions.end());
  EXPECT_FALSE(runner.active(id));
  EXPECT_EQ(runner.active_count(), 0u);
}

TEST(JobRunner, ForwardsTheOneLineError) {
  JobRunner runner;
  QSignalSpy failed(&runner, &JobRunner::failed);
  const JobRunner::JobId id = runner.submit(
      "", "broken", [](JobContext&) { throw Error(ErrorKind::Format, "model.bin: truncated header"); });
  ASSERT_TRUE(QTest::qWaitFor([&] { return failed.count() == 1; }, 10000));
  EXPECT_EQ(failed.at(0).at(0).value<JobRunner::JobId>(), id);
  EXPECT_EQ(failed.at(0).at(1).toString(), QString("model.bin: truncated header"));
}

TEST(JobRunner, NewerRequestWithTheSameTagReplacesThePendingOne) {
  JobRunner runner;
  QSignalSpy finished(&runner, &JobRunner::finished);
  QSignalSpy cancelled(&runner, &JobRunner::cancelled);
  std::atomic<bool> release{false};
  // Holds the single worker so that the next two requests are both pending.
  const JobRunner::JobId blocker = runner.submit("block", "blocker", [&](JobContext&) {
    while (!release) QThread::msleep(1);
  });
  const JobRunner::JobId first = runner.submit("histogram", "first", [](JobContext&) {});
  const JobRunner::JobId second = runner.submit("histogram", "second", [](JobContext&) {});
  release = true;
  ASSERT_TRUE(QTest::qWaitFor([&] { return finished.count() == 2; }, 10000));
  ASSERT_EQ(cancelled.count(), 1);
  EXPECT_EQ(cancelled.at(0).at(0).value<JobRunner::JobId>(), first);
  EXPECT_EQ(finished.at(0).at(0).value<JobRunner::JobId>(), blocker);
  EXPECT_EQ(finished.at(1).at(0).value<JobRunner::JobId>(), second);
}

TEST(JobRunner, CancelStopsARunningJob) {
  JobRunner runner;
  QSignalSpy cancelled(&runner, &JobRunner::cancelled);
  QSignalSpy progress(&runner, &JobRunner::progress);
  const JobRunner::JobId id = runner.submit("", "endless", [](JobContext& job) {
    for (;;) {
      job.check_cancelled();
      job.progress(-1);
      QThread::msleep(1);
    }
  });
  ASSERT_TRUE(QTest::qWaitFor([&] { return progress.count() > 0; }, 10000));
  runner.cancel(id);
  ASSERT_TRUE(QTest::qWaitFor([&] { return cancelled.count() == 1; }, 10000));
  EXPECT_FALSE(runner.active(id));
}

TEST(JobListModel, ListsEveryRunnersJobsAndCancelsOneOrAll) {
  JobListModel model;
  QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
  JobRunner a, b;
  auto endless = [](JobContext& job) {
    for (;;) {
      job.check_cancelled();
      job.progress(0.5, "half way");
      QThread::msleep(1);
    }
  };
  a.submit("", "first", endless);
  b.submit("", "second", endless);
  b.submit("", "third", endless);  // waits behind the second on b's worker
  a.submit("", "failing", [](JobContext&) { throw Error(ErrorKind::Invalid, "model.bin: truncated at byte 12"); });
  ASSERT_EQ(model.rowCount(), 4);
  EXPECT_EQ(model.index(0, JobListModel::Title).data().toString(), "first");
  ASSERT_TRUE(QTest::qWaitFor([&] { return model.index(0, JobListModel::State).data().toString() == "running"; }, 10000));
  EXPECT_EQ(model.index(0, JobListModel::Progress).data().toString(), "50 %");

  model.cancel(0);
  ASSERT_TRUE(QTest::qWaitFor([&] { return model.index(0, JobListModel::State).data().toString() == "cancelled"; }, 10000));
  ASSERT_TRUE(QTest::qWaitFor([&] { return model.index(3, JobListModel::State).data().toString() == "failed"; }, 10000));
  EXPECT_EQ(model.index(3, JobListModel::Message).data().toString(), "model.bin: truncated at byte 12");
  EXPECT_EQ(model.active_count(), 2);

  model.cancel_all();
  ASSERT_TRUE(QTest::qWaitFor([&] { return model.active_count() == 0; }, 10000));
  EXPECT_EQ(model.index(1, JobListModel::State).data().toString(), "cancelled");
  EXPECT_EQ(model.index(2, JobListModel::State).data().toString(), "cancelled");
  model.ended_clear();
  EXPECT_EQ(model.rowCount(), 0);
}

}  // namespace
}  // namespace qs
