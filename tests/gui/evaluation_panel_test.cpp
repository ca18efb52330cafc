// The evaluation panel against the CLI: a plan evaluated in the window gives the perplexity with its
// standard error, KL, top-1 agreement and task accuracies that `quantscope-cli eval --plan --tasks`
// prints for the saved plan; the history keeps every evaluation, two rows give their difference, Copy
// as Command gives that CLI line, and the rate–distortion plot has a point per plan and their Pareto
// front.
#include <gtest/gtest.h>

#include <QAbstractItemModelTester>
#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QFile>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QProcess>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableView>
#include <QTemporaryDir>
#include <QComboBox>
#include <QTest>
#include <cmath>
#include <limits>
#include <qcustomplot.h>

#include "eval_history_model.hpp"
#include "evaluation_panel.hpp"
#include "main_window.hpp"
#include "plot_view.hpp"
#include "task_make_dialog.hpp"
#include "quantscope/format.hpp"
#include "workbench.hpp"

namespace qs {
namespace {

QString demo_path() { return QS_SOURCE_DIR "/resources/models/demo"; }

// "perplexity   31.6770   29.9557" -> the first number after the label.
QString cli_value(const QString& out, const QString& label) {
  const QRegularExpression re("^" + QRegularExpression::escape(label) + "\\s+([0-9.]+)", QRegularExpression::MultilineOption);
  const QRegularExpressionMatch m = re.match(out);
  return m.hasMatch() ? m.captured(1) : QString();
}

// "demo-cloze   generate   12   25.00 %   13.06 %" -> "25.00 ± 13.06 %", as the history shows it.
QString cli_task(const QString& out, const QString& name) {
  const QRegularExpression re("^" + QRegularExpression::escape(name) + "\\s+\\w+\\s+[0-9,]+\\s+([0-9.]+) %\\s+([0-9.]+) %",
                              QRegularExpression::MultilineOption);
  const QRegularExpressionMatch m = re.match(out);
  return m.hasMatch() ? m.captured(1) + " ± " + m.captured(2) + " %" : QString();
}

// The first `lines` items of a bundled task file, under its own name in `dir`: a quick task.
QString task_head(const QTemporaryDir& dir, const QString& name, int lines) {
  QFile in(QS_SOURCE_DIR "/resources/tasks/" + name);
  if (!in.open(QIODevice::ReadOnly)) return {};
  QFile out(dir.filePath(name));
  if (!out.open(QIODevice::WriteOnly)) return {};
  for (int i = 0; i < lines; ++i) out.write(in.readLine());
  return out.fileName();
}

TEST(EvaluationPanel, NumbersEqualTheCliOnTheSavedPlan) {
  if (!QFile::exists(demo_path() + "/config.json")) GTEST_SKIP() << "demo model not built yet";
  QSettings().clear();
  MainWindow window;
  QSignalSpy loaded(&window, &MainWindow::model_loaded);
  window.model_open(demo_path());
  ASSERT_TRUE(QTest::qWaitFor([&] { return loaded.count() == 1; }, 60000));
  auto* panel = qobject_cast<EvaluationPanel*>(window.panel("evaluation"));
  ASSERT_NE(panel, nullptr);
  QAbstractItemModelTester tester(panel->history(), QAbstractItemModelTester::FailureReportingMode::Fatal);
  // The demo model's held-out text is offered.
  EXPECT_TRUE(panel->text_edit()->text().endsWith("heldout-sample.txt")) << panel->text_edit()->text().toStdString();
  panel->max_tokens_box()->setValue(1024);
  // Task files are offered in the Tasks menu, not chosen (scoring them takes minutes); a dozen items
  // of each of the demo model's keep the test quick.
  EXPECT_TRUE(panel->task_paths().isEmpty());
  QTemporaryDir tasks_dir;
  const QStringList tasks = {task_head(tasks_dir, "demo-cloze.jsonl", 12), task_head(tasks_dir, "demo-choice.jsonl", 12)};
  panel->task_paths_set(tasks);

  Workbench& workbench = window.workbench();
  ASSERT_EQ(workbench.default_set(format_parse("int3:g64")), "");
  ASSERT_EQ(workbench.layers_format_set({"model.layers.0.mlp.down_proj"}, format_parse("kmeans2")), "");
  QTemporaryDir dir;
  const QString plan = dir.filePath("plan.json");
  workbench.plan_save(plan);

  QSignalSpy evaluated(panel, &EvaluationPanel::evaluated);
  QSignalSpy failed(panel, &EvaluationPanel::evaluation_failed);
  ASSERT_TRUE(panel->evaluate());
  ASSERT_TRUE(QTest::qWaitFor([&] { return evaluated.count() + failed.count() > 0; }, 120000));
  ASSERT_EQ(failed.count(), 0) << failed[0][0].toString().toStdString();
  ASSERT_EQ(panel->history()->rowCount(), 1);
  EXPECT_EQ(panel->history()->index(0, EvalHistoryModel::Label).data().toString(), "plan.json");

  const QString command = panel->command(0);
  EXPECT_TRUE(command.contains("--plan " + plan)) << command.toStdString();
  EXPECT_TRUE(command.contains(" --max-tokens 1024")) << command.toStdString();
  EXPECT_TRUE(command.endsWith(" --tasks " + tasks.join(','))) << command.toStdString();
  QProcess cli;
  cli.start(QS_CLI_PATH, {"eval", demo_path(), "--plan", plan, "--text", panel->text_edit()->text(), "--max-tokens", "1024",
                          "--tasks", tasks.join(',')});
  ASSERT_TRUE(cli.waitForFinished(120000));
  ASSERT_EQ(cli.exitCode(), 0) << cli.readAllStandardError().toStdString();
  const QString out = QString::fromUtf8(cli.readAllStandardOutput());
  auto cell = [&](int column) { return panel->history()->index(0, column).data().toString(); };
  EXPECT_EQ(cell(EvalHistoryModel::Perplexity), cli_value(out, "perplexity")) << out.toStdString();
  EXPECT_EQ(cell(EvalHistoryModel::PerplexityError), cli_value(out, "perplexity s.e.")) << out.toStdString();
  EXPECT_GT(panel->history()->records()[0].metrics.kl.model.perplexity_standard_error, 0);
  ASSERT_EQ(panel->history()->task_names(), QStringList({"demo-cloze", "demo-choice"}));
  for (const QString& name : panel->history()->task_names()) {
    EXPECT_FALSE(cli_task(out, name).isEmpty()) << out.toStdString();
    EXPECT_EQ(cell(panel->history()->task_column(name)), cli_task(out, name)) << out.toStdString();
  }
  EXPECT_EQ(cell(EvalHistoryModel::BitsPerByte), cli_value(out, "bits per byte")) << out.toStdString();
  EXPECT_EQ(cell(EvalHistoryModel::KlMean), cli_value(out, "KL mean")) << out.toStdString();
  EXPECT_EQ(cell(EvalHistoryModel::KlP99), cli_value(out, "KL p99")) << out.toStdString();
  EXPECT_EQ(cell(EvalHistoryModel::Top1), cli_value(out, "top-1 agreement") + " %") << out.toStdString();

  // A second plan: a second row (the base model's side reused), and the difference of the two.
  ASSERT_EQ(workbench.default_set(format_parse("int8")), "");
  ASSERT_TRUE(panel->evaluate());
  ASSERT_TRUE(QTest::qWaitFor([&] { return evaluated.count() == 2; }, 120000));
  EXPECT_EQ(panel->history()->index(1, EvalHistoryModel::Label).data().toString(), "plan 1");  // unsaved
  EXPECT_LT(panel->history()->records()[1].metrics.kl.mean, panel->history()->records()[0].metrics.kl.mean);
  panel->history_view()->selectionModel()->select(
      QItemSelection(panel->history()->index(0, 0), panel->history()->index(1, 0)),
      QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
  const QString difference = panel->findChild<QLabel*>("evalDifference")->text();
  EXPECT_TRUE(difference.startsWith("plan 1 − plan.json: Bits/w +")) << difference.toStdString();
  // Ctrl+C on the history: a header and the two rows, tab-separated.
  QAction* copy = nullptr;
  for (QAction* action : panel->history_view()->actions())
    if (action->shortcut() == QKeySequence(QKeySequence::Copy)) copy = action;
  ASSERT_NE(copy, nullptr);
  copy->trigger();
  const QStringList lines = QApplication::clipboard()->text().split('\n', Qt::SkipEmptyParts);
  ASSERT_EQ(lines.size(), 3);
  EXPECT_TRUE(lines[0].startsWith("Plan\tBits/w\tModel\tPerplexity")) << lines[0].toStdString();
  EXPECT_TRUE(lines[1].startsWith("plan.json\t")) << lines[1].toStdString();
  EXPECT_TRUE(lines[2].startsWith("plan 1\t")) << lines[2].toStdString();
  // The unsaved plan's command names a file holding exactly that plan.
  const QString second = panel->command(1);
  const QString written = QRegularExpression("--plan (\\S+)").match(second).captured(1);
  EXPECT_NE(written, plan);
  EXPECT_EQ(plan_json(plan_load(written.toStdString())), plan_json(workbench.plan()));
  window.close();
}

EvalRecord record_made(const QString& label, double bits, double mib, double kl, double perplexity) {
  EvalRecord r;
  r.label = label;
  r.metrics.bits_per_weight = bits;
  r.metrics.model_bytes = uint64_t(mib * 1024 * 1024);
  r.metrics.kl.mean = kl;
  r.metrics.kl.model.perplexity = perplexity;
  r.metrics.kl.model.perplexity_standard_error = perplexity / 50;
  return r;
}

TaskScore score_made(const std::string& name, double accuracy) {
  TaskScore s;
  s.name = name;
  s.items = 100;
  s.correct = int64_t(accuracy * 100);
  s.accuracy = accuracy;
  s.standard_error = std::sqrt(accuracy * (1 - accuracy) / 99);
  return s;
}

// Made-up evaluations: the table's task columns come as tasks are first scored, and the plot has a
// point per plan that has values on its axes, with the front of the plans nothing beats.
TEST(EvaluationPanel, HistoryPlotShowsEveryPlanAndTheParetoFront) {
  QSettings().clear();
  MainWindow window;
  auto* panel = qobject_cast<EvaluationPanel*>(window.panel("evaluation"));
  ASSERT_NE(panel, nullptr);
  window.resize(1200, 800);  // the readout needs the plot laid out
  window.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&window));
  EvalHistoryModel* history = window.workbench().history();
  QAbstractItemModelTester tester(history, QAbstractItemModelTester::FailureReportingMode::Fatal);
  EvalRecord a = record_made("a", 2, 100, 0.5, 60), b = record_made("b", 3, 300, 0.2, 50),
             c = record_made("c", 4, 200, 0.3, 55), d = record_made("d", 8, 800, 0.01, 45),
             base = record_made("base", std::numeric_limits<double>::quiet_NaN(), 1000, 0.0, 44);
  a.metrics.tasks = {score_made("cloze", 0.25)};
  c.metrics.tasks = {score_made("choice", 0.5), score_made("cloze", 0.3)};
  for (const EvalRecord& r : {a, b, c, d, base}) history->record_add(r);
  ASSERT_EQ(history->columnCount(), EvalHistoryModel::ColumnCount + 2);
  EXPECT_EQ(history->task_names(), QStringList({"cloze", "choice"}));
  const int cloze = history->task_column("cloze"), choice = history->task_column("choice");
  EXPECT_EQ(history->headerData(cloze, Qt::Horizontal).toString(), "cloze");
  EXPECT_EQ(history->index(0, cloze).data().toString(), "25.00 ± 4.35 %");
  EXPECT_EQ(history->index(0, choice).data().toString(), "");  // not scored
  EXPECT_EQ(history->index(2, choice).data().toString(), "50.00 ± 5.03 %");
  EXPECT_DOUBLE_EQ(history->index(2, cloze).data(EvalHistoryModel::SortRole).toDouble(), 30.0);
  EXPECT_EQ(history->index(1, EvalHistoryModel::PerplexityError).data().toString(), "1.0000");
  EXPECT_FALSE(history->headerData(EvalHistoryModel::PerplexityError, Qt::Horizontal, Qt::ToolTipRole).toString().isEmpty());
  EXPECT_FALSE(history->headerData(cloze, Qt::Horizontal, Qt::ToolTipRole).toString().isEmpty());

  QCustomPlot* plot = panel->history_plot()->plot();
  // The points of one rate: each plan's graph holds its point, the front the plans it passes through.
  auto points = [&] {
    QStringList names;
    int front = -1;
    for (int i = 0; i < plot->graphCount(); ++i) {
      if (plot->graph(i)->name() == "Pareto front") front = plot->graph(i)->dataCount();
      else if (plot->graph(i)->dataCount() == 1) names << plot->graph(i)->name();
    }
    return std::make_pair(names, front);
  };
  // Bits per weight against KL: c (4 bits) is beaten by b (3 bits, lower KL); the base model has no bits.
  EXPECT_EQ(points(), std::make_pair(QStringList({"a", "b", "c", "d"}), 3));
  int labels = 0;
  for (int i = 0; i < plot->itemCount(); ++i)
    if (auto* text = qobject_cast<QCPItemText*>(plot->item(i)); text && QStringList({"a", "b", "c", "d"}).contains(text->text()))
      ++labels;
  EXPECT_EQ(labels, 4);
  // Hovering b's point names it.
  plot->replot();
  const QPointF at(plot->xAxis->coordToPixel(3), plot->yAxis->coordToPixel(0.2));
  EXPECT_TRUE(panel->history_plot()->readout_text(at).startsWith("b: 3 → 0.2")) << panel->history_plot()->readout_text(at).toStdString();
  // Model size: every plan has one, and each smaller model has a higher KL, so all are on the front but
  // the base model, whose KL of 0 has no place on the logarithmic scale.
  panel->plot_x_box()->setCurrentIndex(panel->plot_x_box()->findData(int(EvalHistoryModel::ModelBytes)));
  EXPECT_EQ(points(), std::make_pair(QStringList({"a", "b", "c", "d"}), 4));
  panel->history_plot()->log_y_set(false);
  EXPECT_EQ(points(), std::make_pair(QStringList({"a", "b", "c", "d", "base"}), 5));
  // Perplexity: the same order here.
  panel->plot_y_box()->setCurrentIndex(panel->plot_y_box()->findData(int(EvalHistoryModel::Perplexity)));
  EXPECT_EQ(points().second, 5);
  // A new evaluation is drawn at once; clearing the history empties the plot.
  history->record_add(record_made("e", 2.5, 150, 0.1, 47));
  EXPECT_EQ(points().first.size(), 6);
  history->clear();
  EXPECT_EQ(points(), std::make_pair(QStringList(), -1));
  EXPECT_EQ(history->columnCount(), EvalHistoryModel::ColumnCount);
}

TEST(EvaluationPanel, SaysWhatIsMissing) {
  QSettings().clear();
  MainWindow window;
  auto* panel = qobject_cast<EvaluationPanel*>(window.panel("evaluation"));
  ASSERT_NE(panel, nullptr);
  EXPECT_FALSE(panel->evaluate());
  EXPECT_EQ(panel->findChild<QLabel*>("evalStatus")->text(), "Open a model first");
}

// Task files made in the window are the CLI's, byte for byte, and join the evaluation's tasks; a bad
// text says so and adds nothing.
TEST(EvaluationPanel, MakesTaskFilesAsTheCliDoes) {
  QSettings().clear();
  MainWindow window;
  auto* panel = qobject_cast<EvaluationPanel*>(window.panel("evaluation"));
  QTemporaryDir dir;
  for (const char* kind : {"cloze", "choice"}) {
    const TaskMakeRequest request{demo_path() + "/heldout-sample.txt", dir.filePath(QString(kind) + ".jsonl"), kind, 12, 3};
    QSignalSpy made(panel, &EvaluationPanel::tasks_made);
    panel->tasks_make(request);
    ASSERT_TRUE(QTest::qWaitFor([&] { return made.count() == 1; }, 30000));
    EXPECT_EQ(made.front().front().toString(), QFileInfo(request.out).absoluteFilePath());
    const QString cli_out = dir.filePath(QString(kind) + "-cli.jsonl");
    QProcess cli;
    cli.start(QS_CLI_PATH, {"tasks", "make", "--kind", kind, "--text", request.text, "--out", cli_out, "--count", "12",
                            "--seed", "3"});
    ASSERT_TRUE(cli.waitForFinished(60000));
    ASSERT_EQ(cli.exitCode(), 0) << cli.readAllStandardError().toStdString();
    QFile a(request.out), b(cli_out);
    ASSERT_TRUE(a.open(QIODevice::ReadOnly) && b.open(QIODevice::ReadOnly));
    const QByteArray made_bytes = a.readAll();
    EXPECT_EQ(made_bytes, b.readAll()) << kind;
    EXPECT_GT(made_bytes.count('\n'), 0);
    EXPECT_TRUE(task_make_command(request).startsWith("quantscope-cli tasks make --kind "));
  }
  EXPECT_EQ(panel->task_paths().size(), 2);

  QSignalSpy made(panel, &EvaluationPanel::tasks_made);
  panel->tasks_make({dir.filePath("missing.txt"), dir.filePath("x.jsonl"), "cloze", 12, 3});
  ASSERT_TRUE(QTest::qWaitFor([&] { return made.count() == 1; }, 30000));
  EXPECT_EQ(made.front().front().toString(), QString());
  EXPECT_TRUE(panel->findChild<QLabel*>("evalStatus")->text().contains("missing.txt"));
  EXPECT_EQ(panel->task_paths().size(), 2);
  EXPECT_FALSE(QFile::exists(dir.filePath("x.jsonl")));
}

}  // namespace
}  // namespace qs
