// The metrics of formats compared on layers: one row per (layer, format), with the best value of each
// column marked among the rows of the same layer. The compare panel shows the selected layer's slots
// in one and the "across layers" run in another.
#pragma once
#include <QAbstractTableModel>
#include <QString>
#include <optional>
#include <vector>

#include "quantscope/code_use.hpp"
#include "quantscope/quantize.hpp"

namespace qs {

struct CompareResult {
  QString layer;
  QString format;  // as the slot holds it
  std::optional<TensorMetrics> metrics;  // absent: `error` says why the format could not apply
  CodeUse code_use;
  double seconds = 0;  // wall time of the quantization
  QString error;
};

class CompareTableModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { Layer, Format, Bits, RelativeMse, Sqnr, Cosine, MaxAbsError, LevelsUsed, Entropy, Time, ColumnCount };
  // Qt::UserRole on any cell: whether it holds its layer's best value of the column.
  static constexpr int BestRole = Qt::UserRole + 1;

  using QAbstractTableModel::QAbstractTableModel;

  void results_set(std::vector<CompareResult> results);
  void clear() { results_set({}); }
  const std::vector<CompareResult>& results() const { return results_; }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  // The value compared for "best" (smaller is better once signed), or nullopt for columns without a
  // better direction (levels used, entropy) and rows without metrics.
  static std::optional<double> score(const CompareResult& result, int column);
  bool best(int row, int column) const;

  std::vector<CompareResult> results_;
};

}  // namespace qs
