// The QAT panel: the dashboard follows a run file renamed over the old one (as the trainer writes it)
// and tells finished, cancelled and killed runs apart; a 3-step run launched from the window finishes
// with the numbers the CLI gives for the same command; Cancel ends a run within seconds and its file
// says so; a run that fails (a missing text, memory the child cannot get) shows its error and leaves
// the window working; a session keeps the runs; Open Result opens the trained model with its plan.
#include <gtest/gtest.h>
#include <signal.h>
#include <utime.h>

#include <QElapsedTimer>
#include <QLabel>
#include <QLineEdit>
#include <QSpinBox>
#include <QListWidget>
#include <QProcess>
#include <QTemporaryDir>
#include <cmath>
#include <qcustomplot.h>

#include "demo_panel_test.hpp"
#include "eval_history_model.hpp"
#include "evaluation_panel.hpp"
#include "plot_view.hpp"
#include "qat_panel.hpp"
#include "quantscope/plan.hpp"
#include "quantscope/run_file.hpp"

namespace qs {
namespace {

std::filesystem::path native(const QString& path) { return QFile::encodeName(path).toStdString(); }

RunTelemetry run_of(int steps, const std::string& status) {
  RunTelemetry run;
  run.status = status;
  run.layers = {"model.layers.0.self_attn.q_proj", "model.layers.0.mlp.down_proj"};
  for (int s = 1; s <= steps; ++s) {
    run.steps.push_back({s, 3.0 - 0.01 * s, 1e-4, 0.5, 1000.0, s % 5 == 0 ? 2.9 : NAN});
    run.samples.push_back({s, {0.1, 0.2}, {NAN, NAN}, {0.01, 0.02}, {NAN, NAN}});
  }
  if (status == "finished") {
    run.final.done = true;
    run.final.perplexity = 12.5;
    run.final.ptq_perplexity = 14.25;
    run.final.reference_perplexity = 11.0;
  }
  return run;
}

class QatPanelTest : public DemoPanelTest<QatPanel> {
 protected:
  QatPanelTest() : DemoPanelTest("qat") {}

  int curve_points() {
    QCustomPlot& plot = *panel_->curves_plot()->plot();
    return plot.graphCount() > 0 ? plot.graph(0)->data()->size() : 0;
  }

  QatLaunch demo_launch(const QString& out, int steps) {
    QatLaunch l = panel_->launch_defaults();
    l.format = "int4:g64";
    l.steps = steps;
    l.batch = 2;
    l.ctx = 64;
    l.log_every = 1;
    l.out = out;
    l.text = demo_path() + "/heldout-sample.txt";
    return l;
  }

  // Waits for the run to end; its error.
  QString ended(int index, int timeout_ms) {
    QSignalSpy spy(panel_, &QatPanel::run_ended);
    if (panel_->runs()[size_t(index)]->process_ended) return panel_->runs()[size_t(index)]->process_error;
    EXPECT_TRUE(QTest::qWaitFor([&] { return spy.count() > 0; }, timeout_ms));
    return spy.isEmpty() ? QString("timeout") : spy.front().at(1).toString();
  }

  QTemporaryDir dir_;
};

TEST_F(QatPanelTest, FollowsARunFileRenamedOverTheOldOneAndTellsHowRunsEnded) {
  const QString run_dir = dir_.filePath("run");
  QDir().mkpath(run_dir);
  run_file_write(native(run_dir + "/run.h5"), run_of(5, "running"));
  ASSERT_EQ(panel_->run_open(run_dir), QString());
  ASSERT_TRUE(QTest::qWaitFor([&] { return curve_points() == 5; }, 5000));
  EXPECT_TRUE(panel_->run_list()->item(0)->text().contains("running")) << panel_->run_list()->item(0)->text().toStdString();

  QElapsedTimer clock;
  clock.start();
  run_file_write(native(run_dir + "/run.h5"), run_of(40, "running"));  // written beside, renamed over
  ASSERT_TRUE(QTest::qWaitFor([&] { return curve_points() == 40; }, 3000)) << curve_points();
  std::cout << "the dashboard showed the renamed file after " << clock.elapsed() << " ms\n";

  // The heatmap has a cell per logged step and layer; a click on a row shows that layer's curves.
  QCustomPlot& heatmap = *panel_->heatmap_plot()->plot();
  ASSERT_EQ(heatmap.plottableCount(), 1);
  auto* map = qobject_cast<QCPColorMap*>(heatmap.plottable(0));
  ASSERT_NE(map, nullptr);
  EXPECT_EQ(map->data()->keySize(), 40);
  EXPECT_EQ(map->data()->valueSize(), 2);
  panel_->layer_show(1);
  EXPECT_EQ(panel_->layer_plot()->plot()->graph(0)->data()->size(), 40);

  run_file_write(native(run_dir + "/run.h5"), run_of(50, "finished"));
  ASSERT_TRUE(QTest::qWaitFor([&] { return panel_->run_list()->item(0)->text().contains("finished"); }, 3000));
  EXPECT_TRUE(panel_->final_label()->text().contains("12.500")) << panel_->final_label()->text().toStdString();
  EXPECT_TRUE(panel_->final_label()->text().contains("14.250")) << panel_->final_label()->text().toStdString();

  // Cancelled, and killed: a file that says running and has not changed for a while.
  const QString other = dir_.filePath("other"), killed = dir_.filePath("killed");
  QDir().mkpath(other);
  QDir().mkpath(killed);
  run_file_write(native(other + "/run.h5"), run_of(7, "cancelled"));
  run_file_write(native(killed + "/run.h5"), run_of(9, "running"));
  const struct utimbuf old{time(nullptr) - 600, time(nullptr) - 600};
  ASSERT_EQ(::utime(QFile::encodeName(killed + "/run.h5").constData(), &old), 0);
  ASSERT_EQ(panel_->run_open(other), QString());
  ASSERT_EQ(panel_->run_open(killed + "/run.h5"), QString());
  ASSERT_TRUE(QTest::qWaitFor([&] { return panel_->runs()[2]->telemetry != nullptr && panel_->runs()[1]->telemetry; }, 5000));
  QTest::qWait(1200);  // one poll
  EXPECT_TRUE(panel_->run_list()->item(1)->text().contains("cancelled at step 7")) << panel_->run_list()->item(1)->text().toStdString();
  EXPECT_TRUE(panel_->run_list()->item(2)->text().contains("stopped at step 9")) << panel_->run_list()->item(2)->text().toStdString();

  // Overlaid: the curves of the three checked runs (and the held-out points of those that have them).
  panel_->current_set(0);
  EXPECT_GE(panel_->curves_plot()->plot()->graphCount(), 3);
  EXPECT_NE(panel_->run_open(dir_.path()), QString());  // no run.h5 there

  // A session keeps the runs.
  const QString session = dir_.filePath("s.qscope.json");
  window_.session_save(session);
  MainWindow fresh;
  QSignalSpy loaded(&fresh, &MainWindow::model_loaded);
  fresh.session_open(session);
  ASSERT_TRUE(QTest::qWaitFor([&] { return loaded.count() == 1; }, 60000));
  auto* restored = qobject_cast<QatPanel*>(fresh.panel("qat"));
  ASSERT_EQ(restored->runs().size(), 3u);
  EXPECT_EQ(restored->runs()[1]->dir, QFileInfo(other).absoluteFilePath());
}

TEST_F(QatPanelTest, ALaunchedRunFinishesWithTheNumbersOfTheSameCliCommandAndOpensAsAResult) {
  const QatLaunch launch = demo_launch(dir_.filePath("gui-run"), 3);
  ASSERT_EQ(panel_->launch(launch), QString());
  EXPECT_EQ(ended(0, 240000), QString()) << panel_->runs()[0]->process->output_tail().toStdString();
  ASSERT_TRUE(QTest::qWaitFor([&] { return panel_->runs()[0]->telemetry && panel_->runs()[0]->telemetry->status == "finished"; }, 5000));
  const RunTelemetry gui = run_file_read(native(launch.out + "/run.h5"));
  ASSERT_TRUE(gui.final.done);

  // The same command in a shell, into another folder.
  QatLaunch cli = launch;
  cli.out = dir_.filePath("cli-run");
  QProcess process;
  process.start(QS_CLI_PATH, qat_arguments(cli));
  ASSERT_TRUE(process.waitForFinished(240000));
  ASSERT_EQ(process.exitCode(), 0) << process.readAllStandardError().toStdString();
  const RunTelemetry shell = run_file_read(native(cli.out + "/run.h5"));
  EXPECT_EQ(gui.steps.size(), shell.steps.size());
  EXPECT_DOUBLE_EQ(gui.final.perplexity, shell.final.perplexity);
  EXPECT_DOUBLE_EQ(gui.final.kl_mean, shell.final.kl_mean);
  EXPECT_DOUBLE_EQ(gui.final.ptq_perplexity, shell.final.ptq_perplexity);
  EXPECT_TRUE(QatPanel::command(launch).startsWith("quantscope-cli qat "));

  // Open Result: the trained model, with the plan it was trained for.
  QSignalSpy loaded(&window_, &MainWindow::model_loaded);
  ASSERT_EQ(panel_->result_open(), QString());
  ASSERT_TRUE(QTest::qWaitFor([&] { return loaded.count() == 1; }, 60000));
  EXPECT_EQ(QFileInfo(window_.workbench().model_path()).absoluteFilePath(), QFileInfo(launch.out + "/final").absoluteFilePath());
  EXPECT_EQ(plan_json(window_.workbench().plan()), plan_json(plan_load(native(launch.out + "/final/plan.json"))));

  // Evaluated against the model it started from, it gives the run's own final numbers.
  EXPECT_EQ(QFileInfo(window_.workbench().reference_path()).canonicalFilePath(), QFileInfo(demo_path()).canonicalFilePath());
  auto* evaluation = qobject_cast<EvaluationPanel*>(window_.panel("evaluation"));
  evaluation->text_edit()->setText(QString::fromStdString(gui.final.heldout_text));
  evaluation->max_tokens_box()->setValue(16384);  // the run's --final-eval-tokens
  evaluation->ctx_box()->setValue(launch.ctx);
  QSignalSpy evaluated(evaluation, &EvaluationPanel::evaluated);
  ASSERT_TRUE(evaluation->evaluate());
  ASSERT_TRUE(QTest::qWaitFor([&] { return evaluated.count() == 1; }, 120000));
  const PlanMetrics& m = evaluation->history()->records().back().metrics;
  std::cout << "run: " << gui.final.command << "\n";
  EXPECT_NEAR(m.kl.model.perplexity, gui.final.perplexity, 1e-6 * gui.final.perplexity);
  EXPECT_NEAR(m.kl.mean, gui.final.kl_mean, 1e-6);
  EXPECT_TRUE(evaluation->command(0).contains("--reference ")) << evaluation->command(0).toStdString();
}

TEST_F(QatPanelTest, CancelEndsARunWithinSecondsAndItsFileSaysSo) {
  const QatLaunch launch = demo_launch(dir_.filePath("long"), 100000);
  ASSERT_EQ(panel_->launch(launch), QString());
  ASSERT_TRUE(QTest::qWaitFor([&] {
    return panel_->runs()[0]->telemetry && !panel_->runs()[0]->telemetry->steps.empty();
  }, 120000));
  QElapsedTimer clock;
  clock.start();
  panel_->cancel();
  const QString error = ended(0, 20000);
  std::cout << "the run ended " << clock.elapsed() << " ms after Cancel: " << error.toStdString() << "\n";
  EXPECT_LT(clock.elapsed(), 10000);
  EXPECT_EQ(run_file_read(native(launch.out + "/run.h5")).status, "cancelled");
  ASSERT_TRUE(QTest::qWaitFor([&] { return panel_->run_list()->item(0)->text().contains("cancelled"); }, 3000))
      << panel_->run_list()->item(0)->text().toStdString();
}

TEST_F(QatPanelTest, AFailingRunShowsItsErrorAndTheWindowGoesOn) {
  QatLaunch launch = demo_launch(dir_.filePath("bad"), 3);
  launch.text = dir_.filePath("no-such-text.txt");
  ASSERT_EQ(panel_->launch(launch), QString());
  const QString error = ended(0, 60000);
  EXPECT_TRUE(error.contains("no-such-text.txt")) << error.toStdString();
  EXPECT_TRUE(panel_->run_list()->item(0)->text().contains("failed")) << panel_->run_list()->item(0)->text().toStdString();

  // Out of memory as Linux ends it: the kernel's OOM killer sends SIGKILL mid-run.
  const QatLaunch big = demo_launch(dir_.filePath("oom"), 100000);
  ASSERT_EQ(panel_->launch(big), QString());
  ASSERT_TRUE(QTest::qWaitFor([&] { return panel_->runs()[1]->telemetry && !panel_->runs()[1]->telemetry->steps.empty(); }, 120000));
  ASSERT_EQ(::kill(pid_t(panel_->runs()[1]->process->process_id()), SIGKILL), 0);
  const QString oom = ended(1, 20000);
  EXPECT_TRUE(oom.contains("out of memory")) << oom.toStdString();
  EXPECT_TRUE(panel_->run_list()->item(1)->text().contains("failed")) << panel_->run_list()->item(1)->text().toStdString();

  // The window still answers.
  window_.workbench().layer_select("model.layers.1.mlp.up_proj");
  EXPECT_EQ(window_.workbench().selected_layer(), "model.layers.1.mlp.up_proj");
  EXPECT_EQ(window_.workbench().layers_format_set({"model.layers.1.mlp.up_proj"}, format_parse("int4")), QString());
}

}  // namespace
}  // namespace qs
