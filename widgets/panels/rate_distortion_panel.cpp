// RateDistortionPanel: the points of the study gathered from the workbench (results, scans, history),
// the frontier job, the plot and what a click on a point does.
#include "rate_distortion_panel.hpp"

#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <qcustomplot.h>

#include "eval_history_model.hpp"
#include "plot_style.hpp"
#include "plot_view.hpp"
#include "quantscope/error.hpp"
#include "quantscope/format.hpp"
#include "workbench.hpp"

namespace qs {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;
const char* const kFrontier = "predicted frontier";

const ResultColumn* column_find(const ResultTable& table, const std::string& name, bool text) {
  for (const ResultColumn& c : table.columns)
    if (c.name == name && c.is_text() == text) return &c;
  return nullptr;
}

// experiment_run's file names for a budget's plan: "2.5 bits/weight" -> plans/2_5_bits_weight.json.
QString slug(const QString& text) {
  QString out;
  for (const QChar c : text) out += c.isLetterOrNumber() && c.unicode() < 128 ? c.toLower() : QChar('_');
  return out;
}

}  // namespace

RateDistortionPanel::RateDistortionPanel(Workbench& workbench, QWidget* parent) : Panel(workbench, parent) {
  plot_ = new PlotView;
  plot_->setObjectName("rdPlot");
  plot_->setMinimumSize(160, 60);
  plot_->log_y_set(true);
  x_ = new QComboBox;
  x_->setObjectName("rdX");
  x_->addItem(tr("bits/weight"));
  x_->addItem(tr("model MiB"));
  y_ = new QComboBox;
  y_->setObjectName("rdY");
  y_->addItem(tr("KL mean"));
  y_->addItem(tr("perplexity"));
  y_->setToolTip(tr("KL mean: nats per token of KL(base ‖ quantized), measured, or the sum of the scanned layers' "
                    "ΔKL where predicted. Perplexity: measured points only"));
  evaluate_ = new QPushButton(tr("Evaluate This Point"));
  evaluate_->setObjectName("rdEvaluate");
  evaluate_->setToolTip(tr("Load the clicked point's plan and measure it in the Evaluation panel (F5's text and tasks)"));
  evaluate_->setEnabled(false);
  status_ = new QLabel;
  status_->setObjectName("rdStatus");
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* row = new QHBoxLayout;
  row->addWidget(new QLabel(tr("Plot")));
  row->addWidget(y_);
  row->addWidget(new QLabel(tr("against")));
  row->addWidget(x_);
  row->addStretch(1);
  row->addWidget(evaluate_);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(8, 8, 8, 4);
  layout->addLayout(row);
  layout->addWidget(plot_, 1);
  layout->addWidget(status_);

  runner_ = new JobRunner(this);
  connect(runner_, &JobRunner::finished, this, [this](JobRunner::JobId id) {
    if (id != id_) return;
    id_ = 0;
    frontier_ = std::move(*pending_);
    points_collect();
  });
  connect(runner_, &JobRunner::failed, this, [this](JobRunner::JobId id, const QString& error) {
    if (id != id_) return;
    id_ = 0;
    status_show(status_, error, true);
  });
  connect(runner_, &JobRunner::cancelled, this, [this](JobRunner::JobId id) {
    if (id == id_) id_ = 0;
  });
  connect(x_, &QComboBox::currentIndexChanged, this, &RateDistortionPanel::draw);
  connect(y_, &QComboBox::currentIndexChanged, this, &RateDistortionPanel::draw);
  connect(plot_, &PlotView::log_y_changed, this, &RateDistortionPanel::draw);
  connect(plot_->plot(), &QCustomPlot::plottableClick, this, [this](QCPAbstractPlottable* graph, int index, QMouseEvent*) {
    const int point = point_at(graph, index);
    if (point < 0) return;
    const QString error = point_load(point);
    if (!error.isEmpty()) status_show(status_, error, true);
  });
  connect(evaluate_, &QPushButton::clicked, this, [this] {
    const QString error = point_evaluate();
    if (!error.isEmpty()) status_show(status_, error, true);
  });
  connect(&workbench_, &Workbench::results_changed, this, &RateDistortionPanel::frontier_compute);
  connect(&workbench_, &Workbench::model_changed, this, &RateDistortionPanel::frontier_compute);
  connect(&workbench_, &Workbench::plan_changed, this, &RateDistortionPanel::draw);
  connect(workbench_.history(), &QAbstractItemModel::rowsInserted, this, &RateDistortionPanel::points_collect);
  connect(workbench_.history(), &QAbstractItemModel::modelReset, this, &RateDistortionPanel::points_collect);
  frontier_compute();
}

QSize RateDistortionPanel::sizeHint() const { return {700, 300}; }

void RateDistortionPanel::cancel() { runner_->cancel(id_); }

void RateDistortionPanel::frontier_compute() {
  cancel();
  frontier_.clear();
  frontier_problem_ = workbench_.allocation();
  points_collect();
  if (!frontier_problem_) return;
  auto out = std::make_shared<std::vector<Allocation>>();
  const std::shared_ptr<const AllocationProblem> problem = frontier_problem_;
  id_ = runner_->submit("frontier", tr("Predicted rate–distortion frontier"),
                        [problem, out](JobContext&) { *out = allocation_frontier(*problem); });
  pending_ = out;
}

void RateDistortionPanel::points_collect() {
  points_.clear();
  clicked_ = -1;
  evaluate_->setEnabled(false);
  const std::shared_ptr<const AllocationProblem>& problem = frontier_problem_;
  if (problem) {
    // A frontier of a 32-block model has thousands of points: each gets its plan when clicked.
    for (size_t i = 0; i < frontier_.size(); ++i) {
      const Allocation& a = frontier_[i];
      points_.push_back({tr(kFrontier), tr("allocation at %1 bits/weight").arg(a.bits_per_weight, 0, 'f', 3),
                         a.bits_per_weight, double(a.model_bytes), a.predicted_loss, NAN, true, std::nullopt, int(i)});
    }
    for (int c = 0; c < int(problem->candidates.size()); ++c) {
      const Allocation a = allocation_uniform(*problem, c);
      const FormatSpec& format = problem->candidates[size_t(c)];
      points_.push_back({tr("uniform (predicted)"), QString::fromStdString(format_print(format)), a.bits_per_weight,
                         double(a.model_bytes), a.predicted_loss, NAN, true, plan_uniform(format), -1});
    }
  }
  // A results file's evaluations: its sweep as a line per family, its plans and allocations as points.
  if (const std::shared_ptr<const ResultSet>& results = workbench_.results())
    if (const ResultTable* table = results->table_find("evaluations")) {
      const auto* name = column_find(*table, "name", true);
      const auto* kind = column_find(*table, "kind", true);
      const auto* family = column_find(*table, "family", true);
      const auto* format = column_find(*table, "format", true);
      const auto* bits = column_find(*table, "bits_per_weight", false);
      const auto* bytes = column_find(*table, "model_bytes", false);
      const auto* kl = column_find(*table, "kl_mean", false);
      const auto* ppl = column_find(*table, "perplexity", false);
      const QDir plans = QDir(QFileInfo(workbench_.results_path()).absolutePath()).filePath("plans");
      if (name && kind && bits && kl)
        for (size_t r = 0; r < table->rows(); ++r) {
          const QString k = QString::fromStdString(kind->texts()[r]);
          if (k == "reference") continue;
          Point p;
          p.label = QString::fromStdString(name->texts()[r]);
          p.bits_per_weight = bits->numbers()[r];
          p.model_bytes = bytes ? bytes->numbers()[r] : NAN;
          p.kl = kl->numbers()[r];
          p.perplexity = ppl ? ppl->numbers()[r] : NAN;
          const QString fam = family ? QString::fromStdString(family->texts()[r]) : QString();
          const QString fmt = format ? QString::fromStdString(format->texts()[r]) : QString();
          if ((k == "sweep" || k == "uniform") && !fam.isEmpty()) {
            p.series = tr("%1 (measured)").arg(fam);
            try {
              p.plan = plan_uniform(format_parse(fmt.toStdString()));
            } catch (const Error&) {
            }
          } else if (k == "qat") {
            p.series = tr("QAT (measured)");
          } else {
            p.series = tr("results: %1").arg(k);
            const QString file = plans.filePath(slug(p.label) + ".json");
            if ((k == "allocated" || k == "frontier") && QFileInfo(file).isFile()) {
              try {
                p.plan = plan_load(QFile::encodeName(file).toStdString());
              } catch (const Error&) {
              }
            }
          }
          points_.push_back(std::move(p));
        }
    }
  for (const EvalRecord& r : workbench_.history()->records()) {
    Point p{tr("evaluated this session"), r.label, r.metrics.bits_per_weight, double(r.metrics.model_bytes),
            r.metrics.kl.mean, r.metrics.kl.model.perplexity, false, std::nullopt, -1};
    try {
      p.plan = plan_parse(r.plan_json.toStdString(), r.label.toStdString());
    } catch (const Error&) {
    }
    points_.push_back(std::move(p));
  }
  draw();
}

void RateDistortionPanel::draw() {
  QCustomPlot& plot = *plot_->plot();
  plot.clearGraphs();
  graph_points_.clear();
  const bool bytes = x_->currentIndex() == 1, perplexity = y_->currentIndex() == 1, log_y = plot_->log_y();
  QStringList order;  // series in order of first appearance
  for (const Point& p : points_)
    if (!order.contains(p.series)) order << p.series;
  int hidden = 0;
  for (int s = 0; s < order.size(); ++s) {
    std::vector<int> members;
    for (int i = 0; i < int(points_.size()); ++i) {
      const Point& p = points_[size_t(i)];
      if (p.series != order[s]) continue;
      const double x = bytes ? p.model_bytes / kMiB : p.bits_per_weight, y = perplexity ? p.perplexity : p.kl;
      if (perplexity && p.predicted) continue;  // a predicted loss has no perplexity
      if (!std::isfinite(x) || !std::isfinite(y) || (log_y && y <= 0)) {
        ++hidden;
        continue;
      }
      members.push_back(i);
    }
    if (members.empty()) continue;
    auto x_of = [&](int i) { return bytes ? points_[size_t(i)].model_bytes / kMiB : points_[size_t(i)].bits_per_weight; };
    std::stable_sort(members.begin(), members.end(), [&](int a, int b) { return x_of(a) < x_of(b); });
    QVector<double> xs, ys;
    for (int i : members) {
      xs << x_of(i);
      ys << (perplexity ? points_[size_t(i)].perplexity : points_[size_t(i)].kl);
    }
    const QColor color = plot_color(s);
    QCPGraph* graph = plot.addGraph();
    graph->setName(order[s]);
    graph->setData(xs, ys, true);
    const bool frontier = order[s] == tr(kFrontier);
    const bool line = frontier || order[s].endsWith(tr("(measured)"));
    graph->setLineStyle(frontier ? QCPGraph::lsStepLeft : line ? QCPGraph::lsLine : QCPGraph::lsNone);
    graph->setPen(QPen(color, frontier ? 1.5 : 2));
    const bool predicted = points_[size_t(members.front())].predicted;
    graph->setScatterStyle(QCPScatterStyle(frontier ? QCPScatterStyle::ssDisc : QCPScatterStyle::ssCircle, color,
                                           predicted ? QColor(Qt::white) : color, frontier ? 4 : 8));
    graph_points_[graph] = members;
  }
  plot.legend->setVisible(plot.graphCount() > 0);
  plot.xAxis->setLabel(bytes ? tr("model size, MiB") : tr("bits per weight"));
  plot.yAxis->setLabel(perplexity ? tr("perplexity") : tr("KL, nats/token"));
  plot_grids_set(plot);
  axis_log_set(plot.yAxis, log_y);
  if (plot.graphCount() > 0) {
    plot.rescaleAxes();
    axis_pad(plot.xAxis);
    axis_pad(plot.yAxis);
  }
  // Measured plans of this session carry their names, as in the evaluation panel's plot.
  for (QCPItemText* label : labels_) plot.removeItem(label);
  labels_.clear();
  for (const auto& [graph, members] : graph_points_) {
    if (graph->name() != tr("evaluated this session")) continue;
    const auto* g = static_cast<const QCPGraph*>(graph);
    for (size_t k = 0; k < members.size(); ++k) {
      auto* label = new QCPItemText(&plot);
      label->position->setCoords(g->data()->at(int(k))->key, g->data()->at(int(k))->value);
      label->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
      label->setPadding(QMargins(4, 0, 0, 2));
      label->setText(points_[size_t(members[k])].label);
      label->setClipToAxisRect(true);
      label->setSelectable(false);
      labels_ << label;
    }
  }
  // The current plan's size.
  if (current_) plot.removeItem(current_);
  current_ = nullptr;
  const PlanTotals& t = workbench_.totals();
  const double x_now = bytes ? double(t.model_bytes) / kMiB : t.bits_per_weight;
  if (workbench_.model() && t.quantized_layers > 0 && std::isfinite(x_now)) {
    current_ = new QCPItemStraightLine(&plot);
    current_->point1->setCoords(x_now, 0);
    current_->point2->setCoords(x_now, 1);
    current_->setPen(QPen(kPlotMutedText, 1, Qt::DashLine));
    current_->setSelectable(false);
  }
  QString text;
  if (points_.empty())
    text = tr("No points yet — evaluate plans (F5), run a sensitivity scan (Ctrl+R) for the predicted frontier, or "
              "open a batch run's results.h5");
  else
    text = tr("Click a point to load its plan (undoable); the dashed line is the current plan's size.%1")
               .arg(hidden ? tr(" %n point(s) without a value on these axes not shown.", nullptr, hidden) : QString());
  if (id_ != 0) text = tr("Computing the predicted frontier… ") + text;
  status_show(status_, text, false);
  plot_->home_save();
  plot.replot();
  Q_EMIT drawn();
}

int RateDistortionPanel::point_at(const QCPAbstractPlottable* graph, int data_index) const {
  const auto found = graph_points_.find(graph);
  if (found == graph_points_.end() || data_index < 0 || data_index >= int(found->second.size())) return -1;
  return found->second[size_t(data_index)];
}

QString RateDistortionPanel::point_load(int index) {
  if (index < 0 || index >= int(points_.size())) return tr("No such point");
  const Point& p = points_[size_t(index)];
  std::optional<QuantPlan> plan = p.plan;
  if (p.frontier >= 0 && frontier_problem_) plan = allocation_plan(*frontier_problem_, frontier_[size_t(p.frontier)]);
  if (!plan) return tr("%1: its source keeps no plan to load").arg(p.label);
  const QString label = p.label;  // plan_replace redraws through plan_changed
  const QString error = workbench_.plan_replace(*plan, tr("Load plan of %1 from the rate–distortion plot").arg(label));
  if (!error.isEmpty()) return error;
  clicked_ = index;
  evaluate_->setEnabled(true);
  status_show(status_, tr("Loaded the plan of %1 (%2)").arg(label, p.series), false);
  return {};
}

QString RateDistortionPanel::point_evaluate() {
  if (clicked_ < 0) return tr("Click a point first");
  workbench_.evaluation_request();
  workbench_.panel_show("evaluation");
  return {};
}

QJsonObject RateDistortionPanel::state() const { return {{"x", x_->currentIndex()}, {"y", y_->currentIndex()}}; }

void RateDistortionPanel::state_restore(const QJsonObject& state) {
  if (state.contains("x")) x_->setCurrentIndex(state["x"].toInt());
  if (state.contains("y")) y_->setCurrentIndex(state["y"].toInt());
}

}  // namespace qs
