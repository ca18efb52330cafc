// The table of a model's linear layers (name, shape, parameters, dtype and weight statistics) that the
// workbench lists and sorts. Rows come from the checkpoint's headers at once; statistics need every
// weight, so a job computes them (weight_statistics_compute) and hands them over whole afterwards.
#pragma once
#include <QAbstractTableModel>
#include <QString>
#include <optional>
#include <vector>

#include "quantscope/model.hpp"
#include "quantscope/stats.hpp"
#include "quantscope/weight_statistics.hpp"

namespace qs {

struct LayerRow {
  LinearLayer layer;
  std::optional<TensorStats> stats;  // empty while pending or when the weights could not be summarised
  QString stats_error;               // why, when stats is empty and not pending (e.g. NaN weights)
  bool stats_pending = true;         // the statistics job has not reported yet
};

class LayerTableModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { Name, Shape, Parameters, Dtype, Mean, Std, AbsMax, Kurtosis, ColumnCount };
  // Raw values for sorting: numbers as double, and the name column as the forward-pass position so
  // that "model.layers.10" sorts after "model.layers.9".
  static constexpr int SortRole = Qt::UserRole;

  explicit LayerTableModel(QObject* parent = nullptr);

  // One row per linear layer of `model`, in forward order, statistics pending. Headers only: instant.
  static std::vector<LayerRow> rows_of(const Model& model);

  void rows_set(std::vector<LayerRow> rows);
  // Fills the statistics columns (layers in rows' order); a failed or cancelled job leaves `error`.
  void statistics_set(const WeightStatistics& statistics);
  void statistics_fail(const QString& error);
  const std::vector<LayerRow>& rows() const { return rows_; }
  const LayerRow& row_at(int row) const { return rows_.at(static_cast<size_t>(row)); }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  QVariant display(const LayerRow& row, int column) const;
  QVariant sort_key(const LayerRow& row, int index, int column) const;

  std::vector<LayerRow> rows_;
};

}  // namespace qs
