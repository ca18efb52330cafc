// The sensitivity scans as a table: one row per scanned layer in depth order, its parameters, and per
// scanned format its ΔKL (what quantizing that layer alone costs the model, nats/token) with the
// weight, input-weighted and Fisher SQNR proxies in the tooltip. The sensitivity panel's bars, worst
// list and proxy scatter read it; Export CSV writes it in long form (one line per layer and format).
#pragma once
#include <QAbstractTableModel>
#include <QString>
#include <QStringList>
#include <vector>

#include "quantscope/sensitivity.hpp"

namespace qs {

class SensitivityModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { Layer, Parameters, FirstFormat };
  // Raw values for sorting: the depth for the layer column, numbers for the others.
  static constexpr int SortRole = Qt::UserRole;
  static constexpr int LayerRole = Qt::UserRole + 1;

  // Which proxy predicts a layer's harm; larger means more harmful, so it ranks like ΔKL.
  enum class Proxy { WeightSqnr, InputSqnr, FisherSqnr, FisherLoss };
  static QString proxy_name(Proxy proxy);
  static double proxy_harm(const LayerSensitivity& layer, Proxy proxy);  // −SQNR in dB, or the Fisher loss
  static double proxy_spearman(const SensitivityScan& scan, Proxy proxy);

  using QAbstractTableModel::QAbstractTableModel;

  // Every scan must cover the same layers in the same order (as one experiment's scans do).
  void scans_set(std::vector<SensitivityScan> scans);
  const std::vector<SensitivityScan>& scans() const { return scans_; }
  QStringList formats() const;
  QString layer_name(int row) const;
  // The layers by their largest ΔKL over the formats, worst first (at most `count`).
  QStringList worst(int count) const;
  // Long form: layer, parameters, format, bits_per_weight, delta_kl, kl_p99, top1_agreement and the
  // proxies, RFC 4180 quoting.
  QByteArray csv() const;

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  std::vector<SensitivityScan> scans_;
};

}  // namespace qs
