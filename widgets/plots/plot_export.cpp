// PNG/PDF files and TSV data of a QCustomPlot (see plot_export.hpp).
#include "plot_export.hpp"

#include <qcustomplot.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <string>
#include <system_error>

#include "quantscope/error.hpp"

namespace qs {

void plot_file_write(QCustomPlot& plot, const std::filesystem::path& path, int width, int height) {
  const std::string extension = path.extension().string();
  std::function<bool(const QString&)> render;
  if (extension == ".png" || extension == ".PNG") {
    render = [&](const QString& temp) { return plot.savePng(temp, width, height, 1.0); };
  } else if (extension == ".pdf" || extension == ".PDF") {
    render = [&](const QString& temp) {
      return plot.savePdf(temp, width, height, QCP::epAllowCosmetic, "Quantscope",
                          QString::fromStdString(path.stem().string()));
    };
  } else {
    throw Error(ErrorKind::Invalid, path.string() + ": a plot is saved as .png or .pdf");
  }
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

namespace {

QString axis_name(const QCPAxis* axis, const char* fallback) {
  QString label = axis->label();
  label.replace('\n', ' ').replace('\t', ' ');
  return label.isEmpty() ? QString::fromLatin1(fallback) : label;
}

}  // namespace

QString plot_data_tsv(QCustomPlot& plot) {
  QString text;
  QString header;
  for (int i = 0; i < plot.plottableCount(); ++i) {
    QCPAbstractPlottable* plottable = plot.plottable(i);
    if (!plottable->visible()) continue;
    if (auto* map = qobject_cast<QCPColorMap*>(plottable)) {
      QCPColorMapData* data = map->data();
      text += axis_name(map->keyAxis(), "x") + '\t' + axis_name(map->valueAxis(), "y") + "\tvalue\n";
      for (int y = 0; y < data->valueSize(); ++y)
        for (int x = 0; x < data->keySize(); ++x) {
          double key = 0, value = 0;
          data->cellToCoord(x, y, &key, &value);
          text += QString("%1\t%2\t%3\n").arg(key, 0, 'g', 9).arg(value, 0, 'g', 9).arg(data->cell(x, y), 0, 'g', 9);
        }
      continue;
    }
    QCPPlottableInterface1D* points = plottable->interface1D();
    if (!points) continue;
    if (header.isEmpty()) {
      header = "series\t" + axis_name(plottable->keyAxis(), "x") + '\t' + axis_name(plottable->valueAxis(), "y") + '\n';
      text += header;
    }
    QString name = plottable->name();
    name.replace('\t', ' ');
    for (int k = 0; k < points->dataCount(); ++k)
      text += QString("%1\t%2\t%3\n").arg(name).arg(points->dataMainKey(k), 0, 'g', 9).arg(points->dataMainValue(k), 0, 'g', 9);
  }
  return text;
}

}  // namespace qs
