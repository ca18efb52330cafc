// results_plots_write: QCustomPlot figures of result tables, rendered offscreen into PNG and PDF files
// (see results_plots.hpp for which table gets which plot).
#include "results_plots.hpp"

#include <qcustomplot.h>
#include <unistd.h>

#include <QApplication>
#include <QThread>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <memory>
#include <numeric>
#include <string>
#include <system_error>

#include "quantscope/error.hpp"

namespace qs {
namespace {

constexpr int kWidth = 1200, kHeight = 800;
// The ten colours of matplotlib's default cycle: familiar to readers of papers and told apart easily.
const QColor kPalette[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},   {148, 103, 189},
                           {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
const QColor kGrid(225, 225, 225);
const QColor kMutedText(110, 110, 110);

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

struct Series {
  QString name;
  QVector<double> x, y;
};

// The points of (x, y) split by the text column "family" in order of first appearance, each sorted by
// x. A row without a family (a mixed plan) goes by its "kind" ("allocated"). Points with a missing
// coordinate are left out; so are non-positive ones on a logarithmic axis, counted in `hidden`.
std::vector<Series> series_split(const ResultTable& table, const ResultColumn& x, const ResultColumn& y, bool log_x,
                                 bool log_y, size_t& hidden) {
  const ResultColumn* family = column_find(table, "family", true);
  const ResultColumn* kind = column_find(table, "kind", true);
  std::vector<Series> series;
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
    auto it = std::find_if(series.begin(), series.end(), [&](const Series& s) { return s.name == name; });
    if (it == series.end()) it = series.insert(series.end(), Series{name, {}, {}});
    it->x.push_back(px);
    it->y.push_back(py);
  }
  for (Series& s : series) {
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

std::unique_ptr<QCustomPlot> plot_create(const ResultTable& table, const QString& what, const QString& note) {
  auto plot = std::make_unique<QCustomPlot>();
  plot->plotLayout()->insertRow(0);
  QFont title_font = plot->font();
  title_font.setPointSizeF(title_font.pointSizeF() * 1.4);
  title_font.setBold(true);
  plot->plotLayout()->addElement(0, 0, new QCPTextElement(plot.get(), QString::fromStdString(table.name) + ": " + what,
                                                           title_font));
  QStringList lines;
  if (!table.description.empty()) lines << QString::fromStdString(table.description);
  if (!note.isEmpty()) lines << note;
  if (!lines.isEmpty()) {
    plot->plotLayout()->insertRow(1);
    auto* subtitle = new QCPTextElement(plot.get(), lines.join("\n"), plot->font());
    subtitle->setTextColor(kMutedText);
    plot->plotLayout()->addElement(1, 0, subtitle);
  }
  for (QCPAxis* axis : {plot->xAxis, plot->yAxis}) {
    axis->grid()->setPen(QPen(kGrid, 1, Qt::SolidLine));
    axis->grid()->setSubGridVisible(false);
  }
  return plot;
}

void axis_log(QCPAxis* axis) {
  axis->setScaleType(QCPAxis::stLogarithmic);
  auto ticker = QSharedPointer<QCPAxisTickerLog>::create();
  ticker->setLogBase(10);
  axis->setTicker(ticker);
}

// Leaves a margin around the data: a factor on a logarithmic axis, a fraction of the span on a linear one.
// A logarithmic axis over two decades or more is labelled in powers of ten (10⁻³); a narrower one
// gets ticks between the powers, which only plain numbers (0.025) label exactly.
void axis_pad(QCPAxis* axis) {
  const QCPRange range = axis->range();
  if (axis->scaleType() == QCPAxis::stLogarithmic) {
    const double factor = std::max(std::pow(range.upper / range.lower, 0.05), 1.5);
    axis->setRange(range.lower / factor, range.upper * factor);
    const bool decades = axis->range().upper / axis->range().lower >= 100;
    axis->setNumberFormat(decades ? "eb" : "g");
    axis->setNumberPrecision(decades ? 0 : 3);
  } else {
    const double pad = range.size() > 0 ? range.size() * 0.05 : std::max(std::abs(range.center()) * 0.1, 1.0);
    axis->setRange(range.lower - pad, range.upper + pad);
  }
}

QString hidden_note(size_t hidden) {
  return hidden == 0 ? QString()
                     : QString("%1 point%2 at zero or below not shown on the logarithmic scale")
                           .arg(hidden)
                           .arg(hidden == 1 ? "" : "s");
}

// A series without a family takes the name of what it plots (`unnamed`).
void series_draw(QCustomPlot& plot, const std::vector<Series>& series, QCPGraph::LineStyle line,
                 const QString& unnamed) {
  for (size_t i = 0; i < series.size(); ++i) {
    const QColor color = kPalette[i % std::size(kPalette)];
    QCPGraph* graph = plot.addGraph();
    graph->setName(series[i].name.isEmpty() ? unnamed : series[i].name);
    graph->setData(series[i].x, series[i].y, true);
    graph->setLineStyle(line);
    graph->setPen(QPen(color, 2));
    graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, color, color, 7));
  }
  const bool named = series.size() > 1 || (series.size() == 1 && !series.front().name.isEmpty());
  plot.legend->setVisible(named);
}

// Writes one rendering under a temporary name in the destination's folder, then renames it over the
// destination: a reader never sees half a file.
void file_render(const std::filesystem::path& path, const std::function<bool(const QString&)>& render) {
  static std::atomic<int> counter{0};
  // The name pattern of core's atomic writes (atomic_file.hpp): NAME.tmp-PID-N.
  const std::filesystem::path temp =
      path.string() + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  auto fail = [&](const std::string& problem) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    throw Error(ErrorKind::Io, path.string() + ": " + problem);
  };
  if (!render(QString::fromStdString(temp.string()))) fail("cannot render the plot");
  QFile file(QString::fromStdString(temp.string()));
  if (!file.open(QIODevice::ReadOnly) || ::fsync(file.handle()) != 0) fail("cannot flush the plot");
  file.close();
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) fail("cannot rename the temporary file onto it (" + ec.message() + ")");
}

class PlotWriter {
 public:
  explicit PlotWriter(const std::filesystem::path& dir) : dir_(dir) {}

  void save(QCustomPlot& plot, const ResultTable& table, const std::string& what, int width = kWidth) {
    const std::string stem = table.name + "_" + what;
    const std::filesystem::path png = dir_ / (stem + ".png"), pdf = dir_ / (stem + ".pdf");
    file_render(png, [&](const QString& temp) { return plot.savePng(temp, width, kHeight, 1.0); });
    file_render(pdf, [&](const QString& temp) {
      return plot.savePdf(temp, width, kHeight, QCP::epAllowCosmetic, "Quantscope", QString::fromStdString(stem));
    });
    written_.push_back(png);
    written_.push_back(pdf);
  }

  // Rate–distortion: `y` (log scale) against bits per weight, a line per family.
  void rate_distortion(const ResultTable& table, const ResultColumn& bits, const ResultColumn& y, const QString& what,
                       const std::string& file_what) {
    size_t hidden = 0;
    const auto series = series_split(table, bits, y, false, true, hidden);
    if (series.empty()) return;
    auto plot = plot_create(table, what, hidden_note(hidden));
    series_draw(*plot, series, QCPGraph::lsLine, QString::fromStdString(y.name));
    plot->xAxis->setLabel(label(bits));
    plot->yAxis->setLabel(label(y));
    axis_log(plot->yAxis);
    plot->rescaleAxes();
    axis_pad(plot->xAxis);
    axis_pad(plot->yAxis);
    plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    save(*plot, table, file_what);
  }

  // A bar per layer, in the table's order (the model's forward order).
  void layer_bars(const ResultTable& table, const ResultColumn& layers, const ResultColumn& delta) {
    QVector<double> keys, values;
    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    for (size_t row = 0; row < table.rows(); ++row) {
      ticker->addTick(double(row + 1), QString::fromStdString(layers.texts()[row]));
      if (!std::isfinite(delta.numbers()[row])) continue;
      keys.push_back(double(row + 1));
      values.push_back(delta.numbers()[row]);
    }
    if (keys.isEmpty()) return;
    auto plot = plot_create(table, "ΔKL per layer", QString());
    auto* bars = new QCPBars(plot->xAxis, plot->yAxis);
    bars->setData(keys, values, true);
    bars->setWidth(0.7);
    bars->setPen(QPen(kPalette[0].darker(130), 0.8));
    bars->setBrush(kPalette[0]);
    plot->xAxis->setTicker(ticker);
    plot->xAxis->setTickLabelRotation(90);
    plot->xAxis->setSubTicks(false);
    plot->xAxis->grid()->setVisible(false);
    plot->xAxis->setLabel(QString::fromStdString(layers.name));
    plot->yAxis->setLabel(label(delta));
    plot->xAxis->setRange(0.3, double(table.rows()) + 0.7);
    plot->yAxis->rescale();
    QCPRange range = plot->yAxis->range();
    range.lower = std::min(range.lower, 0.0);
    range.upper = std::max(range.upper, 0.0);
    plot->yAxis->setRange(range);
    axis_pad(plot->yAxis);
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
    series_draw(*plot, series, QCPGraph::lsNone, QString::fromStdString(measured.name));
    double lo = INFINITY, hi = -INFINITY;
    for (const Series& s : series)
      for (const QVector<double>* values : {&s.x, &s.y})
        for (const double v : *values) {
          lo = std::min(lo, v);
          hi = std::max(hi, v);
        }
    QCPGraph* diagonal = plot->addGraph();
    diagonal->setName("y = x");
    diagonal->setData({lo, hi}, {lo, hi}, true);
    diagonal->setPen(QPen(kMutedText, 1.5, Qt::DashLine));
    plot->legend->setVisible(true);
    plot->xAxis->setLabel(label(predicted));
    plot->yAxis->setLabel(label(measured));
    if (positive) {
      axis_log(plot->xAxis);
      axis_log(plot->yAxis);
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
