// The workbench window: the linear layers of the open model on the left, the weight histogram of the
// selected layer on the right, or, with a format typed above the plot, what that format does to the
// layer. Loading, statistics, histograms and quantization run as jobs off the UI thread; the window
// only submits them and shows their results, progress and errors.
#pragma once
#include <QMainWindow>
#include <QString>
#include <QStringList>
#include <memory>

#include "job_runner.hpp"

class QLabel;
class QLineEdit;
class QMenu;
class QProgressBar;
class QSortFilterProxyModel;
class QSplitter;
class QTableView;
class QToolButton;

namespace qs {

class LayerTableModel;
class Model;
class WeightHistogramPlot;
struct LoadResult;
struct HistogramResult;
struct WeightStatistics;
struct QuantizeResult;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  static constexpr int kRecentMax = 10;

  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // Opens a model (HF directory, .safetensors with config.json beside it, or llama2.c .bin) in a job.
  // The open model stays until the new one has loaded; a failure is shown in a non-blocking message box.
  void model_open(const QString& path);
  // Shows that no model is open, with `reason` (e.g. why the demo model could not be found).
  void empty_state_show(const QString& reason);

 Q_SIGNALS:
  void model_loaded(const QString& path);
  void model_load_failed(const QString& error);
  // The table's statistics columns are filled (or say why not, when `ok` is false).
  void statistics_shown(bool ok);
  // The histogram of `layer` is on screen.
  void histogram_shown(const QString& layer);
  // `layer` quantized in the format of the format box is on screen, with its `levels` grid or codebook.
  void quantized_shown(const QString& layer, int levels);
  // The format could not apply to `layer` (error is the core's one-line message).
  void quantize_failed(const QString& layer, const QString& error);

 protected:
  void closeEvent(QCloseEvent* event) override;
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

 private:
  void menus_create();
  void status_bar_create();
  void settings_restore();
  void settings_save() const;
  void open_file_dialog();
  void open_folder_dialog();
  void about_show();
  void recent_add(const QString& path);
  void recent_remove(const QString& path);
  void recent_menu_update();
  QStringList recent_files() const;
  QString dialog_directory() const;

  void job_progress(JobRunner::JobId id, double fraction, const QString& message);
  void job_finished(JobRunner::JobId id);
  void job_failed(JobRunner::JobId id, const QString& error);
  void job_cancelled(JobRunner::JobId id);
  void load_end(const QString& status);
  void model_show(const QString& path);
  void statistics_request();
  void statistics_end(const QString& error);
  void job_widgets_show(bool on);
  void error_show(const QString& text, const QString& detail);
  void layer_show(const QModelIndex& proxy_index);
  void histogram_request(const QModelIndex& proxy_index);
  void format_changed();
  void quantize_request(const QModelIndex& proxy_index);
  void format_status_set(const QString& text, bool error);
  void layer_count_update();

  JobRunner* runner_;
  // Statistics read every weight of the model, minutes for an 8B one: on a worker of their own, so that
  // a layer's histogram or quantization is never queued behind them.
  JobRunner* statistics_runner_;
  LayerTableModel* table_;
  QSortFilterProxyModel* proxy_;
  QTableView* view_;
  QLineEdit* filter_;
  QLabel* model_title_;
  QLabel* model_summary_;
  QLabel* layer_count_;
  WeightHistogramPlot* plot_;
  QLineEdit* format_edit_;
  QLabel* format_status_;
  QSplitter* splitter_;
  QMenu* recent_menu_ = nullptr;
  QLabel* job_label_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QToolButton* cancel_ = nullptr;

  std::shared_ptr<const Model> model_;
  QString model_path_;

  JobRunner::JobId load_id_ = 0;
  QString load_path_;
  std::shared_ptr<LoadResult> load_result_;

  JobRunner::JobId statistics_id_ = 0;
  std::shared_ptr<WeightStatistics> statistics_result_;

  JobRunner::JobId histogram_id_ = 0;
  QString histogram_layer_;
  std::shared_ptr<HistogramResult> histogram_result_;

  JobRunner::JobId quantize_id_ = 0;
  QString quantize_layer_;
  std::shared_ptr<QuantizeResult> quantize_result_;
};

}  // namespace qs
