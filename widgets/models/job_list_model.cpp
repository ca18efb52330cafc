// JobListModel: rows from the job event stream, cancel, and the elapsed clock.
#include "job_list_model.hpp"

#include <QColor>
#include <QTimer>

#include "quantscope/job.hpp"

namespace qs {
namespace {

bool ended(int state) {
  return state == int(JobState::Succeeded) || state == int(JobState::Failed) || state == int(JobState::Cancelled);
}

QString elapsed_text(qint64 ms) {
  const qint64 s = ms / 1000;
  return s >= 3600 ? QString("%1:%2:%3").arg(s / 3600).arg(s / 60 % 60, 2, 10, QChar('0')).arg(s % 60, 2, 10, QChar('0'))
                   : QString("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QChar('0'));
}

}  // namespace

JobListModel::JobListModel(QObject* parent) : QAbstractTableModel(parent) {
  connect(&JobRunner::events(), &JobEvents::submitted, this, &JobListModel::submitted);
  connect(&JobRunner::events(), &JobEvents::reported, this, &JobListModel::reported);
  auto* timer = new QTimer(this);
  timer->setInterval(1000);
  connect(timer, &QTimer::timeout, this, &JobListModel::tick);
  timer->start();
}

void JobListModel::submitted(JobRunner* runner, quint64 id, const QString& title) {
  if (int(rows_.size()) >= kKept) {
    for (size_t i = 0; i < rows_.size(); ++i)
      if (ended(rows_[i].state)) {
        beginRemoveRows({}, int(i), int(i));
        rows_.erase(rows_.begin() + long(i));
        endRemoveRows();
        break;
      }
  }
  beginInsertRows({}, int(rows_.size()), int(rows_.size()));
  Row row;
  row.runner = runner;
  row.id = id;
  row.title = title;
  row.state = int(JobState::Pending);
  row.clock.start();
  rows_.push_back(std::move(row));
  endInsertRows();
}

void JobListModel::reported(JobRunner* runner, quint64 id, int state, double fraction, const QString& message,
                            const QString& error) {
  for (int i = int(rows_.size()) - 1; i >= 0; --i) {
    Row& r = rows_[size_t(i)];
    if (r.runner != runner || r.id != id) continue;
    r.state = state;
    if (state == int(JobState::Running)) r.fraction = fraction;
    if (state == int(JobState::Succeeded)) r.fraction = 1;
    if (!message.isEmpty()) r.message = message;
    r.error = error;
    if (ended(state)) r.elapsed_ms = r.clock.elapsed();
    Q_EMIT dataChanged(index(i, 0), index(i, ColumnCount - 1));
    return;
  }
}

void JobListModel::tick() {
  for (int i = 0; i < int(rows_.size()); ++i)
    if (!ended(rows_[size_t(i)].state)) Q_EMIT dataChanged(index(i, Elapsed), index(i, Elapsed));
}

bool JobListModel::active(int row) const { return row >= 0 && row < rowCount() && !ended(rows_[size_t(row)].state); }

int JobListModel::active_count() const {
  int n = 0;
  for (const Row& r : rows_) n += !ended(r.state);
  return n;
}

void JobListModel::cancel(int row) {
  if (!active(row)) return;
  const Row& r = rows_[size_t(row)];
  if (r.runner) r.runner->cancel(r.id);
}

void JobListModel::cancel_all() {
  for (int i = 0; i < rowCount(); ++i) cancel(i);
}

void JobListModel::ended_clear() {
  for (int i = int(rows_.size()) - 1; i >= 0; --i)
    if (ended(rows_[size_t(i)].state)) {
      beginRemoveRows({}, i, i);
      rows_.erase(rows_.begin() + i);
      endRemoveRows();
    }
}

int JobListModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(rows_.size()); }

int JobListModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant JobListModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount()) return {};
  const Row& r = rows_[size_t(index.row())];
  const int column = index.column();
  if (role == Qt::DisplayRole) {
    switch (column) {
      case Title: return r.title;
      case State: return QString::fromLatin1(job_state_name(JobState(r.state)));
      case Progress: return r.fraction < 0 ? QString() : QString("%1 %").arg(100 * r.fraction, 0, 'f', 0);
      case Elapsed: return elapsed_text(r.elapsed_ms >= 0 ? r.elapsed_ms : r.clock.elapsed());
      case Message: return r.error.isEmpty() ? r.message : r.error;
      default: return {};
    }
  }
  if (role == Qt::ForegroundRole && column == Message && !r.error.isEmpty()) return QColor(0xb3, 0x26, 0x1e);
  if (role == Qt::ToolTipRole && column == Message) return r.error.isEmpty() ? r.message : r.error;
  if (role == Qt::TextAlignmentRole && (column == Progress || column == Elapsed))
    return QVariant(Qt::AlignRight | Qt::AlignVCenter);
  return {};
}

QVariant JobListModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  switch (section) {
    case Title: return tr("Job");
    case State: return tr("State");
    case Progress: return tr("Progress");
    case Elapsed: return tr("Elapsed");
    case Message: return tr("Message or error");
    default: return {};
  }
}

}  // namespace qs
