// The plan editor's table: one row per tensor a plan may quantize (the embedding, every linear layer,
// the head), with its shape and stored dtype, the format the current plan gives it, what that costs
// (bits per weight, bytes), which rule set it, and the weight statistics. Rows come from the
// checkpoint's headers at once; statistics need every weight, so a job computes them
// (weight_statistics_compute) and hands them over whole afterwards. Widget-free: views and delegates
// live in panels.
#pragma once
#include <QAbstractTableModel>
#include <QString>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "quantscope/model.hpp"
#include "quantscope/plan.hpp"
#include "quantscope/quantize.hpp"
#include "quantscope/stats.hpp"
#include "quantscope/weight_statistics.hpp"

namespace qs {

struct LayerRow {
  LinearLayer layer;                 // for the embedding: role "embedding", layer -1
  uint64_t stored_bytes = 0;         // the weight as stored in the file
  std::optional<TensorStats> stats;  // empty while pending or when the weights could not be summarised
  QString stats_error;               // why, when stats is empty and not pending (e.g. NaN weights)
  bool stats_pending = true;         // the statistics job has not reported yet
  PlanLayer plan;                    // the current plan's format for it
  QString plan_source;               // "edited", a rule's glob, "default", or "as stored"
  // The previewed format (the budget slider's) where a preview differs from the plan: its text, empty
  // for "as stored"; nullopt where there is no preview or it agrees.
  std::optional<QString> preview;
};

class PlanTableModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column {
    Name, Shape, Parameters, Dtype, Format, Bits, Bytes, RelativeMse, Sqnr, Cosine, Source,
    Mean, Std, AbsMax, Kurtosis, ColumnCount
  };
  // Raw values for sorting: numbers as double, and the name column as the forward-pass position so
  // that "model.layers.10" sorts after "model.layers.9".
  static constexpr int SortRole = Qt::UserRole;
  // The layer's name on every column, for views that act on rows.
  static constexpr int LayerRole = Qt::UserRole + 1;

  explicit PlanTableModel(QObject* parent = nullptr);

  // One row per tensor a plan may quantize, in plan_assign's order, statistics pending and every layer
  // as stored. Headers only: instant.
  static std::vector<LayerRow> rows_of(const Model& model);

  void rows_set(std::vector<LayerRow> rows);
  // The plan's format, cost and source per row (assignment from plan_assign over these rows' model).
  void plan_set(const QuantPlan& plan, const PlanAssignment& assignment);
  // Shows another assignment's formats in the format column, marked, where they differ from the plan's;
  // null clears it.
  void preview_set(const PlanAssignment* preview);
  // Fills the statistics columns of the linear layers; a failed or cancelled job leaves `error`.
  void statistics_set(const WeightStatistics& statistics);
  void statistics_fail(const QString& error);
  // What a layer's weight loses under a format (relative MSE, SQNR, cosine), computed in jobs for the
  // rows in view and kept per (layer, format), so undoing an edit shows the earlier numbers at once.
  void metrics_set(const QString& layer, const QString& format, const TensorMetrics& metrics);
  void metrics_fail(const QString& layer, const QString& format, const QString& error);
  // Rows whose format is quantized and whose metrics are neither known nor failed: (layer, format).
  bool metrics_missing(int row) const;
  const std::vector<LayerRow>& rows() const { return rows_; }
  const LayerRow& row_at(int row) const { return rows_.at(static_cast<size_t>(row)); }
  int row_of(const QString& layer) const;  // -1 when absent

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
  Qt::ItemFlags flags(const QModelIndex& index) const override;

  // Bits per weight and bytes of a row under its current format (as stored when it stays so).
  static double row_bits(const LayerRow& row);
  static uint64_t row_bytes(const LayerRow& row);

 private:
  QVariant display(const LayerRow& row, int column) const;
  QVariant sort_key(const LayerRow& row, int index, int column) const;
  QVariant tooltip(const LayerRow& row, int column) const;

  // Keyed by layer and format text; an error string when the quantization failed.
  using MetricsKey = std::pair<QString, QString>;
  const TensorMetrics* metrics_of(const LayerRow& row) const;
  QString metrics_error_of(const LayerRow& row) const;

  std::vector<LayerRow> rows_;
  std::map<MetricsKey, TensorMetrics> metrics_;
  std::map<MetricsKey, QString> metrics_errors_;
};

}  // namespace qs
