// The bridge between core's JobQueue and Qt: Job listeners run on the worker thread, widgets may only
// be touched on the UI thread, so every listener call is re-posted to the UI thread and emitted there
// as a signal. The GUI submits all long work (loading, statistics, histograms) through one JobRunner.
#pragma once
#include <QObject>
#include <QString>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "quantscope/job.hpp"

namespace qs {

class JobRunner;

// Every runner's jobs in one stream, on the UI thread: what the jobs panel lists (ImHex's task manager).
class JobEvents : public QObject {
  Q_OBJECT

 Q_SIGNALS:
  void submitted(qs::JobRunner* runner, quint64 id, const QString& title);
  // state as JobState; fraction negative while unknown; error set for a failed job.
  void reported(qs::JobRunner* runner, quint64 id, int state, double fraction, const QString& message,
                const QString& error);
};

class JobRunner : public QObject {
  Q_OBJECT

 public:
  using JobId = quint64;

  explicit JobRunner(QObject* parent = nullptr);
  // Cancels what is pending or running and waits for the worker; no signal is emitted afterwards.
  ~JobRunner() override;

  // A newer job with the same non-empty tag replaces a pending one (which then emits cancelled).
  // Signals carry the returned id; it is never 0.
  JobId submit(const QString& tag, const QString& title, Job::Work work);
  // Cancelling an unknown or finished job does nothing.
  void cancel(JobId id);
  bool active(JobId id) const { return jobs_.count(id) != 0; }
  // Jobs submitted and not yet reported as finished, failed or cancelled.
  size_t active_count() const { return jobs_.size(); }
  // Their ids and titles, oldest first (the window's job list).
  std::vector<std::pair<JobId, QString>> active_jobs() const;
  // The process's one stream of every runner's submissions and reports.
  static JobEvents& events();

 Q_SIGNALS:
  // fraction in [0, 1], or negative while the amount of work is unknown.
  void progress(qs::JobRunner::JobId id, double fraction, const QString& message);
  // The job's work returned normally.
  void finished(qs::JobRunner::JobId id);
  // error is the job's one-line message.
  void failed(qs::JobRunner::JobId id, const QString& error);
  void cancelled(qs::JobRunner::JobId id);

 private:
  void job_report(JobId id, JobState state, double fraction, const QString& message, const QString& error);

  std::unique_ptr<JobQueue> queue_;
  std::map<JobId, std::shared_ptr<Job>> jobs_;  // touched on the UI thread only
  JobId next_id_ = 0;
};

}  // namespace qs
