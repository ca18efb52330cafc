// The evaluation panel against the CLI: a plan evaluated in the window gives the perplexity, KL and
// top-1 agreement that `quantscope-cli eval --plan` prints for the saved plan; the history keeps every
// evaluation, two rows give their difference, and Copy as Command gives that CLI line.
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
#include <QTest>

#include "eval_history_model.hpp"
#include "evaluation_panel.hpp"
#include "main_window.hpp"
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
  EXPECT_TRUE(command.endsWith("--max-tokens 1024")) << command.toStdString();
  QProcess cli;
  cli.start(QS_CLI_PATH, {"eval", demo_path(), "--plan", plan, "--text", panel->text_edit()->text(), "--max-tokens", "1024"});
  ASSERT_TRUE(cli.waitForFinished(120000));
  ASSERT_EQ(cli.exitCode(), 0) << cli.readAllStandardError().toStdString();
  const QString out = QString::fromUtf8(cli.readAllStandardOutput());
  auto cell = [&](int column) { return panel->history()->index(0, column).data().toString(); };
  EXPECT_EQ(cell(EvalHistoryModel::Perplexity), cli_value(out, "perplexity")) << out.toStdString();
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

TEST(EvaluationPanel, SaysWhatIsMissing) {
  QSettings().clear();
  MainWindow window;
  auto* panel = qobject_cast<EvaluationPanel*>(window.panel("evaluation"));
  ASSERT_NE(panel, nullptr);
  EXPECT_FALSE(panel->evaluate());
  EXPECT_EQ(panel->findChild<QLabel*>("evalStatus")->text(), "Open a model first");
}

}  // namespace
}  // namespace qs
