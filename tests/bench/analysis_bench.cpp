// quantscope-analysis-bench MODEL [RUN_STEPS]: the analysis panels timed as a user meets them (not a
// test: numbers go to docs/performance.md).
//  - The budget slider: a sensitivity result with int2/int3/int4/int8 (g64) candidates for every
//    decoder linear layer of MODEL is put in the workbench (its ΔKL synthetic, falling with the bits:
//    the scan itself is not what is timed), then the slider is set to 20 values one at a time, each
//    timed until its allocation is previewed in the layer table, and then moved through 50 values at
//    once (a drag), timed until the last is previewed, with the number of solves it took.
//  - The dashboard: a run file of RUN_STEPS logged steps (default 10,000) over MODEL's layers is
//    renamed over the one the QAT panel follows, timed until the panel has read and redrawn it.
//  - Browsing while a run trains: with MODEL = demo, a QAT run of the demo model is started as the
//    window does it and the selection moves through every layer every 40 ms for 15 s.
// Each line gives the wall time and the largest event-loop gap while it ran. Run it offscreen.
#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QSignalSpy>
#include <QSlider>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>
#include <cstdio>
#include <functional>

#include "budget_panel.hpp"
#include "job_runner.hpp"
#include "lag_probe.hpp"
#include "main_window.hpp"
#include "qat_panel.hpp"
#include "quantscope/format.hpp"
#include "quantscope/model.hpp"
#include "quantscope/run_file.hpp"
#include "workbench.hpp"

namespace {


// Sensitivity tables as experiment_run writes them, with ΔKL = size-weighted noise falling 4× per bit.
qs::ResultSet synthetic_scans(const qs::Model& model) {
  qs::ResultSet results;
  uint64_t state = 12345;
  auto noise = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return 0.5 + double(state >> 11) / double(1ull << 53);
  };
  std::vector<qs::LinearLayer> layers;
  for (const qs::LinearLayer& l : model.linear_layers())
    if (l.layer >= 0) layers.push_back(l);
  std::vector<double> sensitivity;
  for (size_t i = 0; i < layers.size(); ++i) sensitivity.push_back(noise() * 1e-3);
  for (const char* text : {"int2:g64", "int3:g64", "int4:g64", "int8:g64"}) {
    const qs::FormatSpec format = qs::format_parse(text);
    qs::ResultTable table;
    table.name = "sensitivity_" + QString(text).replace(':', '_').toStdString();
    for (size_t i = 0; i < layers.size(); ++i) {
      const uint64_t bits = qs::format_storage_bits(format, layers[i].out_features, layers[i].in_features);
      table.text_set("layer", i, layers[i].name);
      table.text_set("format", i, text);
      table.number_set("parameters", i, double(layers[i].parameters()));
      table.number_set("storage_bits", i, double(bits), "bits");
      table.number_set("bits_per_weight", i, double(bits) / double(layers[i].parameters()), "bits");
      table.number_set("delta_kl", i, sensitivity[i] * std::pow(4.0, 2 - format.bits), "nats");
    }
    results.tables.push_back(std::move(table));
  }
  return results;
}

qs::RunTelemetry run_of(int steps, const std::vector<std::string>& layers) {
  qs::RunTelemetry run;
  run.layers = layers;
  const std::vector<double> row(layers.size(), 0.25);
  for (int s = 1; s <= steps; ++s) {
    run.steps.push_back({s, 3.0 / std::sqrt(double(s)), 1e-4, 0.5, 1000.0, s % 100 == 0 ? 2.9 : NAN});
    run.samples.push_back({s, row, row, row, row});
  }
  return run;
}

}  // namespace

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setOrganizationName("quantscope-bench");  // leaves the user's settings alone
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: quantscope-analysis-bench MODEL [RUN_STEPS]\n");
    return 2;
  }
  const QString model_path = QString::fromLocal8Bit(argv[1]);
  const int run_steps = argc == 3 ? std::atoi(argv[2]) : 10000;
  qs::MainWindow window;
  window.resize(1400, 860);
  window.show();
  qs::LagProbe probe;
  qs::Workbench& workbench = window.workbench();
  QSignalSpy loaded(&window, &qs::MainWindow::model_loaded);
  QSignalSpy failed(&window, &qs::MainWindow::model_load_failed);
  if (!qs::lag_measure(probe, "open until the layer table is on screen", [&] { window.model_open(model_path); },
               [&] { return loaded.count() + failed.count() > 0; }) || failed.count() > 0) {
    std::fprintf(stderr, "%s: could not open\n", argv[1]);
    return 1;
  }
  workbench.statistics_cancel();
  const std::shared_ptr<const qs::Model> model = workbench.model();

  // The budget slider.
  auto* budget = qobject_cast<qs::BudgetPanel*>(window.panel("budget"));
  workbench.panel_show("budget");
  QSignalSpy previewed(&workbench, &qs::Workbench::plan_preview_changed);
  auto results = std::make_shared<const qs::ResultSet>(synthetic_scans(*model));
  qs::lag_measure(probe, QString("scans in: %1 layers × 4 candidates, first preview").arg(results->tables.front().rows()),
          [&] { workbench.results_set(results, QString()); }, [&] { return budget->allocation().has_value(); });
  double worst = 0, total = 0;
  qint64 worst_gap = 0;
  for (int i = 0; i < 20; ++i) {
    const int position = 25 + i * 47;
    previewed.clear();
    probe.reset();
    QElapsedTimer clock;
    clock.start();
    budget->slider()->setValue(position);
    if (!QTest::qWaitFor([&] { return !previewed.isEmpty() && budget->runner()->active_count() == 0; }, 60000))
      std::printf("  (value %d timed out)\n", position);
    const double ms = double(clock.nsecsElapsed()) / 1e6;
    worst = std::max(worst, ms);
    total += ms;
    worst_gap = std::max(worst_gap, probe.worst());
  }
  std::printf("%-64s %9.1f ms   (worst %.1f ms)   largest gap %4lld ms\n", "slider to preview, 20 values one at a time, mean",
              total / 20, worst, static_cast<long long>(worst_gap));
  QSignalSpy solves(budget->runner(), &qs::JobRunner::finished);
  qs::lag_measure(probe, "a drag through 50 values, until the last is previewed", [&] {
    for (int p = 10; p < 1000; p += 20) budget->slider()->setValue(p);
  }, [&] { return budget->runner()->active_count() == 0; });
  std::printf("%-64s %9lld\n", "  solves run for the drag", static_cast<long long>(solves.count()));

  // The dashboard.
  QTemporaryDir dir;
  const QString run_dir = dir.filePath("run");
  QDir().mkpath(run_dir);
  std::vector<std::string> layers;
  for (const qs::LinearLayer& l : model->linear_layers())
    if (l.layer >= 0) layers.push_back(l.name);
  const std::filesystem::path file = (run_dir + "/run.h5").toStdString();
  qs::run_file_write(file, run_of(10, layers));
  auto* qat = qobject_cast<qs::QatPanel*>(window.panel("qat"));
  workbench.panel_show("qat");
  QSignalSpy updated(qat, &qs::QatPanel::run_updated);
  qat->run_open(run_dir);
  if (!QTest::qWaitFor([&] { return !updated.isEmpty(); }, 10000)) {
    std::fprintf(stderr, "the QAT panel did not read %s\n", qPrintable(run_dir));
    return 1;
  }
  // Written beside it first, so that only the rename (what the trainer's write ends with) is timed.
  const std::filesystem::path next = (run_dir + "/next.h5").toStdString();
  qs::run_file_write(next, run_of(run_steps, layers));
  qs::lag_measure(probe, QString("dashboard: %1 steps × %2 layers renamed over, until redrawn").arg(run_steps).arg(layers.size()),
          [&] {
            updated.clear();
            std::filesystem::rename(next, file);
          },
          [&] { return !updated.isEmpty(); });

  // Browsing while a QAT run trains.
  if (QFileInfo(model_path).fileName() == "demo") {
    qs::QatLaunch launch = qat->launch_defaults();
    launch.format = "kmeans2";
    launch.steps = 1000000;
    launch.batch = 8;
    launch.ctx = 64;
    launch.log_every = 5;
    launch.out = dir.filePath("qat");
    if (const QString error = qat->launch(launch); !error.isEmpty()) {
      std::fprintf(stderr, "QAT run: %s\n", qPrintable(error));
      return 1;
    }
    const int index = int(qat->runs().size()) - 1;
    const auto started = [&] {
      const auto& run = *qat->runs()[size_t(index)];
      return run.telemetry && !run.telemetry->steps.empty();
    };
    if (!QTest::qWaitFor(started, 120000)) {
      std::fprintf(stderr, "QAT run: %s\n%s\n", qPrintable(qat->run_state(*qat->runs()[size_t(index)])),
                   qPrintable(qat->runs()[size_t(index)]->process->output_tail()));
      return 1;
    }
    probe.reset();
    QElapsedTimer clock;
    clock.start();
    for (int move = 0; move < 375; ++move) {
      workbench.layer_select(QString::fromStdString(layers[size_t(move) % layers.size()]));
      QTest::qWait(40);
    }
    std::printf("%-64s %9.1f ms   largest gap %4lld ms\n", "QAT training: the selection moves every 40 ms for 15 s",
                double(clock.nsecsElapsed()) / 1e6, static_cast<long long>(probe.worst()));
    const int64_t step = qat->runs()[size_t(index)]->telemetry->steps.back().step;
    std::printf("  (the run reached step %lld meanwhile)\n", static_cast<long long>(step));
    qat->current_set(index);
    qat->cancel();
  }
  window.close();
  return 0;
}
