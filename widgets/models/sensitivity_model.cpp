// SensitivityModel: scans as rows of layers and columns of formats, worst layers, CSV.
#include "sensitivity_model.hpp"

#include <QLocale>
#include <algorithm>
#include <cmath>

#include "quantscope/format.hpp"

namespace qs {
namespace {

QString csv_field(const QString& text) {
  if (!text.contains(',') && !text.contains('"') && !text.contains('\n')) return text;
  return '"' + QString(text).replace('"', "\"\"") + '"';
}

QString csv_number(double v) { return std::isfinite(v) ? QString::number(v, 'g', 10) : QString(); }

}  // namespace

QString SensitivityModel::proxy_name(Proxy proxy) {
  switch (proxy) {
    case Proxy::WeightSqnr: return tr("weight SQNR");
    case Proxy::InputSqnr: return tr("input-weighted SQNR");
    case Proxy::FisherSqnr: return tr("Fisher-weighted SQNR");
    case Proxy::FisherLoss: return tr("Fisher loss estimate");
  }
  return {};
}

double SensitivityModel::proxy_harm(const LayerSensitivity& layer, Proxy proxy) {
  switch (proxy) {
    case Proxy::WeightSqnr: return -layer.proxies.weight_sqnr_db;
    case Proxy::InputSqnr: return -layer.proxies.input_sqnr_db;
    case Proxy::FisherSqnr: return -layer.proxies.fisher_sqnr_db;
    case Proxy::FisherLoss: return layer.proxies.fisher_loss;
  }
  return std::nan("");
}

double SensitivityModel::proxy_spearman(const SensitivityScan& scan, Proxy proxy) {
  switch (proxy) {
    case Proxy::WeightSqnr: return scan.spearman_weight;
    case Proxy::InputSqnr: return scan.spearman_input;
    case Proxy::FisherSqnr: return scan.spearman_fisher;
    case Proxy::FisherLoss: return scan.spearman_fisher_loss;
  }
  return std::nan("");
}

void SensitivityModel::scans_set(std::vector<SensitivityScan> scans) {
  beginResetModel();
  scans_ = std::move(scans);
  endResetModel();
}

QStringList SensitivityModel::formats() const {
  QStringList out;
  for (const SensitivityScan& s : scans_) out << QString::fromStdString(format_print(s.format));
  return out;
}

QString SensitivityModel::layer_name(int row) const {
  if (scans_.empty() || row < 0 || row >= rowCount()) return {};
  return QString::fromStdString(scans_.front().layers[size_t(row)].name);
}

QStringList SensitivityModel::worst(int count) const {
  std::vector<std::pair<double, int>> order;
  for (int r = 0; r < rowCount(); ++r) {
    double worst = -INFINITY;
    for (const SensitivityScan& s : scans_) worst = std::max(worst, s.layers[size_t(r)].delta_kl);
    order.push_back({worst, r});
  }
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  QStringList out;
  for (int i = 0; i < std::min<int>(count, int(order.size())); ++i) out << layer_name(order[size_t(i)].second);
  return out;
}

QByteArray SensitivityModel::csv() const {
  QString out = "layer,parameters,format,bits_per_weight,delta_kl,kl_p99,top1_agreement,weight_sqnr_db,"
                "input_sqnr_db,fisher_sqnr_db,fisher_loss\r\n";
  for (int r = 0; r < rowCount(); ++r)
    for (const SensitivityScan& s : scans_) {
      const LayerSensitivity& l = s.layers[size_t(r)];
      out += QStringList{csv_field(QString::fromStdString(l.name)), QString::number(l.parameters),
                         csv_field(QString::fromStdString(format_print(s.format))), csv_number(l.bits_per_weight),
                         csv_number(l.delta_kl), csv_number(l.kl_p99), csv_number(l.top1_agreement),
                         csv_number(l.proxies.weight_sqnr_db), csv_number(l.proxies.input_sqnr_db),
                         csv_number(l.proxies.fisher_sqnr_db), csv_number(l.proxies.fisher_loss)}
                 .join(',') +
             "\r\n";
    }
  return out.toUtf8();
}

int SensitivityModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() || scans_.empty() ? 0 : int(scans_.front().layers.size());
}

int SensitivityModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : FirstFormat + int(scans_.size());
}

QVariant SensitivityModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount() || index.column() >= columnCount()) return {};
  const size_t row = size_t(index.row());
  const LayerSensitivity& first = scans_.front().layers[row];
  const int column = index.column();
  const LayerSensitivity* cell = column >= FirstFormat ? &scans_[size_t(column - FirstFormat)].layers[row] : nullptr;
  switch (role) {
    case Qt::DisplayRole:
      if (column == Layer) return QString::fromStdString(first.name);
      if (column == Parameters) return QLocale().toString(qlonglong(first.parameters));
      return std::isfinite(cell->delta_kl) ? QString::number(cell->delta_kl, 'g', 4) : QString("–");
    case SortRole:
      if (column == Layer) return index.row();
      if (column == Parameters) return double(first.parameters);
      return cell->delta_kl;
    case LayerRole:
      return QString::fromStdString(first.name);
    case Qt::TextAlignmentRole:
      return column == Layer ? QVariant(Qt::AlignLeft | Qt::AlignVCenter) : QVariant(Qt::AlignRight | Qt::AlignVCenter);
    case Qt::ToolTipRole:
      if (!cell) return {};
      return tr("%1 as %2 alone: ΔKL %3 nats/token, p99 %4, top-1 agreement %5 %\n%6 bits/weight\nweight SQNR %7 dB · "
                "input-weighted %8 dB · Fisher-weighted %9 dB · Fisher loss estimate %10 nats/token")
          .arg(QString::fromStdString(first.name), QString::fromStdString(format_print(scans_[size_t(column - FirstFormat)].format)))
          .arg(cell->delta_kl, 0, 'g', 5)
          .arg(cell->kl_p99, 0, 'g', 4)
          .arg(100 * cell->top1_agreement, 0, 'f', 2)
          .arg(cell->bits_per_weight, 0, 'f', 3)
          .arg(cell->proxies.weight_sqnr_db, 0, 'f', 2)
          .arg(cell->proxies.input_sqnr_db, 0, 'f', 2)
          .arg(cell->proxies.fisher_sqnr_db, 0, 'f', 2)
          .arg(cell->proxies.fisher_loss, 0, 'g', 4);
    default:
      return {};
  }
}

QVariant SensitivityModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || section < 0 || section >= columnCount()) return {};
  if (role == Qt::DisplayRole) {
    if (section == Layer) return tr("Layer");
    if (section == Parameters) return tr("Params");
    return tr("ΔKL %1").arg(QString::fromStdString(format_print(scans_[size_t(section - FirstFormat)].format)));
  }
  if (role == Qt::ToolTipRole && section >= FirstFormat)
    return tr("KL(base ‖ model with only this layer quantized), mean nats per token on the calibration text");
  return {};
}

}  // namespace qs
