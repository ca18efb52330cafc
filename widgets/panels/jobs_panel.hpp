// Jobs: every job of the window (loading, statistics, quantizations, evaluations, scans, solves,
// exports) with its state, progress, elapsed time and full error text; cancel one, the selected ones
// or all of them; Ctrl+C copies the rows. QAT runs are processes of their own, stopped from their panel.
#pragma once
#include "panel.hpp"

class QTableView;

namespace qs {

class JobListModel;

class JobsPanel : public Panel {
  Q_OBJECT

 public:
  explicit JobsPanel(Workbench& workbench, QWidget* parent = nullptr);
  QSize sizeHint() const override;
  JobListModel* model() const { return model_; }
  QTableView* view() const { return view_; }
  // Esc here cancels the selected jobs.
  void cancel() override;

 private:
  JobListModel* model_;
  QTableView* view_;
};

}  // namespace qs
