// PlanTableModel: formats layers, their plan formats and weight statistics for a sortable table view.
#include "plan_table_model.hpp"

#include <QColor>
#include <QLocale>
#include <cmath>
#include <limits>

#include "quantscope/dtype.hpp"
#include "quantscope/error.hpp"
#include "quantscope/format.hpp"

namespace qs {

namespace {

const char* const kEmbedding = "model.embed_tokens";

// Fixed English formatting: digit grouping for counts and '.' decimals everywhere, matching the
// numbers printed by QString::number in the other columns and in the plot.
QString count_format(int64_t n) { return QLocale(QLocale::English).toString(static_cast<qlonglong>(n)); }

// Numbers right-aligned so digits line up; names, formats and sources left-aligned; the short dtype
// codes centred. Views read the role as an int.
int alignment(int column) {
  const Qt::Alignment horizontal =
      column == PlanTableModel::Name || column == PlanTableModel::Format || column == PlanTableModel::Source
          ? Qt::AlignLeft
      : column == PlanTableModel::Dtype ? Qt::AlignHCenter
                                        : Qt::AlignRight;
  return static_cast<int>(horizontal | Qt::AlignVCenter);
}

bool quantized(const LayerRow& row) { return row.plan.error.empty() && row.plan.format.format.quantized(); }

QString format_text(const LayerRow& row) { return QString::fromStdString(format_print(row.plan.format.format)); }

bool metric_column(int column) {
  return column == PlanTableModel::RelativeMse || column == PlanTableModel::Sqnr || column == PlanTableModel::Cosine;
}

// What the checkpoint stores a weight as: its dtype, or the format of a quantized checkpoint (q4_K).
QString stored_text(const LinearLayer& layer) {
  return layer.stored_format.empty() ? QString::fromLatin1(dtype_name(layer.stored_dtype))
                                     : QString::fromStdString(layer.stored_format);
}

}  // namespace

PlanTableModel::PlanTableModel(QObject* parent) : QAbstractTableModel(parent) {}

std::vector<LayerRow> PlanTableModel::rows_of(const Model& model) {
  std::vector<LayerRow> rows;
  const std::string embedding = std::string(kEmbedding) + ".weight";
  const std::vector<int64_t> shape = model.tensor_shape(embedding);
  LinearLayer e{kEmbedding, -1, "embedding", shape.at(0), shape.at(1), model.tensor_stored_dtype(embedding),
                model.tensor_stored_format(embedding)};
  const auto row_make = [&](const LinearLayer& layer, const std::string& tensor) {
    LayerRow row;
    row.layer = layer;
    row.stored_bytes = model.tensor_stored_bytes(tensor);
    return row;
  };
  rows.push_back(row_make(e, embedding));
  for (const LinearLayer& layer : model.linear_layers()) rows.push_back(row_make(layer, layer.name + ".weight"));
  for (LayerRow& row : rows) {
    row.plan.name = row.layer.name;
    row.plan.out = row.layer.out_features;
    row.plan.in = row.layer.in_features;
    row.plan_source = tr("as stored");
  }
  return rows;
}

void PlanTableModel::rows_set(std::vector<LayerRow> rows) {
  beginResetModel();
  rows_ = std::move(rows);
  metrics_.clear();
  metrics_errors_.clear();
  endResetModel();
}

int PlanTableModel::row_of(const QString& layer) const {
  const std::string name = layer.toStdString();
  for (size_t i = 0; i < rows_.size(); ++i)
    if (rows_[i].layer.name == name) return int(i);
  return -1;
}

void PlanTableModel::plan_set(const QuantPlan& plan, const PlanAssignment& assignment) {
  if (assignment.layers.size() != rows_.size())
    throw Error(ErrorKind::Invalid, "a plan over " + std::to_string(assignment.layers.size()) +
                                        " layers for a table of " + std::to_string(rows_.size()));
  for (size_t i = 0; i < rows_.size(); ++i) {
    const PlanLayer& layer = assignment.layers[i];
    if (layer.name != rows_[i].layer.name)
      throw Error(ErrorKind::Invalid, "the plan's " + layer.name + " for the row of " + rows_[i].layer.name);
    rows_[i].plan = layer;
    if (layer.rule >= 0) {
      const std::string& match = plan.rules.at(size_t(layer.rule)).match;
      rows_[i].plan_source = match == layer.name ? tr("edited") : QString::fromStdString(match);
    } else {
      rows_[i].plan_source = layer.rule == PlanLayer::kDefault ? tr("default") : tr("as stored");
    }
  }
  if (!rows_.empty()) Q_EMIT dataChanged(index(0, Format), index(rowCount() - 1, Source));
}

void PlanTableModel::preview_set(const PlanAssignment* preview) {
  if (preview && preview->layers.size() != rows_.size())
    throw Error(ErrorKind::Invalid, "a preview over " + std::to_string(preview->layers.size()) +
                                        " layers for a table of " + std::to_string(rows_.size()));
  for (size_t i = 0; i < rows_.size(); ++i) {
    rows_[i].preview.reset();
    if (!preview) continue;
    const PlanLayer& p = preview->layers[i];
    const QString text = p.format.format.family == QuantFamily::Float ? QString() : QString::fromStdString(format_print(p.format.format));
    const QString now = quantized(rows_[i]) ? QString::fromStdString(format_print(rows_[i].plan.format.format)) : QString();
    if (text != now) rows_[i].preview = text;
  }
  if (!rows_.empty()) Q_EMIT dataChanged(index(0, Format), index(rowCount() - 1, Format));
}

void PlanTableModel::statistics_set(const WeightStatistics& statistics) {
  // Statistics cover the linear layers, which follow the embedding's row.
  const size_t first = rows_.empty() || rows_.front().layer.role != "embedding" ? 0 : 1;
  if (statistics.layers.size() != rows_.size() - first)
    throw Error(ErrorKind::Invalid, "weight statistics of " + std::to_string(statistics.layers.size()) +
                                        " layers for a table of " + std::to_string(rows_.size() - first));
  for (size_t i = 0; i < statistics.layers.size(); ++i)
    if (statistics.layers[i].name != rows_[first + i].layer.name)
      throw Error(ErrorKind::Invalid, "weight statistics of " + statistics.layers[i].name + " for the row of " +
                                          rows_[first + i].layer.name);
  // A layer with NaN or Inf weights is worth seeing in the table, not a reason to refuse the model.
  for (size_t i = 0; i < statistics.layers.size(); ++i) {
    const LayerWeightStatistics& s = statistics.layers[i];
    LayerRow& row = rows_[first + i];
    row.stats = s.stats;
    row.stats_error = QString::fromStdString(s.error);
    row.stats_pending = false;
  }
  for (size_t i = 0; i < first; ++i) {
    rows_[i].stats_pending = false;
    rows_[i].stats_error = tr("Weight statistics cover the linear layers; the embedding is a lookup table");
  }
  if (!rows_.empty()) Q_EMIT dataChanged(index(0, Mean), index(rowCount() - 1, ColumnCount - 1));
}

void PlanTableModel::statistics_fail(const QString& error) {
  for (LayerRow& row : rows_) {
    if (!row.stats_pending) continue;
    row.stats_error = error;
    row.stats_pending = false;
  }
  if (!rows_.empty()) Q_EMIT dataChanged(index(0, Mean), index(rowCount() - 1, ColumnCount - 1));
}

const TensorMetrics* PlanTableModel::metrics_of(const LayerRow& row) const {
  if (!quantized(row)) return nullptr;
  const auto it = metrics_.find({QString::fromStdString(row.layer.name), format_text(row)});
  return it == metrics_.end() ? nullptr : &it->second;
}

QString PlanTableModel::metrics_error_of(const LayerRow& row) const {
  if (!quantized(row)) return {};
  const auto it = metrics_errors_.find({QString::fromStdString(row.layer.name), format_text(row)});
  return it == metrics_errors_.end() ? QString() : it->second;
}

bool PlanTableModel::metrics_missing(int row) const {
  const LayerRow& r = rows_.at(size_t(row));
  return quantized(r) && !metrics_of(r) && metrics_error_of(r).isEmpty();
}

void PlanTableModel::metrics_set(const QString& layer, const QString& format, const TensorMetrics& metrics) {
  metrics_[{layer, format}] = metrics;
  if (const int row = row_of(layer); row >= 0) Q_EMIT dataChanged(index(row, RelativeMse), index(row, Cosine));
}

void PlanTableModel::metrics_fail(const QString& layer, const QString& format, const QString& error) {
  metrics_errors_[{layer, format}] = error;
  if (const int row = row_of(layer); row >= 0) Q_EMIT dataChanged(index(row, RelativeMse), index(row, Cosine));
}

int PlanTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int PlanTableModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

Qt::ItemFlags PlanTableModel::flags(const QModelIndex& index) const {
  Qt::ItemFlags f = QAbstractTableModel::flags(index);
  if (index.isValid() && index.column() == Format) f |= Qt::ItemIsEditable;
  return f;
}

double PlanTableModel::row_bits(const LayerRow& row) {
  if (quantized(row)) return format_bits_per_weight(row.plan.format.format, row.plan.out, row.plan.in);
  return 8.0 * double(row.stored_bytes) / double(std::max<int64_t>(1, row.layer.parameters()));
}

uint64_t PlanTableModel::row_bytes(const LayerRow& row) {
  if (quantized(row)) return (format_storage_bits(row.plan.format.format, row.plan.out, row.plan.in) + 7) / 8;
  return row.stored_bytes;
}

QVariant PlanTableModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount()) return {};
  const LayerRow& row = rows_[static_cast<size_t>(index.row())];
  const int column = index.column();
  switch (role) {
    case Qt::DisplayRole:
      return display(row, column);
    case Qt::EditRole:
      if (column == Format) return quantized(row) ? QString::fromStdString(format_print(row.plan.format.format)) : QString();
      return display(row, column);
    case SortRole:
      return sort_key(row, index.row(), column);
    case LayerRole:
      return QString::fromStdString(row.layer.name);
    case Qt::TextAlignmentRole:
      return alignment(column);
    case Qt::ToolTipRole:
      return tooltip(row, column);
    case Qt::BackgroundRole:
      if (column == Format && row.preview) return QColor(0xd8, 0xe8, 0xfb);
      return {};
    case Qt::ForegroundRole:
      if (column == Format && row.preview) return QColor(0x0b, 0x4f, 0x9c);
      if (column == Format && !row.plan.error.empty()) return QColor(0xb3, 0x26, 0x1e);
      if ((column == Format || column == Source) && !quantized(row)) return QColor(0x78, 0x78, 0x78);
      return {};
    default:
      return {};
  }
}

QVariant PlanTableModel::tooltip(const LayerRow& row, int column) const {
  if (column == Format && row.preview) {
    const QString plan = quantized(row) ? QString::fromStdString(format_print(row.plan.format.format)) : tr("as stored");
    return tr("Budget preview: %1 (the plan has %2). Apply as Plan in the Budget panel makes it the plan")
        .arg(row.preview->isEmpty() ? tr("as stored") : *row.preview, plan);
  }
  if (column == Format) {
    if (!row.plan.error.empty()) return QString::fromStdString(row.plan.error);
    return quantized(row) ? tr("Double-click to change; empty resets it to the plan's rules")
                          : tr("Stored as %1; double-click to give it a format").arg(stored_text(row.layer));
  }
  if (column == Bits) return tr("Storage bits per weight under this format: codes, scales, zero points and codebooks");
  if (column == Bytes) return tr("Bytes of this weight under this format (as stored when it stays so)");
  if (metric_column(column)) {
    if (!quantized(row)) return tr("The layer stays as stored: nothing is lost");
    if (const QString error = metrics_error_of(row); !error.isEmpty()) return error;
    if (!metrics_of(row)) return tr("Being computed for the rows in view");
  }
  if (column == RelativeMse) return tr("Mean squared error of the quantized weight over the mean square of the weight");
  if (column == Sqnr) return tr("Signal-to-quantization-noise ratio: 10·log10(Σw² / Σ(w − ŵ)²), in dB");
  if (column == Cosine) return tr("Cosine similarity between the weight and its quantized version, over all weights");
  if (column == Source) return tr("What sets the format: a plan rule's glob, \"edited\" for a rule naming this "
                                  "layer, the plan's default, or nothing (as stored)");
  if (!row.stats && column >= Mean)
    return row.stats_pending ? tr("The statistics of the weights are being computed") : row.stats_error;
  if (column == Name) {
    const QString where = row.layer.role == "embedding" ? QString("token embedding")
                          : row.layer.layer >= 0        ? QString("decoder block %1").arg(row.layer.layer)
                                                        : QString("output head");
    return QString("%1 — %2, %3").arg(QString::fromStdString(row.layer.name), where, QString::fromStdString(row.layer.role));
  }
  return {};
}

QVariant PlanTableModel::display(const LayerRow& row, int column) const {
  const LinearLayer& layer = row.layer;
  switch (column) {
    case Name:
      return QString::fromStdString(layer.name);
    case Shape:
      return QString("%1 × %2").arg(layer.out_features).arg(layer.in_features);
    case Parameters:
      return count_format(layer.parameters());
    case Dtype:
      return stored_text(layer);
    case Format:
      if (row.preview) return "→ " + (row.preview->isEmpty() ? tr("as stored") : *row.preview);
      if (!row.plan.error.empty()) return QString::fromStdString(format_print(row.plan.format.format)) + " ⚠";
      return quantized(row) ? QString::fromStdString(format_print(row.plan.format.format)) : tr("as stored");
    case Bits:
      return QString::number(row_bits(row), 'f', 3);
    case Bytes:
      return count_format(int64_t(row_bytes(row)));
    case Source:
      return row.plan_source;
    default:
      break;
  }
  if (metric_column(column)) {
    const TensorMetrics* m = metrics_of(row);
    if (!m) return !quantized(row) ? QStringLiteral("—") : metrics_error_of(row).isEmpty() ? QStringLiteral("…") : QStringLiteral("⚠");
    if (column == RelativeMse) return QString::number(m->relative_mse, 'e', 2);
    if (column == Sqnr) return std::isinf(m->sqnr_db) ? QStringLiteral("∞") : QString::number(m->sqnr_db, 'f', 2);
    return QString::number(m->cosine, 'f', 5);
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

QVariant PlanTableModel::sort_key(const LayerRow& row, int index, int column) const {
  const LinearLayer& layer = row.layer;
  switch (column) {
    case Name:
      return index;
    case Shape:
    case Parameters:
      return static_cast<qlonglong>(layer.parameters());
    case Dtype:
      return stored_text(layer);
    case Format:
      return display(row, column);
    case Bits:
      return row_bits(row);
    case Bytes:
      return static_cast<qulonglong>(row_bytes(row));
    case Source:
      return row.plan_source;
    default:
      break;
  }
  if (metric_column(column)) {
    const TensorMetrics* m = metrics_of(row);
    if (!m) return -std::numeric_limits<double>::infinity();
    return column == RelativeMse ? m->relative_mse : column == Sqnr ? m->sqnr_db : m->cosine;
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

QVariant PlanTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal) return {};
  if (role == Qt::DisplayRole) {
    switch (section) {
      case Name: return tr("Layer");
      case Shape: return tr("Shape");
      case Parameters: return tr("Parameters");
      case Dtype: return tr("Stored");
      case Format: return tr("Format");
      case Bits: return tr("Bits/w");
      case Bytes: return tr("Bytes");
      case RelativeMse: return tr("Rel. MSE");
      case Sqnr: return tr("SQNR dB");
      case Cosine: return tr("Cosine");
      case Source: return tr("Set by");
      case Mean: return tr("Mean");
      case Std: return tr("Std");
      case AbsMax: return tr("|Max|");
      case Kurtosis: return tr("Kurtosis");
      default: return {};
    }
  }
  if (role == Qt::ToolTipRole) {
    switch (section) {
      case Name: return tr("Hugging Face name of the tensor; sorts in forward-pass order");
      case Shape: return tr("Output features × input features (vocabulary × hidden for the embedding)");
      case Dtype: return tr("What the file stores the weight as: its element type, or a quantized checkpoint's format");
      case Format: return tr("The plan's format for this layer; double-click to edit (see the format grammar in "
                             "the inspector's format box)");
      case Bits: return tr("Storage bits per weight: codes, scales, zero points and codebooks (bits)");
      case Bytes: return tr("Storage of this weight in bytes under its format");
      case RelativeMse: return tr("Relative mean squared error of the weight under its format: MSE / mean(w²)");
      case Sqnr: return tr("Signal-to-quantization-noise ratio of the weight under its format, in dB");
      case Cosine: return tr("Cosine similarity of the weight and its quantized version");
      case Source: return tr("Which plan rule sets the format");
      case Mean: return tr("Mean of the weights");
      case Std: return tr("Standard deviation of the weights");
      case AbsMax: return tr("Largest absolute weight");
      case Kurtosis: return tr("Excess kurtosis of the weights: 0 for a Gaussian, large for heavy tails");
      default: return {};
    }
  }
  if (role == Qt::TextAlignmentRole) return alignment(section);
  return {};
}

}  // namespace qs
