// EvaluationPanel: the plan evaluation job, its history and rate–distortion plot, the difference of two
// rows and the CLI line.
#include "evaluation_panel.hpp"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTableView>
#include <QToolButton>
#include <QUndoStack>
#include <QVBoxLayout>
#include <cmath>
#include <filesystem>
#include <qcustomplot.h>

#include "command_line.hpp"
#include "eval_history_model.hpp"
#include "plot_style.hpp"
#include "preferences.hpp"
#include "plot_view.hpp"
#include "quantscope/demo_model.hpp"
#include "quantscope/error.hpp"
#include "quantscope/eval.hpp"
#include "quantscope/file_read.hpp"
#include "quantscope/model.hpp"
#include "quantscope/plan.hpp"
#include "quantscope/plan_evaluate.hpp"
#include "quantscope/tasks.hpp"
#include "quantscope/weight_statistics.hpp"
#include "rate_distortion_plot.hpp"
#include "table_copy.hpp"
#include "task_make_dialog.hpp"
#include "workbench.hpp"

namespace qs {

// What the job is given and gives back; the panel keeps it until the job reports.
struct EvaluationJob {
  std::shared_ptr<const Model> model;  // the base model, which `reference` refers to
  EvalRecord record;
  QString reference_key;
  std::shared_ptr<const KlReference> reference;  // in: reused when set; out: prepared
};

namespace {

std::filesystem::path path_native(const QString& path) { return QFile::encodeName(path).toStdString(); }

// The task files bundled for the demo model (resources/tasks, installed as share/quantscope/tasks) when
// `model_path` is the demo model; none for any other model, whose text they were not made from.
QStringList demo_task_paths(const QString& model_path) {
  QString demo;
  try {
    demo = QString::fromStdString(demo_model_dir().string());
  } catch (const Error&) {
    return {};
  }
  if (QFileInfo(model_path).canonicalFilePath() != QFileInfo(demo).canonicalFilePath()) return {};
  const QDir tasks(QDir(demo).filePath("../../tasks"));
  QStringList paths;
  for (const QString& name : tasks.entryList({"demo-*.jsonl"}, QDir::Files, QDir::Name))
    paths << QFileInfo(tasks.filePath(name)).canonicalFilePath();
  return paths;
}

// A choice of history columns for a plot axis, each item's data its column.
QComboBox* column_box(const QString& name, const QList<QPair<QString, int>>& columns, const QString& tooltip) {
  auto* box = new QComboBox;
  box->setObjectName(name);
  for (const auto& [text, column] : columns) box->addItem(text, column);
  box->setToolTip(tooltip);
  return box;
}

}  // namespace

EvaluationPanel::EvaluationPanel(Workbench& workbench, QWidget* parent) : Panel(workbench, parent) {
  text_edit_ = new QLineEdit;
  text_edit_->setObjectName("evalText");
  text_edit_->setPlaceholderText(tr("A text file to evaluate on (wikitext-2, TinyStories, …)"));
  text_edit_->setClearButtonEnabled(true);
  auto* browse = new QPushButton(tr("Browse…"));
  max_tokens_ = new QSpinBox;
  max_tokens_->setObjectName("evalMaxTokens");
  max_tokens_->setRange(0, 100000000);
  max_tokens_->setSingleStep(1024);
  max_tokens_->setSpecialValueText(tr("whole text"));
  max_tokens_->setToolTip(tr("Tokens read from the start of the text (quantscope-cli eval --max-tokens)"));
  ctx_ = new QSpinBox;
  ctx_->setObjectName("evalCtx");
  ctx_->setRange(0, 1 << 20);
  ctx_->setSingleStep(64);
  ctx_->setSpecialValueText(tr("default"));
  ctx_->setToolTip(tr("Window length in tokens (quantscope-cli eval --ctx); default: min(512, the model's positions). "
                      "A QAT run's final numbers use its training context"));
  tasks_button_ = new QToolButton;
  tasks_button_->setObjectName("evalTasks");
  tasks_button_->setPopupMode(QToolButton::MenuButtonPopup);
  auto* tasks_menu = new QMenu(tasks_button_);
  tasks_menu->addAction(tr("Choose Task Files…"), this, &EvaluationPanel::tasks_choose);
  QAction* demo_tasks = tasks_menu->addAction(tr("The Demo Model's Task Files"));
  tasks_menu->addAction(tr("Make Task Files From a Text…"), this, &EvaluationPanel::tasks_make_dialog);
  tasks_menu->addAction(tr("No Tasks"), this, [this] { task_paths_set({}); });
  connect(tasks_menu, &QMenu::aboutToShow, this,
          [this, demo_tasks] { demo_tasks->setEnabled(!demo_task_paths(workbench_.model_path()).isEmpty()); });
  connect(demo_tasks, &QAction::triggered, this, [this] { task_paths_set(demo_task_paths(workbench_.model_path())); });
  tasks_button_->setMenu(tasks_menu);
  connect(tasks_button_, &QToolButton::clicked, this, &EvaluationPanel::tasks_choose);
  task_paths_set({});
  evaluate_ = new QPushButton(tr("Evaluate Plan (F5)"));
  evaluate_->setObjectName("evalButton");
  cancel_ = new QPushButton(tr("Cancel"));
  cancel_->setEnabled(false);
  progress_ = new QProgressBar;
  progress_->setTextVisible(false);
  progress_->setMaximumHeight(fontMetrics().height());
  progress_->hide();
  status_ = new QLabel(tr("Open a model, choose a text, then Evaluate Plan (F5): the plan is applied to a copy of "
                          "the model and compared with the model as stored"));
  status_->setObjectName("evalStatus");
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);

  history_ = workbench_.history();
  view_ = new QTableView;
  view_->setObjectName("evalHistory");
  view_->setModel(history_);
  view_->setSelectionBehavior(QAbstractItemView::SelectRows);
  view_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  view_->verticalHeader()->hide();
  table_copy_install(*view_);
  view_->setAlternatingRowColors(true);
  view_->setWordWrap(false);
  view_->verticalHeader()->setDefaultSectionSize(view_->fontMetrics().height() + 8);
  view_->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
  difference_ = new QLabel;
  difference_->setObjectName("evalDifference");
  difference_->setWordWrap(true);
  difference_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  plot_ = new PlotView;
  plot_->setObjectName("evalPlot");
  plot_->setMinimumSize(120, 80);
  plot_->log_y_set(true);  // KL spans decades between 2 and 8 bits
  plot_x_ = column_box("evalPlotX", {{tr("bits/weight"), EvalHistoryModel::BitsPerWeight},
                                      {tr("model size"), EvalHistoryModel::ModelBytes}},
                       tr("The plot's rate: storage bits per weight over the layers the plan quantizes (a plan "
                          "that quantizes none is left out), or the whole model's size in MiB"));
  plot_y_ = column_box("evalPlotY", {{tr("KL mean"), EvalHistoryModel::KlMean},
                                      {tr("perplexity"), EvalHistoryModel::Perplexity}},
                       tr("The plot's distortion: mean per-token KL(base ‖ quantized), nats, or the quantized "
                          "model's perplexity"));
  auto* splitter = new QSplitter(Qt::Horizontal);
  splitter->addWidget(view_);
  splitter->addWidget(plot_);
  splitter->setStretchFactor(0, 3);
  splitter->setStretchFactor(1, 2);
  // In proportion, whatever the table's width hint: the plot gets two fifths of the dock.
  splitter->setSizes({3000, 2000});
  auto* copy = new QPushButton(tr("Copy as Command"));
  copy->setToolTip(tr("The quantscope-cli eval line that prints the selected row's numbers"));

  // One row of inputs and actions, so the history keeps the height.
  auto* row = new QHBoxLayout;
  auto* text_label = new QLabel(tr("&Text:"));
  text_label->setBuddy(text_edit_);
  auto* tokens_label = new QLabel(tr("To&kens:"));
  tokens_label->setBuddy(max_tokens_);
  row->addWidget(text_label);
  row->addWidget(text_edit_, 1);
  row->addWidget(browse);
  row->addSpacing(8);
  row->addWidget(tokens_label);
  row->addWidget(max_tokens_);
  row->addWidget(new QLabel(tr("Ctx:")));
  row->addWidget(ctx_);
  row->addWidget(tasks_button_);
  row->addSpacing(8);
  row->addWidget(evaluate_);
  row->addWidget(cancel_);
  row->addWidget(progress_);
  progress_->setFixedWidth(120);
  auto* history_buttons = new QHBoxLayout;
  history_buttons->addWidget(difference_, 1);
  history_buttons->addWidget(new QLabel(tr("Plot")));
  history_buttons->addWidget(plot_y_);
  history_buttons->addWidget(new QLabel(tr("against")));
  history_buttons->addWidget(plot_x_);
  history_buttons->addSpacing(8);
  history_buttons->addWidget(copy);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(8, 8, 8, 4);
  layout->addLayout(row);
  layout->addWidget(status_);
  layout->addWidget(splitter, 1);
  layout->addLayout(history_buttons);

  auto* f5 = new QAction(tr("Evaluate Plan"), this);
  f5->setShortcut(QKeySequence(Qt::Key_F5));
  f5->setShortcutContext(Qt::ApplicationShortcut);
  connect(f5, &QAction::triggered, this, [this] { evaluate(); });
  addAction(f5);

  runner_ = new JobRunner(this);
  connect(runner_, &JobRunner::progress, this, [this](JobRunner::JobId id, double fraction, const QString& message) {
    if (id != id_) return;
    progress_->setRange(0, fraction < 0 ? 0 : 1000);
    progress_->setValue(int(std::max(0.0, fraction) * 1000));
    if (!message.isEmpty()) status_set(message.left(1).toUpper() + message.mid(1), false);
  });
  connect(runner_, &JobRunner::finished, this, [this](JobRunner::JobId id) {
    if (id != id_) return;
    const std::shared_ptr<EvaluationJob> job = job_;
    job_end();
    reference_ = job->reference;
    reference_model_ = job->model;
    reference_key_ = job->reference_key;
    // Kept whatever the plan has become since: the row says which plan it measured.
    const PlanMetrics& m = job->record.metrics;
    history_->record_add(job->record);
    view_->resizeColumnsToContents();
    status_set(tr("%1: perplexity %2 (base %3), KL mean %4 nats/token, top-1 %5 % over %6 tokens")
                   .arg(job->record.label)
                   .arg(m.kl.model.perplexity, 0, 'f', 4)
                   .arg(m.kl.reference.perplexity, 0, 'f', 4)
                   .arg(m.kl.mean, 0, 'f', 6)
                   .arg(100 * m.kl.top1_agreement, 0, 'f', 2)
                   .arg(m.kl.tokens),
               false);
    view_->selectRow(history_->rowCount() - 1);
    Q_EMIT evaluated(history_->rowCount() - 1);
  });
  connect(runner_, &JobRunner::failed, this, [this](JobRunner::JobId id, const QString& error) {
    if (id != id_) return;
    job_end();
    status_set(error, true);
    Q_EMIT evaluation_failed(error);
  });
  connect(runner_, &JobRunner::cancelled, this, [this](JobRunner::JobId id) {
    if (id != id_) return;
    job_end();
    status_set(tr("Evaluation cancelled"), false);
  });
  connect(evaluate_, &QPushButton::clicked, this, [this] { evaluate(); });
  connect(cancel_, &QPushButton::clicked, this, &EvaluationPanel::cancel);
  connect(browse, &QPushButton::clicked, this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, tr("Text to Evaluate On"), QFileInfo(text_edit_->text()).absolutePath(),
                                                      tr("Text (*.txt);;All files (*)"));
    if (!path.isEmpty()) text_edit_->setText(path);
  });
  connect(copy, &QPushButton::clicked, this, [this] {
    const QModelIndex current = view_->currentIndex();
    if (current.isValid()) QApplication::clipboard()->setText(command(current.row()));
  });
  connect(view_->selectionModel(), &QItemSelectionModel::selectionChanged, this, &EvaluationPanel::selection_show);
  connect(history_, &QAbstractItemModel::rowsInserted, this, &EvaluationPanel::plot_draw);
  connect(history_, &QAbstractItemModel::modelReset, this, &EvaluationPanel::plot_draw);
  connect(plot_x_, &QComboBox::currentIndexChanged, this, &EvaluationPanel::plot_draw);
  connect(plot_y_, &QComboBox::currentIndexChanged, this, &EvaluationPanel::plot_draw);
  connect(plot_, &PlotView::log_y_changed, this, &EvaluationPanel::plot_draw);
  plot_hint_ = plot_->plot()->toolTip();
  plot_draw();
  connect(&workbench_, &Workbench::model_changed, this, &EvaluationPanel::model_show);
  connect(&workbench_, &Workbench::evaluation_requested, this, [this] { evaluate(); });
}

QSize EvaluationPanel::sizeHint() const {
  // A strip under the table and the inspector, not half the window.
  return {900, 230};
}

void EvaluationPanel::model_show() {
  cancel();
  reference_.reset();
  reference_model_.reset();
  reference_key_.clear();
  plan_count_ = 0;
  // The preferred text, else the held-out text the demo model ships beside it.
  const QString preferred = preference(preference_key::kEvaluationText).toString();
  const QString beside = QDir(workbench_.model_path()).filePath("heldout-sample.txt");
  if (text_edit_->text().isEmpty()) text_edit_->setText(!preferred.isEmpty() ? preferred : QFileInfo(beside).isFile() ? beside : QString());
  // The preferred task files; the demo's are offered in the Tasks menu, not chosen: scoring them makes
  // every F5 take minutes on a laptop.
  task_paths_set(preference(preference_key::kTaskFiles).toStringList());
}

void EvaluationPanel::task_paths_set(const QStringList& paths) {
  task_paths_ = paths;
  QStringList names;
  for (const QString& path : paths) names << QFileInfo(path).completeBaseName();
  tasks_button_->setText(paths.isEmpty() ? tr("No Tasks") : tr("Tasks: %1").arg(names.join(", ")));
  tasks_button_->setToolTip(
      tr("Task files (JSONL, docs/tasks.md) each evaluation also scores, as quantscope-cli eval --tasks does: "
         "the history gets a column per task with its accuracy ± standard error. Click to choose, or open the "
         "menu for the demo model's files or none.%1")
          .arg(paths.isEmpty() ? QString() : "\n\n" + paths.join('\n')));
}

void EvaluationPanel::tasks_choose() {
  const QString start = task_paths_.isEmpty() ? QFileInfo(text_edit_->text()).absolutePath()
                                              : QFileInfo(task_paths_.front()).absolutePath();
  const QStringList paths =
      QFileDialog::getOpenFileNames(this, tr("Task Files"), start, tr("Task files (*.jsonl);;All files (*)"));
  if (!paths.isEmpty()) task_paths_set(paths);
}

void EvaluationPanel::tasks_make_dialog() {
  TaskMakeDialog dialog(text_edit_->text().trimmed(), this);
  if (dialog.exec() == QDialog::Accepted) tasks_make(dialog.request());
}

void EvaluationPanel::tasks_make(const TaskMakeRequest& request) {
  status_set(tr("Making %1…").arg(request.out), false);
  const JobRunner::JobId id = workbench_.jobs()->submit("tasks make", tr("Making %1").arg(QFileInfo(request.out).fileName()),
                                                        [request](JobContext&) { task_make_write(request); });
  // The job's end, once: a made file joins the tasks every evaluation scores.
  auto done = std::make_shared<QMetaObject::Connection>(), failed = std::make_shared<QMetaObject::Connection>();
  *done = connect(workbench_.jobs(), &JobRunner::finished, this, [this, id, request, done, failed](JobRunner::JobId finished) {
    if (finished != id) return;
    disconnect(*done);
    disconnect(*failed);
    QStringList paths = task_paths_;
    const QString path = QFileInfo(request.out).absoluteFilePath();
    if (!paths.contains(path)) paths << path;
    task_paths_set(paths);
    status_set(tr("Made %1; every evaluation now scores it").arg(path), false);
    Q_EMIT tasks_made(path);
  });
  *failed = connect(workbench_.jobs(), &JobRunner::failed, this,
                    [this, id, done, failed](JobRunner::JobId failed_id, const QString& message) {
                      if (failed_id != id) return;
                      disconnect(*done);
                      disconnect(*failed);
                      status_set(message, true);
                      Q_EMIT tasks_made(QString());
                    });
}

void EvaluationPanel::status_set(const QString& text, bool error) {
  status_->setText(text);
  status_->setStyleSheet(error ? QStringLiteral("color: #b3261e;") : QString());
}

bool EvaluationPanel::evaluate() {
  const std::shared_ptr<const Model> model = workbench_.model();
  if (!model) {
    status_set(tr("Open a model first"), true);
    return false;
  }
  const QString text_path = QFileInfo(text_edit_->text().trimmed()).absoluteFilePath();
  if (text_edit_->text().trimmed().isEmpty() || !QFileInfo(text_path).isFile()) {
    status_set(text_edit_->text().trimmed().isEmpty() ? tr("Choose a text file to evaluate on")
                                                      : tr("%1: no such file").arg(text_path),
               true);
    return false;
  }
  runner_->cancel(id_);
  auto job = std::make_shared<EvaluationJob>();
  job->record.plan_json = QString::fromStdString(plan_json(workbench_.plan()));
  job->model = model;
  job->record.label = workbench_.plan_path().isEmpty() || !workbench_.undo_stack()->isClean()
                          ? tr("plan %1").arg(++plan_count_)
                          : QFileInfo(workbench_.plan_path()).fileName();
  job->record.text_path = text_path;
  job->record.max_tokens = max_tokens_->value();
  job->record.ctx = ctx_->value();
  job->record.task_paths = task_paths_;
  const QString reference_path = workbench_.reference_path();
  job->record.reference_path = reference_path;
  job->reference_key =
      text_path + "|" + QString::number(job->record.max_tokens) + "|" + QString::number(job->record.ctx) + "|" + reference_path;
  if (job->reference_key == reference_key_ && reference_model_ == model) job->reference = reference_;
  const QuantPlan plan = workbench_.plan();
  id_ = runner_->submit("evaluation", tr("Evaluating %1").arg(job->record.label), [job, model, plan, reference_path](JobContext& context) {
    const std::string text = file_read(path_native(job->record.text_path));
    EvalOptions options;  // the CLI's defaults
    options.max_tokens = job->record.max_tokens;
    if (job->record.ctx > 0) options.ctx = job->record.ctx;
    eval_options_check(options, *model);
    PlanEvalSetup setup;  // the CLI's task options too
    for (const QString& path : job->record.task_paths) setup.tasks.push_back(task_file_load(path_native(path)));
    if (!job->reference) {
      // A QAT result is measured against the model it was trained from, as its run's final table is.
      std::shared_ptr<const Model> base = model;
      if (!reference_path.isEmpty()) {
        LoadOptions load;
        load.device = model->device();
        base = model_load(path_native(reference_path), load, &context);
      }
      job->reference = kl_reference_prepare(*base, text, options, &context);
    }
    setup.text = job->reference;
    job->record.metrics = plan_evaluate(*model, plan, setup, &context);
  });
  job_ = job;
  evaluate_->setEnabled(false);
  cancel_->setEnabled(true);
  progress_->setRange(0, 0);
  progress_->show();
  status_set(reference_path.isEmpty()
                 ? tr("Evaluating %1 on %2…").arg(job->record.label, QFileInfo(text_path).fileName())
                 : tr("Evaluating %1 on %2 against %3…").arg(job->record.label, QFileInfo(text_path).fileName(), reference_path),
             false);
  return true;
}

void EvaluationPanel::cancel() { runner_->cancel(id_); }

void EvaluationPanel::job_end() {
  id_ = 0;
  job_.reset();
  evaluate_->setEnabled(true);
  cancel_->setEnabled(false);
  progress_->hide();
}

QString EvaluationPanel::command(int row) const {
  const EvalRecord& r = history_->records().at(size_t(row));
  QString plan_path = workbench_.plan_path();
  bool saved = false;
  try {
    saved = !plan_path.isEmpty() && QString::fromStdString(plan_json(plan_load(path_native(plan_path)))) == r.plan_json;
  } catch (const Error&) {  // moved or rewritten since: the row's plan gets a file of its own
  }
  if (!saved) plan_path = plan_file_for(r.plan_json);
  QString line = QStringLiteral("quantscope-cli eval %1 --plan %2 --text %3")
                     .arg(shell_quoted(workbench_.model_path()), shell_quoted(plan_path), shell_quoted(r.text_path));
  if (r.ctx > 0) line += QStringLiteral(" --ctx %1").arg(r.ctx);
  if (r.max_tokens > 0) line += QStringLiteral(" --max-tokens %1").arg(r.max_tokens);
  if (!r.task_paths.isEmpty()) line += " --tasks " + shell_quoted(r.task_paths.join(','));
  if (!r.reference_path.isEmpty()) line += " --reference " + shell_quoted(r.reference_path);
  return line;
}

QString EvaluationPanel::difference(int a, int b) const {
  const EvalRecord& x = history_->records().at(size_t(a));
  const EvalRecord& y = history_->records().at(size_t(b));
  QStringList parts;
  for (int column : {EvalHistoryModel::BitsPerWeight, EvalHistoryModel::Perplexity, EvalHistoryModel::KlMean,
                     EvalHistoryModel::Top1}) {
    const double d = history_->value(y, column) - history_->value(x, column);
    const QString name = history_->headerData(column, Qt::Horizontal).toString();
    const int digits = column == EvalHistoryModel::KlMean ? 6 : column == EvalHistoryModel::Perplexity ? 4 : 3;
    parts << QStringLiteral("%1 %2%3").arg(name, d >= 0 ? "+" : "", QString::number(d, 'f', digits));
  }
  return tr("%1 − %2: %3").arg(y.label, x.label, parts.join(QStringLiteral(" · ")));
}

void EvaluationPanel::plot_draw() {
  QCustomPlot& plot = *plot_->plot();
  plot.clearGraphs();
  for (QCPItemText* label : plot_labels_) plot.removeItem(label);
  plot_labels_.clear();
  const int x_column = plot_x_->currentData().toInt(), y_column = plot_y_->currentData().toInt();
  const bool bytes = x_column == EvalHistoryModel::ModelBytes;
  RateDistortionFigure figure;
  figure.x_label = bytes ? tr("model size, MiB") : tr("bits per weight");
  figure.y_label = y_column == EvalHistoryModel::KlMean ? tr("KL mean, nats/token") : tr("perplexity");
  figure.lines = false;
  figure.log_y = plot_->log_y();
  figure.pareto = true;
  int hidden = 0;
  // A series per plan, named by its label, so the hover readout and the TSV say which plan a point is.
  for (const EvalRecord& r : history_->records()) {
    const double x = history_->value(r, x_column) / (bytes ? 1024.0 * 1024.0 : 1.0), y = history_->value(r, y_column);
    if (!std::isfinite(x) || !std::isfinite(y) || (figure.log_y && y <= 0)) {
      ++hidden;
      continue;
    }
    figure.series.push_back({r.label, {x}, {y}});
  }
  // Without points the draw would pad whatever range the axes had, widening it on every redraw.
  plot.xAxis->setRange(0, 1);
  plot.yAxis->setRange(0.1, 1);
  rate_distortion_draw(plot, figure);
  plot.legend->setVisible(false);  // each point carries its label instead
  for (size_t i = 0; i < figure.series.size(); ++i) {
    auto* label = new QCPItemText(&plot);
    label->position->setCoords(figure.series[i].x[0], figure.series[i].y[0]);
    label->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
    label->setPadding(QMargins(4, 0, 0, 2));
    label->setText(figure.series[i].name);
    label->setColor(plot_color(int(i)));
    label->setClipToAxisRect(true);
    plot_labels_ << label;
  }
  plot_->plot()->setToolTip(
      tr("Each evaluated plan at its %1 and %2, labelled with its name; the dashed line is the Pareto front, the "
         "plans no other plan beats on both.%3\n\n%4")
          .arg(plot_x_->currentText(), plot_y_->currentText(),
               hidden == 0 ? QString()
                           : tr(" %n plan(s) without a value on these axes (no quantized layer, or a KL of 0 on the "
                                "logarithmic scale) not shown.", nullptr, hidden),
               plot_hint_));
  plot_->home_save();
  plot.replot();
}

void EvaluationPanel::selection_show() {
  const QModelIndexList rows = view_->selectionModel()->selectedRows();
  difference_->setText(rows.size() == 2 ? difference(std::min(rows[0].row(), rows[1].row()),
                                                     std::max(rows[0].row(), rows[1].row()))
                                        : QString());
}

QJsonObject EvaluationPanel::state() const {
  return {{"text", text_edit_->text()}, {"max_tokens", max_tokens_->value()}, {"ctx", ctx_->value()}};
}

void EvaluationPanel::state_restore(const QJsonObject& state) {
  if (state.contains("text")) text_edit_->setText(state["text"].toString());
  if (state.contains("max_tokens")) max_tokens_->setValue(state["max_tokens"].toInt());
  if (state.contains("ctx")) ctx_->setValue(state["ctx"].toInt());
}

}  // namespace qs
