// LayerTableModel: formats linear layers and their weight statistics for a sortable table view.
#include "layer_table_model.hpp"

#include <QLocale>
#include <limits>

#include "quantscope/dtype.hpp"
#include "quantscope/error.hpp"

namespace qs {

namespace {

// Fixed English formatting: digit grouping for counts and '.' decimals everywhere, matching the
// numbers printed by QString::number in the other columns and in the plot.
QString count_format(int64_t n) { return QLocale(QLocale::English).toString(static_cast<qlonglong>(n)); }

// Numbers right-aligned so digits line up; names left-aligned; the short dtype codes centred. Views
// read the role as an int.
int alignment(int column) {
  const Qt::Alignment horizontal = column == LayerTableModel::Name    ? Qt::AlignLeft
                                   : column == LayerTableModel::Dtype ? Qt::AlignHCenter
                                                                      : Qt::AlignRight;
  return static_cast<int>(horizontal | Qt::AlignVCenter);
}

}  // namespace

LayerTableModel::LayerTableModel(QObject* parent) : QAbstractTableModel(parent) {}

std::vector<LayerRow> LayerTableModel::rows_of(const Model& model) {
  std::vector<LayerRow> rows;
  for (const LinearLayer& layer : model.linear_layers()) rows.push_back(LayerRow{layer, std::nullopt, {}, true});
  return rows;
}

void LayerTableModel::rows_set(std::vector<LayerRow> rows) {
  beginResetModel();
  rows_ = std::move(rows);
  endResetModel();
}

void LayerTableModel::statistics_set(const WeightStatistics& statistics) {
  if (statistics.layers.size() != rows_.size())
    throw Error(ErrorKind::Invalid, "weight statistics of " + std::to_string(statistics.layers.size()) +
                                        " layers for a table of " + std::to_string(rows_.size()));
  for (size_t i = 0; i < rows_.size(); ++i)
    if (statistics.layers[i].name != rows_[i].layer.name)
      throw Error(ErrorKind::Invalid,
                  "weight statistics of " + statistics.layers[i].name + " for the row of " + rows_[i].layer.name);
  // A layer with NaN or Inf weights is worth seeing in the table, not a reason to refuse the model.
  for (size_t i = 0; i < rows_.size(); ++i) {
    const LayerWeightStatistics& s = statistics.layers[i];
    rows_[i].stats = s.stats;
    rows_[i].stats_error = QString::fromStdString(s.error);
    rows_[i].stats_pending = false;
  }
  if (!rows_.empty()) Q_EMIT dataChanged(index(0, Mean), index(rowCount() - 1, ColumnCount - 1));
}

void LayerTableModel::statistics_fail(const QString& error) {
  for (LayerRow& row : rows_) {
    if (!row.stats_pending) continue;
    row.stats_error = error;
    row.stats_pending = false;
  }
  if (!rows_.empty()) Q_EMIT dataChanged(index(0, Mean), index(rowCount() - 1, ColumnCount - 1));
}

int LayerTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int LayerTableModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : ColumnCount;
}

QVariant LayerTableModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount()) return {};
  const LayerRow& row = rows_[static_cast<size_t>(index.row())];
  const int column = index.column();
  switch (role) {
    case Qt::DisplayRole:
      return display(row, column);
    case SortRole:
      return sort_key(row, index.row(), column);
    case Qt::TextAlignmentRole:
      return alignment(column);
    case Qt::ToolTipRole:
      if (!row.stats && column >= Mean)
        return row.stats_pending ? tr("The statistics of the weights are being computed") : row.stats_error;
      if (column == Name) {
        const QString block =
            row.layer.layer >= 0 ? QString("decoder block %1").arg(row.layer.layer) : QString("output head");
        return QString("%1 — %2, %3")
            .arg(QString::fromStdString(row.layer.name), block, QString::fromStdString(row.layer.role));
      }
      return {};
    default:
      return {};
  }
}

QVariant LayerTableModel::display(const LayerRow& row, int column) const {
  const LinearLayer& layer = row.layer;
  switch (column) {
    case Name:
      return QString::fromStdString(layer.name);
    case Shape:
      return QString("%1 × %2").arg(layer.out_features).arg(layer.in_features);
    case Parameters:
      return count_format(layer.parameters());
    case Dtype:
      return QString::fromLatin1(dtype_name(layer.stored_dtype));
    default:
      break;
  }
  if (!row.stats) return row.stats_pending ? QStringLiteral("…") : QStringLiteral("—");
  const TensorStats& s = *row.stats;
  switch (column) {
    // Means of weight matrices sit near zero, so they read best in scientific notation; spreads and
    // maxima are O(0.01..1) and read best with four significant digits.
    case Mean:
      return QString::number(s.mean, 'e', 2);
    case Std:
      return QString::number(s.std, 'g', 4);
    case AbsMax:
      return QString::number(s.absmax, 'g', 4);
    case Kurtosis:
      return QString::number(s.kurtosis, 'f', 2);
    default:
      return {};
  }
}

QVariant LayerTableModel::sort_key(const LayerRow& row, int index, int column) const {
  const LinearLayer& layer = row.layer;
  switch (column) {
    case Name:
      return index;
    case Shape:
    case Parameters:
      return static_cast<qlonglong>(layer.parameters());
    case Dtype:
      return QString::fromLatin1(dtype_name(layer.stored_dtype));
    default:
      break;
  }
  // Layers without statistics sort before all others.
  if (!row.stats) return -std::numeric_limits<double>::infinity();
  switch (column) {
    case Mean:
      return row.stats->mean;
    case Std:
      return row.stats->std;
    case AbsMax:
      return row.stats->absmax;
    case Kurtosis:
      return row.stats->kurtosis;
    default:
      return {};
  }
}

QVariant LayerTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal) return {};
  if (role == Qt::DisplayRole) {
    switch (section) {
      case Name:
        return tr("Layer");
      case Shape:
        return tr("Shape");
      case Parameters:
        return tr("Parameters");
      case Dtype:
        return tr("Dtype");
      case Mean:
        return tr("Mean");
      case Std:
        return tr("Std");
      case AbsMax:
        return tr("|Max|");
      case Kurtosis:
        return tr("Kurtosis");
      default:
        return {};
    }
  }
  if (role == Qt::ToolTipRole) {
    switch (section) {
      case Name:
        return tr("Hugging Face name of the linear layer; sorts in forward-pass order");
      case Shape:
        return tr("Output features × input features");
      case Dtype:
        return tr("Element type of the weights in the file");
      case AbsMax:
        return tr("Largest absolute weight");
      case Kurtosis:
        return tr("Excess kurtosis of the weights: 0 for a Gaussian, large for heavy tails");
      default:
        return {};
    }
  }
  if (role == Qt::TextAlignmentRole) return alignment(section);
  return {};
}

}  // namespace qs
