// BudgetPanel: budget ↔ slider mapping, the tagged solve, the preview, the uniform comparison, Apply.
#include "budget_panel.hpp"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSlider>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <map>

#include "quantscope/error.hpp"
#include "quantscope/format.hpp"
#include "workbench.hpp"

namespace qs {
namespace {

constexpr int kSteps = 1000;
constexpr double kMiB = 1024.0 * 1024.0;

// What the smallest and largest allocations hold: bits per weight, and model bytes.
struct Extent {
  double bpw_lo = 0, bpw_hi = 0, bytes_lo = 0, bytes_hi = 0;
};

Extent extent_of(const AllocationProblem& p) {
  double bits_lo = 0, bits_hi = 0, bytes_lo = double(p.fixed_bytes), bytes_hi = double(p.fixed_bytes), params = 0;
  for (const AllocationLayer& l : p.layers) {
    const auto [lo, hi] = std::minmax_element(l.bits.begin(), l.bits.end());
    bits_lo += double(*lo);
    bits_hi += double(*hi);
    bytes_lo += double((*lo + 7) / 8);
    bytes_hi += double((*hi + 7) / 8);
    params += double(l.parameters);
  }
  return {params ? bits_lo / params : 0, params ? bits_hi / params : 0, bytes_lo, bytes_hi};
}

}  // namespace

BudgetPanel::BudgetPanel(Workbench& workbench, QWidget* parent) : Panel(workbench, parent) {
  unit_ = new QComboBox;
  unit_->setObjectName("budgetUnit");
  unit_->addItem(tr("bits/weight"));
  unit_->addItem(tr("model MiB"));
  unit_->setToolTip(tr("Budget as average storage bits per weight over the scanned layers, or as the whole model's "
                       "size (the layers left as stored included)"));
  slider_ = new QSlider(Qt::Horizontal);
  slider_->setObjectName("budgetSlider");
  slider_->setRange(0, kSteps);
  value_ = new QDoubleSpinBox;
  value_->setObjectName("budgetValue");
  value_->setKeyboardTracking(false);
  apply_ = new QPushButton(tr("Apply as Plan"));
  apply_->setObjectName("budgetApply");
  apply_->setToolTip(tr("Make the previewed allocation the plan: one exact-name rule per layer, one undo step"));
  clear_ = new QPushButton(tr("Clear Preview"));
  range_ = new QLabel;
  range_->setStyleSheet("color: #787878;");
  summary_ = new QLabel;
  summary_->setObjectName("budgetSummary");
  summary_->setWordWrap(true);
  summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  summary_->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  status_ = new QLabel;
  status_->setWordWrap(true);
  status_->hide();

  auto* row = new QHBoxLayout;
  row->addWidget(new QLabel(tr("Budget:")));
  row->addWidget(slider_, 1);
  row->addWidget(value_);
  row->addWidget(unit_);
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(range_, 1);
  buttons->addWidget(clear_);
  buttons->addWidget(apply_);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(8, 8, 8, 4);
  layout->addLayout(row);
  layout->addLayout(buttons);
  layout->addWidget(status_);
  layout->addWidget(summary_, 1);

  runner_ = new JobRunner(this);
  connect(runner_, &JobRunner::finished, this, [this](JobRunner::JobId id) {
    if (id != id_) return;
    id_ = 0;
    if (resolve_) return solve_again();
    allocation_ = job_->allocation;
    problem_ = job_->problem;
    frontier_ = job_->frontier;
    solved_budget_ = job_->budget;
    workbench_.plan_preview_set(allocation_plan(*problem_, *allocation_));
    summary_show();
    Q_EMIT solved();
  });
  connect(runner_, &JobRunner::failed, this, [this](JobRunner::JobId id, const QString& error) {
    if (id != id_) return;
    id_ = 0;
    if (resolve_) return solve_again();
    if (job_->frontier) {  // a budget below the smallest allocation: the frontier stands
      problem_ = job_->problem;
      frontier_ = job_->frontier;
    }
    allocation_.reset();
    workbench_.plan_preview_set(std::nullopt);
    summary_->clear();
    status_show(status_, error, true);
    apply_->setEnabled(false);
    Q_EMIT solved();
  });
  connect(runner_, &JobRunner::cancelled, this, [this](JobRunner::JobId id) {
    if (id == id_) id_ = 0;
  });
  connect(slider_, &QSlider::valueChanged, this, [this](int position) {
    const QSignalBlocker block(value_);
    value_->setValue(slider_to_value(position));
    solve();
  });
  connect(value_, &QDoubleSpinBox::valueChanged, this, [this](double value) {
    const QSignalBlocker block(slider_);
    slider_->setValue(value_to_slider(value));
    solve();
  });
  connect(unit_, &QComboBox::currentIndexChanged, this, &BudgetPanel::unit_change);
  connect(apply_, &QPushButton::clicked, this, [this] {
    const QString error = apply();
    if (!error.isEmpty()) status_show(status_, error, true);
  });
  connect(clear_, &QPushButton::clicked, this, [this] { workbench_.plan_preview_set(std::nullopt); });
  connect(&workbench_, &Workbench::results_changed, this, &BudgetPanel::problem_show);
  connect(&workbench_, &Workbench::model_changed, this, &BudgetPanel::problem_show);
  problem_show();
}

QSize BudgetPanel::sizeHint() const { return {520, 200}; }

AllocationBudget BudgetPanel::budget() const {
  if (unit_->currentIndex() == 0) return {AllocationBudget::Kind::BitsPerWeight, value_->value()};
  return {AllocationBudget::Kind::Bytes, std::floor(value_->value() * kMiB)};
}

double BudgetPanel::slider_to_value(int position) const { return lo_ + (hi_ - lo_) * double(position) / kSteps; }

int BudgetPanel::value_to_slider(double value) const {
  if (hi_ <= lo_) return 0;
  return std::clamp(int(std::lround((value - lo_) / (hi_ - lo_) * kSteps)), 0, kSteps);
}

void BudgetPanel::problem_show() {
  cancel();
  allocation_.reset();
  const std::shared_ptr<const AllocationProblem>& problem = workbench_.allocation();
  const bool usable = problem && !problem->layers.empty();
  for (QWidget* w : std::initializer_list<QWidget*>{slider_, value_, unit_, apply_, clear_}) w->setEnabled(usable);
  summary_->clear();
  if (!usable) {
    range_->clear();
    status_show(status_, workbench_.allocation_error().isEmpty()
                             ? tr("No scan yet — run a sensitivity scan (Ctrl+R) or open a results.h5 with one; its "
                                  "formats are the candidates")
                             : workbench_.allocation_error(),
                !workbench_.allocation_error().isEmpty());
    return;
  }
  status_show(status_, QString(), false);
  const double keep = pending_value_ >= 0 ? pending_value_ : -1;
  pending_value_ = -1;
  unit_change();
  if (keep >= 0) value_->setValue(keep);
}

void BudgetPanel::unit_change() {
  const std::shared_ptr<const AllocationProblem>& problem = workbench_.allocation();
  if (!problem || problem->layers.empty()) return;
  const Extent e = extent_of(*problem);
  const bool bits = unit_->currentIndex() == 0;
  lo_ = bits ? e.bpw_lo : e.bytes_lo / kMiB;
  hi_ = bits ? e.bpw_hi : e.bytes_hi / kMiB;
  // A little above the smallest size, so rounding never puts the low end out of reach.
  lo_ = bits ? std::ceil(lo_ * 1000) / 1000 : std::ceil(lo_ * 100) / 100;
  hi_ = std::max(hi_, lo_);
  const QSignalBlocker block(value_);
  value_->setDecimals(bits ? 3 : 2);
  value_->setSingleStep(bits ? 0.05 : 0.1);
  value_->setRange(lo_, std::ceil(hi_ * 1000) / 1000);
  range_->setText(bits ? tr("%1 to %2 bits/weight over %3 layers and %4 candidates")
                             .arg(lo_, 0, 'f', 3).arg(hi_, 0, 'f', 3).arg(problem->layers.size()).arg(problem->candidates.size())
                       : tr("%1 to %2 MiB").arg(lo_, 0, 'f', 2).arg(hi_, 0, 'f', 2));
  const double middle = (lo_ + hi_) / 2;
  value_->setValue(middle);
  {
    const QSignalBlocker block_slider(slider_);
    slider_->setValue(value_to_slider(middle));
  }
  solve();
}

void BudgetPanel::solve() {
  const std::shared_ptr<const AllocationProblem> problem = workbench_.allocation();
  if (!problem) return;
  // While one solve is out, later values only mark that another is wanted: when it reports, the value
  // then shown is solved. A burst of slider moves costs at most two solves however fast they are.
  if (id_ != 0) {
    resolve_ = true;
    return;
  }
  const AllocationBudget budget = this->budget();
  auto job = std::make_shared<SolveJob>(SolveJob{problem, budget, problem == problem_ ? frontier_ : nullptr, {}});
  id_ = runner_->submit("budget", tr("Allocation at %1").arg(QString::fromStdString(budget.print())),
                        [job](JobContext&) {
                          if (!job->frontier)
                            job->frontier = std::make_shared<const std::vector<Allocation>>(allocation_frontier(*job->problem));
                          job->allocation = allocation_pick(*job->frontier, job->budget);
                        });
  job_ = job;
}

void BudgetPanel::solve_again() {
  resolve_ = false;
  solve();
}

void BudgetPanel::summary_show() {
  if (!allocation_ || !problem_) return;
  status_show(status_, QString(), false);
  apply_->setEnabled(true);
  const Allocation& a = *allocation_;
  std::map<int, int> counts;
  for (int c : a.choice) ++counts[c];
  QStringList per_format;
  for (const auto& [c, n] : counts)
    per_format << tr("%1 × %2").arg(n).arg(QString::fromStdString(format_print(problem_->candidates[size_t(c)])));
  // The uniform plan of the largest size within the same budget.
  int nearest = -1;
  Allocation uniform;
  for (int c = 0; c < int(problem_->candidates.size()); ++c) {
    const Allocation u = allocation_uniform(*problem_, c);
    const bool fits = solved_budget_.kind == AllocationBudget::Kind::BitsPerWeight
                          ? u.bits_per_weight <= solved_budget_.value * (1 + 1e-12)
                          : double(u.model_bytes) <= solved_budget_.value;
    if (fits && (nearest < 0 || u.bits > uniform.bits)) {
      nearest = c;
      uniform = u;
    }
  }
  QString text = tr("<b>%1</b>: %2 bits/weight · model %3 MiB · predicted ΔKL %4 nats/token<br>%5")
                     .arg(QString::fromStdString(solved_budget_.print()))
                     .arg(a.bits_per_weight, 0, 'f', 3)
                     .arg(double(a.model_bytes) / kMiB, 0, 'f', 2)
                     .arg(a.predicted_loss, 0, 'g', 4)
                     .arg(per_format.join(" · "));
  if (nearest >= 0)
    text += tr("<br>Nearest uniform plan within it: %1 at %2 bits/weight, predicted ΔKL %3 (%4× the allocation's)")
                .arg(QString::fromStdString(format_print(problem_->candidates[size_t(nearest)])))
                .arg(uniform.bits_per_weight, 0, 'f', 3)
                .arg(uniform.predicted_loss, 0, 'g', 4)
                .arg(a.predicted_loss > 0 ? uniform.predicted_loss / a.predicted_loss : 1.0, 0, 'f', 2);
  else
    text += tr("<br>No uniform plan of the candidates fits this budget");
  summary_->setText(text);
}

QString BudgetPanel::apply() {
  if (!allocation_ || !problem_) return tr("No allocation to apply yet");
  const QString error = workbench_.plan_replace(allocation_plan(*problem_, *allocation_),
                                                tr("Apply allocation at %1").arg(QString::fromStdString(solved_budget_.print())));
  if (error.isEmpty()) workbench_.plan_preview_set(std::nullopt);
  return error;
}

void BudgetPanel::cancel() {
  resolve_ = false;
  runner_->cancel(id_);
  id_ = 0;  // its report is ignored from here
}

QJsonObject BudgetPanel::state() const { return {{"unit", unit_->currentIndex()}, {"value", value_->value()}}; }

void BudgetPanel::state_restore(const QJsonObject& state) {
  if (state.contains("unit")) unit_->setCurrentIndex(state["unit"].toInt());
  if (!state.contains("value")) return;
  if (workbench_.allocation()) value_->setValue(state["value"].toDouble());
  else pending_value_ = state["value"].toDouble();
}

}  // namespace qs
