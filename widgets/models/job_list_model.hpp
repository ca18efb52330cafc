// Every job of the window, one row each, newest last: its title, state, progress, elapsed time and
// last message or error. Fed by JobRunner::events(), so a job of any panel shows without the panel
// knowing; a row can cancel its job while the runner that made it lives. Finished rows stay (up to
// kKept) so an error can still be read and copied after the panel that ran it moved on. Widget-free.
#pragma once
#include <QAbstractTableModel>
#include <QElapsedTimer>
#include <QPointer>
#include <QString>
#include <deque>

#include "job_runner.hpp"

namespace qs {

class JobListModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { Title, State, Progress, Elapsed, Message, ColumnCount };
  static constexpr int kKept = 200;

  explicit JobListModel(QObject* parent = nullptr);

  struct Row {
    QPointer<JobRunner> runner;
    quint64 id = 0;
    QString title;
    int state = 0;          // JobState
    double fraction = -1;   // negative: unknown
    QString message, error;
    QElapsedTimer clock;    // from submission
    qint64 elapsed_ms = -1; // frozen when the job ended
  };
  const std::deque<Row>& rows() const { return rows_; }
  bool active(int row) const;
  int active_count() const;
  // Cancelling a finished row, or one whose runner is gone, does nothing.
  void cancel(int row);
  void cancel_all();
  // Drops the rows of jobs that have ended.
  void ended_clear();

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  void submitted(JobRunner* runner, quint64 id, const QString& title);
  void reported(JobRunner* runner, quint64 id, int state, double fraction, const QString& message, const QString& error);
  // Updates the elapsed column of running rows once a second.
  void tick();

  std::deque<Row> rows_;
};

}  // namespace qs
