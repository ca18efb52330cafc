// JobRunner: re-posts Job listener calls from the worker thread to the UI thread.
#include "job_runner.hpp"

#include <QMetaObject>

namespace qs {

JobRunner::JobRunner(QObject* parent) : QObject(parent), queue_(std::make_unique<JobQueue>()) {}

JobRunner::~JobRunner() {
  // Joining the worker here, while this object is still whole, means no listener can post to a
  // half-destroyed object; what it already posted is dropped by ~QObject.
  queue_.reset();
}

JobRunner::JobId JobRunner::submit(const QString& tag, const QString& title, Job::Work work) {
  const JobId id = ++next_id_;
  // The listener runs on the worker thread. It copies the job's state at this moment, because the job
  // keeps changing after the post.
  auto listener = [this, id](const Job& job) {
    const JobState state = job.state();
    const double fraction = job.progress();
    const QString message = QString::fromStdString(job.message());
    const QString error = QString::fromStdString(job.error());
    QMetaObject::invokeMethod(
        this,
        [this, id, state, fraction, message, error] { job_report(id, state, fraction, message, error); },
        Qt::QueuedConnection);
  };
  // Registered before the queue can report anything: reports are only delivered by the event loop.
  jobs_[id] = queue_->submit(tag.toStdString(), title.toStdString(), std::move(work), std::move(listener));
  Q_EMIT events().submitted(this, id, title);
  return id;
}

void JobRunner::cancel(JobId id) {
  if (auto it = jobs_.find(id); it != jobs_.end()) it->second->cancel();
}

void JobRunner::job_report(JobId id, JobState state, double fraction, const QString& message,
                           const QString& error) {
  if (jobs_.count(id) == 0) return;  // already reported as done
  Q_EMIT events().reported(this, id, int(state), fraction, message, error);
  switch (state) {
    case JobState::Pending:
      return;
    case JobState::Running:
      Q_EMIT progress(id, fraction, message);
      return;
    case JobState::Succeeded:
      jobs_.erase(id);
      Q_EMIT finished(id);
      return;
    case JobState::Failed:
      jobs_.erase(id);
      Q_EMIT failed(id, error);
      return;
    case JobState::Cancelled:
      jobs_.erase(id);
      Q_EMIT cancelled(id);
      return;
  }
}

JobEvents& JobRunner::events() {
  static JobEvents events;
  return events;
}

std::vector<std::pair<JobRunner::JobId, QString>> JobRunner::active_jobs() const {
  std::vector<std::pair<JobId, QString>> list;
  for (const auto& [id, job] : jobs_) list.emplace_back(id, QString::fromStdString(job->title()));
  return list;
}

}  // namespace qs
