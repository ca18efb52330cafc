// Workbench: the plan edits as undo commands that hold the plan before and after, so undo restores the
// plan exactly (plan_json byte for byte), however the edit was made.
#include "workbench.hpp"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QUndoCommand>
#include <QUndoStack>
#include <algorithm>

#include "eval_history_model.hpp"
#include "job_runner.hpp"
#include "quantscope/error.hpp"
#include "quantscope/model.hpp"
#include "quantscope/weight_statistics.hpp"

namespace qs {

class PlanEdit : public QUndoCommand {
 public:
  PlanEdit(Workbench& workbench, QuantPlan before, QuantPlan after, const QString& text)
      : QUndoCommand(text), workbench_(workbench), before_(std::move(before)), after_(std::move(after)) {}
  void redo() override { workbench_.plan_apply(after_); }
  void undo() override { workbench_.plan_apply(before_); }

 private:
  Workbench& workbench_;
  const QuantPlan before_, after_;
};

namespace {

QString text_of(const std::string& s) { return QString::fromStdString(s); }

std::filesystem::path path_native(const QString& path) { return QFile::encodeName(path).toStdString(); }

}  // namespace

Workbench::Workbench(QObject* parent)
    : QObject(parent), undo_(new QUndoStack(this)), jobs_(new JobRunner(this)), statistics_jobs_(new JobRunner(this)),
      history_(new EvalHistoryModel(this)) {
  // One format of each family to start from: what a first comparison usually asks.
  compare_slots_ = {"int4:g128", "quest4", "kmeans2", QString()};
  connect(statistics_jobs_, &JobRunner::progress, this, [this](JobRunner::JobId id, double fraction, const QString& m) {
    if (id == statistics_id_) Q_EMIT statistics_progress(fraction, m);
  });
  connect(statistics_jobs_, &JobRunner::finished, this, [this](JobRunner::JobId id) {
    if (id != statistics_id_) return;
    statistics_id_ = 0;
    statistics_ = std::move(statistics_pending_);
    Q_EMIT statistics_done(QString());
  });
  connect(statistics_jobs_, &JobRunner::failed, this, [this](JobRunner::JobId id, const QString& error) {
    if (id != statistics_id_) return;
    statistics_id_ = 0;
    Q_EMIT statistics_done(error);
  });
  connect(statistics_jobs_, &JobRunner::cancelled, this, [this](JobRunner::JobId id) {
    if (id != statistics_id_) return;
    statistics_id_ = 0;
    Q_EMIT statistics_done(tr("The statistics were cancelled"));
  });
}

Workbench::~Workbench() = default;

void Workbench::model_set(std::shared_ptr<const Model> model, const QString& path) {
  model_ = std::move(model);
  model_path_ = path;
  plan_path_.clear();
  selected_.clear();
  selected_layers_.clear();
  history_->clear();
  undo_->clear();
  plan_ = QuantPlan{};
  assignment_ = model_ ? plan_assign(plan_, *model_) : PlanAssignment{};
  totals_ = model_ ? plan_totals(assignment_, *model_) : PlanTotals{};
  statistics_jobs_->cancel(statistics_id_);  // they belong to the previous model
  statistics_id_ = 0;
  statistics_.reset();
  statistics_pending_.reset();
  preview_.reset();
  reference_path_.clear();
  allocation_update();
  Q_EMIT model_changed();
  Q_EMIT plan_changed();
  if (!model_) return;
  auto result = std::make_shared<WeightStatistics>();
  const std::shared_ptr<const Model> held = model_;
  const quint64 id = statistics_jobs_->submit(
      "statistics", tr("Weight statistics"),
      [held, result](JobContext& job) { *result = weight_statistics_compute(*held, weight_statistics_cache_dir(), &job); });
  statistics_id_ = id;
  statistics_pending_ = result;
}

void Workbench::results_set(std::shared_ptr<const ResultSet> results, const QString& path) {
  results_ = std::move(results);
  results_path_ = path;
  scans_.clear();
  allocation_error_.clear();
  if (results_) {
    try {
      scans_ = sensitivity_scans_from_results(*results_);
    } catch (const Error& e) {
      allocation_error_ = text_of(e.what());
    }
  }
  if (allocation_error_.isEmpty()) allocation_update();
  else allocation_.reset();
  plan_preview_set(std::nullopt);
  Q_EMIT results_changed();
}

void Workbench::results_open(const QString& path) {
  const QString file = QFileInfo(path).isDir() ? QDir(path).filePath("results.h5") : path;
  auto results = std::make_shared<const ResultSet>(results_read(path_native(file)));
  results_set(std::move(results), QFileInfo(file).absoluteFilePath());
}

void Workbench::allocation_update() {
  allocation_.reset();
  if (scans_.empty() || !model_) return;
  allocation_error_.clear();
  try {
    allocation_ = std::make_shared<const AllocationProblem>(allocation_problem(*model_, scans_));
  } catch (const Error& e) {
    allocation_error_ = tr("The scans do not fit this model: %1").arg(text_of(e.what()));
  }
}

void Workbench::reference_set(const QString& path) {
  if (path == reference_path_) return;
  reference_path_ = path;
  Q_EMIT reference_changed();
}

void Workbench::plan_preview_set(std::optional<QuantPlan> preview) {
  if (!preview && !preview_) return;
  preview_ = std::move(preview);
  Q_EMIT plan_preview_changed();
}

void Workbench::statistics_cancel() { statistics_jobs_->cancel(statistics_id_); }

int Workbench::edited_count() const {
  int count = 0;
  for (const PlanLayer& layer : assignment_.layers)
    if (layer.rule >= 0 && plan_.rules[size_t(layer.rule)].match == layer.name) ++count;
  return count;
}

void Workbench::plan_apply(const QuantPlan& plan) {
  plan_ = plan;
  assignment_ = plan_assign(plan_, *model_);
  totals_ = plan_totals(assignment_, *model_);
  Q_EMIT plan_changed();
}

QString Workbench::plan_push(const QuantPlan& next, const QString& label) {
  if (!model_) return tr("Open a model first");
  std::string text;
  try {
    plan_resolve(next, *model_);  // every check the CLI's --plan makes
    text = plan_json(next);       // and those of writing it out
  } catch (const Error& e) {
    return text_of(e.what());
  }
  if (text == plan_json(plan_)) return {};  // nothing changes: no undo entry
  undo_->push(new PlanEdit(*this, plan_, next, label));
  return {};
}

QString Workbench::layers_format_set(const QStringList& layers, const std::optional<FormatSpec>& format) {
  if (layers.isEmpty()) return {};
  QuantPlan next = plan_;
  for (const QString& layer : layers) {
    const std::string name = layer.toStdString();
    std::erase_if(next.rules, [&](const PlanRule& rule) { return rule.match == name; });
    if (format) next.rules.push_back(PlanRule{name, *format, std::nullopt, {}});
  }
  const QString what = layers.size() == 1 ? layers.first() : tr("%1 layers").arg(layers.size());
  const QString label = format ? tr("Set format of %1 to %2").arg(what, text_of(format_print(*format)))
                               : tr("Reset format of %1").arg(what);
  return plan_push(next, label);
}

QString Workbench::plan_replace(const QuantPlan& plan, const QString& label) { return plan_push(plan, label); }

QString Workbench::rule_set(int index, const PlanRule& rule) {
  QuantPlan next = plan_;
  if (index < 0 || index > int(next.rules.size())) return tr("No rule %1").arg(index + 1);
  for (int i = 0; i < int(next.rules.size()); ++i)
    if (i != index && next.rules[size_t(i)].match == rule.match)
      return tr("The plan has a rule for '%1' already").arg(text_of(rule.match));
  const bool adding = index == int(next.rules.size());
  if (adding)
    next.rules.push_back(rule);
  else
    next.rules[size_t(index)] = rule;
  return plan_push(next, (adding ? tr("Add rule %1 → %2") : tr("Edit rule %1 → %2"))
                             .arg(text_of(rule.match), text_of(format_print(rule.weight))));
}

QString Workbench::rule_remove(int index) {
  if (index < 0 || index >= int(plan_.rules.size())) return tr("No rule %1").arg(index + 1);
  QuantPlan next = plan_;
  const QString match = text_of(next.rules[size_t(index)].match);
  next.rules.erase(next.rules.begin() + index);
  return plan_push(next, tr("Remove rule %1").arg(match));
}

QString Workbench::rule_move(int from, int to) {
  const int n = int(plan_.rules.size());
  if (from < 0 || from >= n || to < 0 || to >= n) return tr("No rule %1").arg((from < 0 || from >= n ? from : to) + 1);
  QuantPlan next = plan_;
  PlanRule rule = next.rules[size_t(from)];
  next.rules.erase(next.rules.begin() + from);
  next.rules.insert(next.rules.begin() + to, std::move(rule));
  return plan_push(next, tr("Move rule %1").arg(text_of(plan_.rules[size_t(from)].match)));
}

QString Workbench::default_set(const std::optional<FormatSpec>& format) {
  QuantPlan next = plan_;
  next.default_weight = format;
  if (!format) next.default_activation.reset();
  return plan_push(next, format ? tr("Set the default format to %1").arg(text_of(format_print(*format)))
                                : tr("Remove the default format"));
}

void Workbench::plan_open(const QString& path) {
  if (!model_) throw Error(ErrorKind::Invalid, "open a model before a plan");
  const QuantPlan plan = plan_load(path_native(path));
  const QString error = plan_push(plan, tr("Open plan %1").arg(path.section('/', -1)));
  if (!error.isEmpty()) throw Error(ErrorKind::Invalid, path.toStdString() + ": " + error.toStdString());
  plan_path_ = path;
}

void Workbench::plan_restore(const QuantPlan& plan, const QString& plan_path) {
  if (!model_) return;  // a session whose model is missing keeps no plan
  undo_->clear();
  plan_apply(plan);
  plan_path_ = plan_path;
}

void Workbench::plan_save(const QString& path) {
  qs::plan_save(plan_, path_native(path));
  plan_path_ = path;
  undo_->setClean();
}

void Workbench::layer_select(const QString& layer) {
  if (layer == selected_) return;
  selected_ = layer;
  Q_EMIT selection_changed(layer);
}

void Workbench::layers_select(const QStringList& layers) {
  if (layers == selected_layers_) return;
  selected_layers_ = layers;
  Q_EMIT layers_selection_changed(layers);
}

void Workbench::compare_slots_set(const QStringList& slot_texts) {
  QStringList padded = slot_texts.mid(0, kCompareSlots);
  while (padded.size() < kCompareSlots) padded << QString();
  if (padded == compare_slots_) return;
  compare_slots_ = padded;
  Q_EMIT compare_slots_changed(compare_slots_);
}

}  // namespace qs
