// quantscope-workbench-bench MODEL LAYER: the window's interactions timed as a user meets them (not a
// test: numbers go to docs/performance.md). It opens MODEL in the real MainWindow, then for LAYER:
// selects it until its histogram is drawn; re-quantizes it in the inspector as int4:g128, quest4 and
// kmeans2 until each is redrawn; maps its int4:g128 error and re-pools a zoom; compares the three
// formats side by side. Each line gives the wall time and the largest event-loop gap while it ran (the window's
// worst freeze). Run it offscreen (QT_QPA_PLATFORM=offscreen) or under a display.
#include <QApplication>
#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QTest>
#include <cstdio>

#include <qcustomplot.h>

#include "compare_panel.hpp"
#include "error_map_panel.hpp"
#include "inspector_panel.hpp"
#include "lag_probe.hpp"
#include "main_window.hpp"
#include "plot_view.hpp"
#include "workbench.hpp"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setOrganizationName("quantscope-bench");  // leaves the user's settings alone
  if (argc != 3) {
    std::fprintf(stderr, "usage: quantscope-workbench-bench MODEL LAYER\n");
    return 2;
  }
  const QString model = QString::fromLocal8Bit(argv[1]), layer = QString::fromLocal8Bit(argv[2]);
  qs::MainWindow window;
  window.resize(1400, 860);
  window.show();
  qs::LagProbe probe;
  qs::Workbench& workbench = window.workbench();

  QSignalSpy loaded(&window, &qs::MainWindow::model_loaded);
  QSignalSpy failed(&window, &qs::MainWindow::model_load_failed);
  if (!qs::lag_measure(probe, "open until the layer table is on screen", [&] { window.model_open(model); },
               [&] { return loaded.count() + failed.count() > 0; }) || failed.count() > 0) {
    std::fprintf(stderr, "%s: could not open\n", argv[1]);
    return 1;
  }
  workbench.statistics_cancel();  // minutes on a large model; not what is measured here

  QSignalSpy histogram(&window, &qs::MainWindow::histogram_shown);
  qs::lag_measure(probe, "select the layer until its histogram is drawn", [&] { workbench.layer_select(layer); },
          [&] { return !histogram.isEmpty() && histogram.last()[0].toString() == layer; });

  auto* inspector = window.findChild<qs::InspectorPanel*>();
  QSignalSpy quantized(inspector, &qs::InspectorPanel::quantized_shown);
  QSignalSpy refused(inspector, &qs::InspectorPanel::quantize_failed);
  for (const char* format : {"int4:g128", "quest4", "kmeans2"}) {
    const qsizetype before = quantized.count() + refused.count();
    qs::lag_measure(probe, QString("inspector: re-quantize as %1 until redrawn").arg(format),
            [&] { inspector->format_edit()->setText(format); },
            [&] { return quantized.count() + refused.count() > before; });
  }
  inspector->format_edit()->clear();

  auto* map = qobject_cast<qs::ErrorMapPanel*>(window.panel("errormap"));
  QSignalSpy mapped(map, &qs::ErrorMapPanel::map_shown);
  qs::lag_measure(probe, "error map: int4:g128, quantized and pooled to the screen", [&] {
    map->format_edit()->setText("int4:g128");
    workbench.panel_show("errormap");
  }, [&] { return !mapped.isEmpty(); });
  qs::lag_measure(probe, "error map: zoom to the middle quarter, re-pooled", [&] {
    QCustomPlot* plot = map->view()->plot();
    const QCPRange x = plot->xAxis->range(), y = plot->yAxis->range();
    plot->xAxis->setRange(x.center() - x.size() / 8, x.center() + x.size() / 8);
    plot->yAxis->setRange(y.center() - y.size() / 8, y.center() + y.size() / 8);
  }, [&, before = mapped.count()] { return mapped.count() > before; });

  auto* compare = qobject_cast<qs::ComparePanel*>(window.panel("compare"));
  QSignalSpy compared(compare, &qs::ComparePanel::compared);
  // Not the default slots, so the comparison is new whatever the panel did before.
  const bool ok = qs::lag_measure(probe, "compare kmeans2, quest4, int4:g128 until drawn", [&] {
    workbench.compare_slots_set({"kmeans2", "quest4", "int4:g128"});
    workbench.panel_show("compare");
  }, [&] { return !compared.isEmpty(); });
  if (!ok) std::fprintf(stderr, "compare: %s\n", qPrintable(compare->findChild<QLabel*>("compareStatus")->text()));
  window.close();
  return 0;
}
