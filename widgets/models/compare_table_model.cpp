// CompareTableModel: rows of compared formats with the best value per column and layer marked.
#include "compare_table_model.hpp"

#include <QBrush>
#include <QColor>
#include <QFont>
#include <cmath>

namespace qs {

void CompareTableModel::results_set(std::vector<CompareResult> results) {
  beginResetModel();
  results_ = std::move(results);
  endResetModel();
}

int CompareTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(results_.size());
}

int CompareTableModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

std::optional<double> CompareTableModel::score(const CompareResult& r, int column) {
  if (!r.metrics) return std::nullopt;
  const TensorMetrics& m = *r.metrics;
  switch (column) {
    case Bits: return m.bits_per_weight;
    case RelativeMse: return m.relative_mse;
    case Sqnr: return -m.sqnr_db;
    case Cosine: return -m.cosine;
    case MaxAbsError: return m.max_abs_error;
    case Time: return r.seconds;
    default: return std::nullopt;
  }
}

bool CompareTableModel::best(int row, int column) const {
  const std::optional<double> mine = score(results_[size_t(row)], column);
  if (!mine) return false;
  int rivals = 0;
  for (const CompareResult& other : results_) {
    if (other.layer != results_[size_t(row)].layer || &other == &results_[size_t(row)]) continue;
    const std::optional<double> theirs = score(other, column);
    if (!theirs) continue;
    ++rivals;
    if (*theirs < *mine) return false;
  }
  return rivals > 0;  // a format alone is not "best" of anything
}

QVariant CompareTableModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount() || index.column() >= ColumnCount) return {};
  const CompareResult& r = results_[size_t(index.row())];
  const int column = index.column();
  if (role == BestRole) return best(index.row(), column);
  if (role == Qt::FontRole && best(index.row(), column)) {
    QFont font;
    font.setBold(true);
    return font;
  }
  if (role == Qt::BackgroundRole && best(index.row(), column)) return QBrush(QColor(214, 240, 214));
  if (role == Qt::TextAlignmentRole && column >= Bits) return int(Qt::AlignRight | Qt::AlignVCenter);
  if (role == Qt::ToolTipRole) {
    if (!r.metrics && column >= Bits) return r.error;
    if (best(index.row(), column)) return tr("The best of the formats compared on this layer");
    return headerData(column, Qt::Horizontal, Qt::ToolTipRole);
  }
  if (role != Qt::DisplayRole && role != Qt::EditRole) return {};
  const bool sort = role == Qt::EditRole;
  if (column == Layer) return r.layer;
  if (column == Format) return r.format;
  if (!r.metrics) return column == Bits && !sort ? QVariant(r.error) : QVariant();  // the reason, once
  const TensorMetrics& m = *r.metrics;
  switch (column) {
    case Bits: return sort ? QVariant(m.bits_per_weight) : QVariant(QString::number(m.bits_per_weight, 'f', 3));
    case RelativeMse: return sort ? QVariant(m.relative_mse) : QVariant(QString::number(m.relative_mse, 'e', 3));
    case Sqnr:
      if (sort) return m.sqnr_db;
      return std::isinf(m.sqnr_db) ? QStringLiteral("∞") : QString::number(m.sqnr_db, 'f', 2);
    case Cosine: return sort ? QVariant(m.cosine) : QVariant(QString::number(m.cosine, 'f', 6));
    case MaxAbsError: return sort ? QVariant(m.max_abs_error) : QVariant(QString::number(m.max_abs_error, 'g', 4));
    case LevelsUsed:
      if (sort) return r.code_use.used;
      return r.code_use.total == 0 ? QStringLiteral("—") : QString("%1 / %2").arg(r.code_use.used).arg(r.code_use.total);
    case Entropy:
      if (sort) return r.code_use.entropy_bits;
      return r.code_use.total == 0 ? QStringLiteral("—") : QString::number(r.code_use.entropy_bits, 'f', 3);
    case Time: return sort ? QVariant(r.seconds) : QVariant(QString::number(r.seconds * 1e3, 'f', 0));
    default: return {};
  }
}

QVariant CompareTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || section < 0 || section >= ColumnCount) return {};
  if (role == Qt::DisplayRole) {
    switch (section) {
      case Layer: return tr("Layer");
      case Format: return tr("Format");
      case Bits: return tr("Bits/w");
      case RelativeMse: return tr("Rel. MSE");
      case Sqnr: return tr("SQNR dB");
      case Cosine: return tr("Cosine");
      case MaxAbsError: return tr("Max |ŵ − w|");
      case LevelsUsed: return tr("Levels used");
      case Entropy: return tr("Code entropy");
      case Time: return tr("Time ms");
    }
  }
  if (role == Qt::ToolTipRole) {
    switch (section) {
      case Layer: return tr("The layer the format was tried on");
      case Format: return tr("The format, as typed in its slot");
      case Bits: return tr("Storage bits per weight: codes, scales, zero points and codebooks (bits)");
      case RelativeMse: return tr("Mean squared error over the mean square of the weight: MSE / mean(w²)");
      case Sqnr: return tr("Signal-to-quantization-noise ratio: 10·log10(Σw² / Σ(w − ŵ)²), in dB");
      case Cosine: return tr("Cosine similarity between the weight and its quantized version, over all weights");
      case MaxAbsError: return tr("The largest |ŵ − w| over the layer, in weight units");
      case LevelsUsed: return tr("Codes that at least one weight takes, of the 2^bits the format has");
      case Entropy: return tr("Entropy of code use, −Σ p·log2 p (bits): what an ideal entropy coder would store per "
                              "code");
      case Time: return tr("Wall time to quantize the layer in this format (milliseconds)");
    }
  }
  return {};
}

}  // namespace qs
