// Up to four formats side by side on the selected layer: their histograms as small multiples on
// linked axes (or their errors in one overlay plot) and a metrics table with the best value of each
// column marked; the chosen format applied to the layer or the selection in one undoable step; the
// same slots run over many layers as one cancellable job. Moving through the layer table re-runs the
// comparison for the layer it stops on only: requests are coalesced, tagged and the running one is
// cancelled, so no work queues for the layers passed over.
#pragma once
#include <QList>
#include <QString>
#include <array>
#include <memory>

#include "job_runner.hpp"
#include "panel.hpp"
#include "workbench.hpp"

class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QStackedWidget;
class QTableView;
class QTabWidget;
class QTimer;

namespace qs {

class CompareTableModel;
class PlotView;
class WeightHistogramPlot;
struct CompareOutcome;

class ComparePanel : public Panel {
  Q_OBJECT

 public:
  explicit ComparePanel(Workbench& workbench, QWidget* parent = nullptr);

  QJsonObject state() const override;
  void state_restore(const QJsonObject& state) override;

  QLineEdit* slot_edit(int slot) const { return slot_edits_[size_t(slot)]; }
  WeightHistogramPlot* slot_plot(int slot) const { return slot_plots_[size_t(slot)]; }
  PlotView* overlay() const { return overlay_; }
  // Small multiples or one overlay of the errors.
  QComboBox* layout_box() const { return layout_box_; }
  // What each small multiple shows (WeightHistogramPlot::QuantizedView's order).
  QComboBox* view_box() const { return view_box_; }
  CompareTableModel* table() const { return table_; }
  QTableView* table_view() const { return table_view_; }
  CompareTableModel* across() const { return across_; }
  JobRunner* jobs() const { return jobs_; }
  // Plots drawn for the layer on screen.
  int plots_shown() const;

  // The format of the table's selected row given to the current layer, or to the table's selected
  // layers; returns the one-line reason when it cannot apply.
  QString apply(bool to_selection);
  // The slots over the layers selected in the layer table (every layer when none is), as one job.
  void across_run();
  void cancel() override;

 Q_SIGNALS:
  // The comparison of `layer` is on screen with `plots` histograms (one per format that applied).
  void compared(const QString& layer, int plots);
  void across_done(int rows);

 private:
  void slots_edited();
  void request();
  void results_show();
  void plots_draw();
  void overlay_draw();
  void axes_unify();
  void status_set(const QString& text, bool error = false);
  void buttons_update();

  std::array<QLineEdit*, Workbench::kCompareSlots> slot_edits_{};
  std::array<WeightHistogramPlot*, Workbench::kCompareSlots> slot_plots_{};
  QComboBox* layout_box_;
  QComboBox* view_box_;
  QStackedWidget* stack_;
  PlotView* overlay_;
  QLabel* status_;
  QProgressBar* progress_;
  QPushButton* apply_layer_;
  QPushButton* apply_selection_;
  QPushButton* across_button_;
  QPushButton* cancel_button_;
  QTabWidget* tables_;
  CompareTableModel* table_;
  QTableView* table_view_;
  CompareTableModel* across_;
  QTimer* later_;
  JobRunner* jobs_;

  bool stale_ = true;  // the layer or slots changed while the panel was hidden
  JobRunner::JobId compare_id_ = 0;
  std::shared_ptr<CompareOutcome> pending_;
  std::shared_ptr<const CompareOutcome> shown_;
  JobRunner::JobId across_id_ = 0;
  std::shared_ptr<CompareOutcome> across_pending_;
};

}  // namespace qs
