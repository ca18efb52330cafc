// Every plan evaluated in this session, one row each: what it costs (bits per weight, model bytes)
// and what it does against the base model (perplexity with its standard error, bits per byte, KL
// divergence, top-1 agreement, task accuracies). Rows are kept with the plan they were computed for,
// so an evaluation that finishes after the plan was edited or undone is still a true row. A task
// column is added the first time a row scores that task, since which tasks are scored can change
// between evaluations. Widget-free.
#pragma once
#include <QAbstractTableModel>
#include <QString>
#include <QStringList>
#include <vector>

#include "quantscope/plan_evaluate.hpp"

namespace qs {

struct EvalRecord {
  QString label;      // the plan's file name, or "plan N"
  QString plan_json;  // the plan evaluated, as plan_json wrote it
  QString text_path;  // the text it was evaluated on
  int64_t max_tokens = 0;
  int64_t ctx = 0;  // window length; 0 for the CLI's default
  QStringList task_paths;  // the task files scored, in the order of metrics.tasks
  QString reference_path;  // the model the KL is against; empty for the evaluated model as stored
  PlanMetrics metrics;
};

class EvalHistoryModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  // The fixed columns; the task columns follow, one per task name in the order first scored.
  enum Column {
    Label, BitsPerWeight, ModelBytes, Perplexity, PerplexityError, BaseDelta, BitsPerByte, KlMean, KlMedian, KlP99,
    KlMax, Top1, Tokens, ColumnCount
  };
  static constexpr int SortRole = Qt::UserRole;

  explicit EvalHistoryModel(QObject* parent = nullptr);
  void record_add(EvalRecord record);
  void clear();
  const std::vector<EvalRecord>& records() const { return records_; }
  const QStringList& task_names() const { return task_names_; }
  // The column of a task's accuracy, or -1 when no row scored it.
  int task_column(const QString& name) const;

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

  // The value of `column` for a record, as the table sorts it (NaN where there is none); a task's is
  // its accuracy in percent.
  double value(const EvalRecord& record, int column) const;

 private:
  // The record's score on the task of a task column, or null when it did not score it.
  const TaskScore* task_score(const EvalRecord& record, int column) const;

  std::vector<EvalRecord> records_;
  QStringList task_names_;
};

}  // namespace qs
