// Every plan evaluated in this session, one row each: what it costs (bits per weight, model bytes)
// and what it does against the base model (perplexity, bits per byte, KL divergence, top-1
// agreement). Rows are kept with the plan they were computed for, so an evaluation that finishes after
// the plan was edited or undone is still a true row. Widget-free.
#pragma once
#include <QAbstractTableModel>
#include <QString>
#include <vector>

#include "quantscope/plan_evaluate.hpp"

namespace qs {

struct EvalRecord {
  QString label;      // the plan's file name, or "plan N"
  QString plan_json;  // the plan evaluated, as plan_json wrote it
  QString text_path;  // the text it was evaluated on
  int64_t max_tokens = 0;
  PlanMetrics metrics;
};

class EvalHistoryModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column {
    Label, BitsPerWeight, ModelBytes, Perplexity, BaseDelta, BitsPerByte, KlMean, KlMedian, KlP99, KlMax, Top1,
    Tokens, ColumnCount
  };
  static constexpr int SortRole = Qt::UserRole;

  explicit EvalHistoryModel(QObject* parent = nullptr);
  void record_add(EvalRecord record);
  void clear();
  const std::vector<EvalRecord>& records() const { return records_; }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

  // The value of `column` for a record, as the table sorts it (NaN where there is none).
  static double value(const EvalRecord& record, int column);

 private:
  std::vector<EvalRecord> records_;
};

}  // namespace qs
