// Which layer hurts (Ctrl+R): a sensitivity scan of candidate formats on the open model — each linear
// layer quantized alone, the ΔKL it costs on a calibration text, next to the cheap proxies — run as
// `quantscope-cli sensitivity` runs it, in a results folder per model whose cache makes a repeated scan
// free. It shows the workbench's results (this scan, or a batch run's results.h5): grouped ΔKL bars in
// depth order or sorted, the worst layers (a click selects the layer everywhere), the table, and each
// proxy against the measured ΔKL with Spearman's ρ. Export CSV writes the table.
#pragma once
#include <QString>

#include "job_runner.hpp"
#include "panel.hpp"

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableView;
class QTabWidget;

namespace qs {

class PlotView;
class SensitivityModel;
struct Experiment;

class SensitivityPanel : public Panel {
  Q_OBJECT

 public:
  explicit SensitivityPanel(Workbench& workbench, QWidget* parent = nullptr);

  QJsonObject state() const override;
  void state_restore(const QJsonObject& state) override;
  QSize sizeHint() const override;

  QLineEdit* formats_edit() const { return formats_; }
  QLineEdit* calibration_edit() const { return calibration_; }
  QLineEdit* evaluation_edit() const { return evaluation_; }
  QSpinBox* max_tokens_box() const { return max_tokens_; }
  SensitivityModel* model() const { return model_; }
  PlotView* bars_plot() const { return bars_; }
  PlotView* proxy_plot() const { return proxy_; }
  QComboBox* order_box() const { return order_; }
  QListWidget* worst_list() const { return worst_; }
  QLabel* status_label() const { return status_; }
  JobRunner* runner() const { return runner_; }

  // Starts a scan with the inputs shown; false, with the reason shown, when they are incomplete.
  bool scan();
  void cancel() override;
  bool running() const { return id_ != 0; }
  // The CLI line that makes the same scan into the same folder (so it shares the cache).
  QString command() const;
  // The folder a scan of the open model writes into: results.h5 and cache/.
  QString scan_dir() const;
  // Writes the table (SensitivityModel::csv) atomically; throws qs::Error naming the file.
  void csv_write(const QString& path) const;
  // The layer under bar `key` (1-based, in the bars' current order).
  QString bar_layer(int key) const;

 Q_SIGNALS:
  void scan_finished();
  void scan_failed(const QString& error);

 private:
  void results_show();
  void bars_draw();
  void proxy_draw();
  void model_show();
  void job_end();
  Experiment experiment() const;

  QLineEdit* formats_;
  QLineEdit* calibration_;
  QLineEdit* evaluation_;
  QSpinBox* max_tokens_;
  QCheckBox* proxies_;
  QPushButton* scan_;
  QPushButton* cancel_;
  QProgressBar* progress_;
  QLabel* status_;
  QLabel* source_;
  QListWidget* worst_;
  QTabWidget* tabs_;
  PlotView* bars_;
  QComboBox* order_;
  QStringList bar_layers_;  // the layers of the bars, in their order
  QTableView* table_;
  SensitivityModel* model_;
  PlotView* proxy_;
  QComboBox* proxy_format_;
  QComboBox* proxy_kind_;
  QLabel* proxy_rho_;
  JobRunner* runner_;
  JobRunner::JobId id_ = 0;
};

}  // namespace qs
