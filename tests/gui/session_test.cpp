// Sessions: the file format (round trip, one-line errors naming the file, newer versions refused) and
// the window (a session saved from one window restores the plan, selection, compare slots, evaluation
// history and dock visibility into a fresh one; a session whose model is missing says so).
#include <gtest/gtest.h>

#include <QDockWidget>
#include <QFile>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>

#include "eval_history_model.hpp"
#include "main_window.hpp"
#include "quantscope/error.hpp"
#include "quantscope/format.hpp"
#include "quantscope/plan.hpp"
#include "session_file.hpp"
#include "workbench.hpp"

namespace qs {
namespace {

QString demo_path() { return QS_SOURCE_DIR "/resources/models/demo"; }

EvalRecord record_made(const QString& label, double bits, double kl) {
  EvalRecord r;
  r.label = label;
  r.plan_json = R"({"default": "int4"})";
  r.text_path = "/data/text.txt";
  r.max_tokens = 512;
  r.metrics.bits_per_weight = bits;
  r.metrics.model_bytes = 123456789012;
  r.metrics.kl.mean = kl;
  r.metrics.kl.top1_agreement = 0.9;
  r.metrics.kl.model.perplexity = 31.5;
  r.metrics.kl.model.perplexity_standard_error = 0.42;
  r.task_paths = {"/data/arith.jsonl"};
  TaskScore task;
  task.name = "arith";
  task.items = 40;
  task.accuracy = 0.25;
  task.standard_error = 0.07;
  r.metrics.tasks.push_back(task);
  return r;
}

TEST(SessionFile, RoundTripsEveryField) {
  Session s;
  s.model_path = "/models/demo";
  s.device = "cpu";
  s.plan_json = R"({"default": "kmeans2"})";
  s.selected_layer = "model.layers.0.mlp.up_proj";
  s.selected_layers = {"a", "b"};
  s.compare_slots = {"int4", "", "quest4", "kmeans2"};
  s.history = {record_made("plan 1", 4.25, 0.01), record_made("none", std::nan(""), 0)};
  s.panels["evaluation"] = QJsonObject{{"text", "/t.txt"}};
  s.layout = QByteArray("\x00\x01layout", 8);
  const Session back = session_parse(session_json(s), "s.qscope.json");
  EXPECT_EQ(back.model_path, s.model_path);
  EXPECT_EQ(back.plan_json, s.plan_json);
  EXPECT_EQ(back.selected_layer, s.selected_layer);
  EXPECT_EQ(back.selected_layers, s.selected_layers);
  EXPECT_EQ(back.compare_slots, s.compare_slots);
  EXPECT_EQ(back.panels, s.panels);
  EXPECT_EQ(back.layout, s.layout);
  ASSERT_EQ(back.history.size(), 2u);
  EXPECT_EQ(back.history[0].metrics.bits_per_weight, 4.25);
  EXPECT_EQ(back.history[0].metrics.model_bytes, 123456789012u);
  EXPECT_EQ(back.history[0].metrics.kl.model.perplexity, 31.5);
  EXPECT_EQ(back.history[0].metrics.kl.model.perplexity_standard_error, 0.42);
  EXPECT_EQ(back.history[0].task_paths, QStringList{"/data/arith.jsonl"});
  ASSERT_EQ(back.history[0].metrics.tasks.size(), 1u);
  EXPECT_EQ(back.history[0].metrics.tasks[0].standard_error, 0.07);
  EXPECT_TRUE(std::isnan(back.history[1].metrics.bits_per_weight));
}

TEST(SessionFile, BadFilesGiveOneLineNamingTheFile) {
  auto message = [](const QByteArray& json) {
    try {
      session_parse(json, "/tmp/x.qscope.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("{not json").find("/tmp/x.qscope.json: not JSON"), std::string::npos) << message("{not json");
  EXPECT_NE(message(R"({"default": "int4"})").find("not a Quantscope session"), std::string::npos);
  EXPECT_NE(message(R"({"kind": "quantscope-session", "version": 99})").find("version 99 is newer"), std::string::npos);
  for (const QByteArray json : {QByteArray("{not json"), QByteArray("[]"), QByteArray(R"({"kind": "quantscope-session"})")})
    EXPECT_EQ(message(json).find('\n'), std::string::npos);
  EXPECT_THROW(session_read("/nonexistent/s.qscope.json"), Error);
}

TEST(SessionWindow, RoundTripsIntoAFreshWindow) {
  if (!QFile::exists(demo_path() + "/config.json")) GTEST_SKIP() << "demo model not built yet";
  QSettings().clear();
  QTemporaryDir dir;
  const QString path = dir.filePath("study.qscope.json");
  std::string plan;
  {
    MainWindow first;
    first.show();
    QSignalSpy loaded(&first, &MainWindow::model_loaded);
    first.model_open(demo_path());
    ASSERT_TRUE(QTest::qWaitFor([&] { return loaded.count() == 1; }, 60000));
    Workbench& w = first.workbench();
    ASSERT_EQ(w.default_set(format_parse("int4:g64")), "");
    ASSERT_EQ(w.layers_format_set({"model.layers.1.mlp.down_proj"}, format_parse("kmeans2")), "");
    plan = plan_json(w.plan());
    w.layer_select("model.layers.1.self_attn.v_proj");
    w.compare_slots_set({"int3", "quest3", "", "kmeans3"});
    w.history()->record_add(record_made("plan 1", 4.2, 0.02));
    first.dock("rules")->hide();
    first.session_save(path);
  }
  MainWindow second;
  second.show();
  QSignalSpy loaded(&second, &MainWindow::model_loaded);
  EXPECT_EQ(second.session_open(path), "");
  ASSERT_TRUE(QTest::qWaitFor([&] { return loaded.count() == 1; }, 60000));
  Workbench& w = second.workbench();
  EXPECT_EQ(plan_json(w.plan()), plan);
  EXPECT_EQ(w.selected_layer(), "model.layers.1.self_attn.v_proj");
  EXPECT_EQ(w.compare_slots(), QStringList({"int3", "quest3", "", "kmeans3"}));
  EXPECT_EQ(w.history()->rowCount(), 1);
  EXPECT_FALSE(second.dock("rules")->isVisible());
  EXPECT_TRUE(second.dock("layers")->isVisible());
  EXPECT_FALSE(second.isWindowModified());
}

TEST(SessionWindow, AMissingModelOpensWhatItCanAndSaysWhatIsMissing) {
  QSettings().clear();
  QTemporaryDir dir;
  Session s;
  s.model_path = dir.filePath("gone-model");
  s.compare_slots = {"int2", "", "", ""};
  s.history = {record_made("plan 1", 2.2, 0.3)};
  const QString path = dir.filePath("old.qscope.json");
  session_write(s, path);
  MainWindow window;
  const QString missing = window.session_open(path);
  EXPECT_NE(missing.indexOf(dir.filePath("gone-model")), -1) << missing.toStdString();
  EXPECT_NE(missing.indexOf("missing"), -1);
  EXPECT_EQ(window.workbench().compare_slots().value(0), "int2");
  EXPECT_EQ(window.workbench().history()->rowCount(), 1);
  EXPECT_EQ(window.workbench().model(), nullptr);
}

}  // namespace
}  // namespace qs
