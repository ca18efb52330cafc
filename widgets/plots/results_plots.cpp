// results_plots_write: QCustomPlot figures of result tables, rendered offscreen into PNG and PDF files
// (see results_plots.hpp for which table gets which plot).
#include "results_plots.hpp"

#include <qcustomplot.h>

#include <QApplication>
#include <QThread>
#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <string>
#include <system_error>

#include "plot_export.hpp"
#include "plot_style.hpp"
#include "quantscope/error.hpp"
#include "rate_distortion_plot.hpp"
#include "sensitivity_plot.hpp"

namespace qs {
namespace {

constexpr int kWidth = 1200, kHeight = 800;

// Widgets need a QApplication. The CLI has none and no display, so one is made on the offscreen
// platform. It is kept until the process ends and never deleted: the runner draws plots more than once
// per process, Qt supports one QApplication per process in practice (its font database and platform
// plugin are process-wide and outlive the object, so a second one after the first is gone is not a
// supported path), and deleting it at exit would run after static objects it still uses are gone.
void application_ensure() {
  if (QCoreApplication* core = QCoreApplication::instance()) {
    if (!qobject_cast<QApplication*>(core))
      throw Error(ErrorKind::Unsupported,
                  "results plots: the program's QCoreApplication cannot draw; it needs a QApplication");
    if (QThread::currentThread() != core->thread())
      throw Error(ErrorKind::Invalid, "results plots: drawn off the application's main thread");
    return;
  }
  qputenv("QT_QPA_PLATFORM", "offscreen");
  static int argc = 1;
  static char name[] = "quantscope";
  static char* argv[] = {name, nullptr};
  new QApplication(argc, argv);
}

const ResultColumn* column_find(const ResultTable& table, const std::string& name, bool text) {
  for (const auto& column : table.columns)
    if (column.name == name && column.is_text() == text) return &column;
  return nullptr;
}

QString label(const ResultColumn& column) {
  return QString::fromStdString(column.name + (column.unit.empty() ? "" : " (" + column.unit + ")"));
}

// The points of (x, y) split by the text column "family" in order of first appearance, each sorted by
// x. A row without a family (a mixed plan) goes by its "kind" ("allocated"). Points with a missing
// coordinate are left out; so are non-positive ones on a logarithmic axis, counted in `hidden`.
std::vector<PlotSeries> series_split(const ResultTable& table, const ResultColumn& x, const ResultColumn& y, bool log_x,
                                 bool log_y, size_t& hidden) {
  const ResultColumn* family = column_find(table, "family", true);
  const ResultColumn* kind = column_find(table, "kind", true);
  std::vector<PlotSeries> series;
  hidden = 0;
  for (size_t row = 0; row < table.rows(); ++row) {
    const double px = x.numbers()[row], py = y.numbers()[row];
    if (!std::isfinite(px) || !std::isfinite(py)) continue;
    if ((log_x && px <= 0) || (log_y && py <= 0)) {
      ++hidden;
      continue;
    }
    std::string group = family ? family->texts()[row] : "";
    if (group.empty() && kind) group = kind->texts()[row];
    const QString name = QString::fromStdString(group);
    auto it = std::find_if(series.begin(), series.end(), [&](const PlotSeries& s) { return s.name == name; });
    if (it == series.end()) it = series.insert(series.end(), PlotSeries{name, {}, {}});
    it->x.push_back(px);
    it->y.push_back(py);
  }
  for (PlotSeries& s : series) {
    std::vector<int> order(size_t(s.x.size()));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return s.x[a] < s.x[b]; });
    QVector<double> x_sorted, y_sorted;
    for (const int i : order) {
      x_sorted.push_back(s.x[i]);
      y_sorted.push_back(s.y[i]);
    }
    s.x = x_sorted;
    s.y = y_sorted;
  }
  return series;
}

// The table's description over a note about the plot.
QString subtitle(const ResultTable& table, const QString& note) {
  QStringList lines;
  if (!table.description.empty()) lines << QString::fromStdString(table.description);
  if (!note.isEmpty()) lines << note;
  return lines.join("\n");
}

std::unique_ptr<QCustomPlot> plot_create(const ResultTable& table, const QString& what, const QString& note) {
  auto plot = std::make_unique<QCustomPlot>();
  plot_titles_add(*plot, QString::fromStdString(table.name) + ": " + what, subtitle(table, note));
  return plot;
}

QString hidden_note(size_t hidden) {
  return hidden == 0 ? QString()
                     : QString("%1 point%2 at zero or below not shown on the logarithmic scale")
                           .arg(hidden)
                           .arg(hidden == 1 ? "" : "s");
}

class PlotWriter {
 public:
  explicit PlotWriter(const std::filesystem::path& dir) : dir_(dir) {}

  void save(QCustomPlot& plot, const ResultTable& table, const std::string& what, int width = kWidth) {
    const std::string stem = table.name + "_" + what;
    const std::filesystem::path png = dir_ / (stem + ".png"), pdf = dir_ / (stem + ".pdf");
    plot_file_write(plot, png, width, kHeight);
    plot_file_write(plot, pdf, width, kHeight);
    written_.push_back(png);
    written_.push_back(pdf);
  }

  // Rate–distortion: `y` (log scale) against bits per weight, a line per family.
  void rate_distortion(const ResultTable& table, const ResultColumn& bits, const ResultColumn& y, const QString& what,
                       const std::string& file_what) {
    size_t hidden = 0;
    const auto series = series_split(table, bits, y, false, true, hidden);
    if (series.empty()) return;
    auto plot = std::make_unique<QCustomPlot>();
    rate_distortion_draw(*plot, {QString::fromStdString(table.name) + ": " + what, subtitle(table, hidden_note(hidden)), label(bits),
                                 label(y), series, true, true, false});
    save(*plot, table, file_what);
  }

  // A bar per layer, in the table's order (the model's forward order).
  void layer_bars(const ResultTable& table, const ResultColumn& layers, const ResultColumn& delta) {
    if (std::none_of(delta.numbers().begin(), delta.numbers().end(), [](double v) { return std::isfinite(v); })) return;
    QStringList names;
    for (const std::string& layer : layers.texts()) names << QString::fromStdString(layer);
    auto plot = plot_create(table, "ΔKL per layer", QString());
    plot->xAxis->setLabel(QString::fromStdString(layers.name));
    sensitivity_bars_draw(*plot, names, {{label(delta), QVector<double>(delta.numbers().begin(), delta.numbers().end())}},
                          label(delta));
    // Room for every layer's name: the figure widens with the number of layers.
    save(*plot, table, "delta_kl", std::max(kWidth, 200 + 18 * int(table.rows())));
  }

  // Predicted against measured KL, with y = x: points above the line are worse than predicted.
  void predicted_measured(const ResultTable& table, const ResultColumn& predicted, const ResultColumn& measured) {
    bool positive = true;
    for (size_t row = 0; row < table.rows(); ++row)
      for (const double v : {predicted.numbers()[row], measured.numbers()[row]})
        if (std::isfinite(v) && v <= 0) positive = false;
    size_t hidden = 0;
    const auto series = series_split(table, predicted, measured, positive, positive, hidden);
    if (series.empty()) return;
    auto plot = plot_create(table, "predicted against measured KL", QString());
    series_draw(*plot, series, false, QString::fromStdString(measured.name));
    double lo = INFINITY, hi = -INFINITY;
    for (const PlotSeries& s : series)
      for (const QVector<double>* values : {&s.x, &s.y})
        for (const double v : *values) {
          lo = std::min(lo, v);
          hi = std::max(hi, v);
        }
    QCPGraph* diagonal = plot->addGraph();
    diagonal->setName("y = x");
    diagonal->setData({lo, hi}, {lo, hi}, true);
    diagonal->setPen(QPen(kPlotMutedText, 1.5, Qt::DashLine));
    plot->legend->setVisible(true);
    plot->xAxis->setLabel(label(predicted));
    plot->yAxis->setLabel(label(measured));
    if (positive) {
      axis_log_set(plot->xAxis, true);
      axis_log_set(plot->yAxis, true);
    }
    plot->rescaleAxes();
    axis_pad(plot->xAxis);
    axis_pad(plot->yAxis);
    plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);
    save(*plot, table, "predicted_kl");
  }

  const std::vector<std::filesystem::path>& written() const { return written_; }

 private:
  const std::filesystem::path& dir_;
  std::vector<std::filesystem::path> written_;
};

}  // namespace

std::vector<std::filesystem::path> results_plots_write(const ResultSet& results, const std::filesystem::path& dir) {
  application_ensure();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(ErrorKind::Io, dir.string() + ": cannot create the folder (" + ec.message() + ")");
  PlotWriter writer(dir);
  for (const ResultTable& table : results.tables) {
    const ResultColumn* bits = column_find(table, "bits_per_weight", false);
    const ResultColumn* kl = column_find(table, "kl_mean", false);
    const ResultColumn* perplexity = column_find(table, "perplexity", false);
    const ResultColumn* layer = column_find(table, "layer", true);
    const ResultColumn* delta = column_find(table, "delta_kl", false);
    const ResultColumn* predicted = column_find(table, "predicted_kl", false);
    if (bits && kl) {
      writer.rate_distortion(table, *bits, *kl, "KL divergence against bits per weight", "kl");
      if (perplexity)
        writer.rate_distortion(table, *bits, *perplexity, "perplexity against bits per weight", "perplexity");
    }
    if (layer && delta) writer.layer_bars(table, *layer, *delta);
    if (predicted && kl) writer.predicted_measured(table, *predicted, *kl);
  }
  return writer.written();
}

}  // namespace qs
