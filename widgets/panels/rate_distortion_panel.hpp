// Rate–distortion: every plan of the study on one plot, so plans compare at equal size. Uniform plans
// per family (a batch run's sweep, and each candidate's predicted loss), the predicted frontier of the
// scanned candidates (allocation_frontier, a step line: the least predicted loss at each size), and
// measured points (every plan evaluated in this session and the evaluations of an opened results file),
// with a line at the current plan's size. x is bits per weight or model MiB, y KL mean or perplexity
// (log scale from the plot's menu). Hover reads a point out; clicking one loads its plan (one undo
// step); "Evaluate This Point" measures the loaded plan in the evaluation panel.
#pragma once
#include <QList>
#include <QString>
#include <map>
#include <optional>
#include <vector>

#include "job_runner.hpp"
#include "panel.hpp"
#include "quantscope/allocate.hpp"

class QCPAbstractPlottable;
class QCPItemStraightLine;
class QCPItemText;
class QComboBox;
class QLabel;
class QPushButton;

namespace qs {

class PlotView;

class RateDistortionPanel : public Panel {
  Q_OBJECT

 public:
  explicit RateDistortionPanel(Workbench& workbench, QWidget* parent = nullptr);

  QJsonObject state() const override;
  void state_restore(const QJsonObject& state) override;
  QSize sizeHint() const override;
  void cancel() override;

  // One point of the plot.
  struct Point {
    QString series;  // the legend entry: a family, "predicted frontier", "evaluated", a results kind
    QString label;   // what the readout names: a format, a plan's label, a budget
    double bits_per_weight = 0, model_bytes = 0, kl = 0, perplexity = 0;
    bool predicted = false;          // a predicted loss (no perplexity), not a measurement
    std::optional<QuantPlan> plan;   // what clicking loads; absent when the source keeps no plan
    int frontier = -1;               // or the index in frontier() whose allocation it loads
  };
  const std::vector<Point>& points() const { return points_; }
  PlotView* plot_view() const { return plot_; }
  QComboBox* x_box() const { return x_; }
  QComboBox* y_box() const { return y_; }
  QLabel* status_label() const { return status_; }
  // The frontier points once its job has landed (allocation_frontier of the workbench's problem).
  const std::vector<Allocation>& frontier() const { return frontier_; }
  // Loads point `index`'s plan as one undo step; the reason when it has none or it does not apply.
  QString point_load(int index);
  // Loads the last clicked point's plan if not yet loaded and asks for its evaluation.
  QString point_evaluate();
  // The point a graph's data index shows (what a click hits), or -1.
  int point_at(const QCPAbstractPlottable* graph, int data_index) const;

 Q_SIGNALS:
  void drawn();

 private:
  void frontier_compute();
  void points_collect();
  void draw();

  PlotView* plot_;
  QComboBox* x_;
  QComboBox* y_;
  QPushButton* evaluate_;
  QLabel* status_;
  QCPItemStraightLine* current_ = nullptr;
  QList<QCPItemText*> labels_;  // the names of this session's measured points
  std::vector<Point> points_;
  // Each graph's points in its (x-sorted) data order.
  std::map<const QCPAbstractPlottable*, std::vector<int>> graph_points_;
  int clicked_ = -1;
  std::vector<Allocation> frontier_;
  std::shared_ptr<const AllocationProblem> frontier_problem_;
  JobRunner* runner_;
  JobRunner::JobId id_ = 0;
  std::shared_ptr<std::vector<Allocation>> pending_;
};

}  // namespace qs
