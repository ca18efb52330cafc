// The plan editor: the model's layers (embedding, linear layers, head) with their statistics and the
// format the plan gives each, edited in the table (double-click the format, or select rows and Set
// Format for all of them in one undo step), and a strip of the plan's totals updated on every edit.
#pragma once
#include <QStringList>
#include <QTimer>
#include <map>
#include <memory>

#include "job_runner.hpp"
#include "panel.hpp"

class QLabel;
class QLineEdit;
class QSortFilterProxyModel;
class QTableView;

namespace qs {

class FormatDelegate;
struct TensorMetrics;
class PlanTableModel;

class LayersPanel : public Panel {
  Q_OBJECT

 public:
  explicit LayersPanel(Workbench& workbench, QWidget* parent = nullptr);

  QJsonObject state() const override;
  void state_restore(const QJsonObject& state) override;

  QTableView* view() const { return view_; }
  PlanTableModel* table() const { return table_; }
  QSortFilterProxyModel* proxy() const { return proxy_; }
  FormatDelegate* delegate() const { return delegate_; }
  QStringList selected_layers() const;
  // Sets (or, with empty text, resets) the format of every selected layer in one undo step; returns
  // the reason it could not, also shown under the table.
  QString selection_format_set(const QString& text);
  // The selected rows as tab-separated text with a header line.
  QString selection_tsv() const;
  // The totals strip's text.
  QString totals_text() const;
  // Metric jobs submitted and not yet reported.
  size_t metrics_pending() const { return metrics_jobs_.size(); }

 Q_SIGNALS:
  // The metrics of `layer` under `format` are in the table (or failed).
  void metrics_shown(const QString& layer, const QString& format);

 private:
  void model_show();
  void plan_show();
  void preview_show();
  void statistics_show(const QString& error);
  void message_show(const QString& text);
  void count_update();
  void context_menu(const QPoint& position);
  void format_dialog();
  // Submits a job for each row in view whose metrics are missing, and cancels those of rows no longer
  // wanted (scrolled away, or their format changed).
  void metrics_request();

  QLabel* title_;
  QLabel* summary_;
  QLineEdit* filter_;
  QLabel* count_;
  PlanTableModel* table_;
  QSortFilterProxyModel* proxy_;
  QTableView* view_;
  FormatDelegate* delegate_;
  QLabel* totals_;
  QLabel* message_;
  // A worker of its own, so a histogram in the inspector never waits behind a screenful of layers.
  JobRunner* metrics_runner_;
  QTimer metrics_timer_;  // coalesces scrolling and edits into one request
  struct MetricsJob {
    QString layer, format;
    std::shared_ptr<TensorMetrics> result;
  };
  std::map<JobRunner::JobId, MetricsJob> metrics_jobs_;
};

}  // namespace qs
