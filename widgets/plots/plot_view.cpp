// PlotView: shared zoom, readout, copy, save and log-scale behaviour around a QCustomPlot.
#include "plot_view.hpp"

#include <qcustomplot.h>

#include <QApplication>
#include <QClipboard>
#include <QContextMenuEvent>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QMimeData>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>
#include <cmath>
#include <limits>

#include "plot_export.hpp"
#include "plot_style.hpp"
#include "quantscope/error.hpp"

namespace qs {

PlotView::PlotView(QWidget* parent) : QWidget(parent) {
  plot_ = new QCustomPlot(this);
  plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(plot_);

  readout_ = new QCPItemText(plot_);
  readout_->setLayer("overlay");
  readout_->position->setType(QCPItemPosition::ptAxisRectRatio);
  readout_->position->setCoords(0.99, 0.01);
  readout_->setPositionAlignment(Qt::AlignRight | Qt::AlignTop);
  readout_->setClipToAxisRect(true);
  readout_->setColor(kPlotMutedText);
  readout_->setBrush(QColor(255, 255, 255, 215));
  readout_->setPadding(QMargins(4, 2, 4, 2));
  readout_->setVisible(false);

  plot_->setMouseTracking(true);
  // A click focuses the plot, so Ctrl+Shift+C (the window's Copy Plot) knows which one is meant.
  plot_->setFocusPolicy(Qt::ClickFocus);
  connect(plot_, &QCustomPlot::mouseMove, this, &PlotView::readout_move);
  connect(plot_, &QCustomPlot::mouseDoubleClick, this, [this](QMouseEvent*) { zoom_reset(); });
  plot_->setToolTip(tr("Drag to pan, wheel to zoom, double-click to reset; right-click to copy or save"));
}

void PlotView::home_save() {
  home_ = {plot_->xAxis->range().lower, plot_->xAxis->range().upper, plot_->yAxis->range().lower,
           plot_->yAxis->range().upper, true};
}

void PlotView::zoom_reset() {
  if (!home_.saved) return;
  plot_->xAxis->setRange(home_.x_lower, home_.x_upper);
  plot_->yAxis->setRange(home_.y_lower, home_.y_upper);
  plot_->replot();
}

void PlotView::log_y_set(bool on) {
  if (on == log_y_) return;
  log_y_ = on;
  axis_log_set(plot_->yAxis, on);
  // QCPAxis::rescale takes only positive values on a logarithmic axis; with nothing plotted it keeps
  // the range.
  plot_->yAxis->rescale(true);
  axis_pad(plot_->yAxis);
  Q_EMIT log_y_changed(on);
  home_.y_lower = plot_->yAxis->range().lower;
  home_.y_upper = plot_->yAxis->range().upper;
  plot_->replot();
}

void PlotView::axes_link(const QList<PlotView*>& views, Qt::Orientations orientations) {
  for (PlotView* from : views)
    for (PlotView* to : views) {
      if (from == to) continue;
      QPointer<PlotView> target(to);
      auto follow = [target](QCPAxis* axis) {
        return [target, axis](const QCPRange& range) {
          // setRange does nothing (and emits nothing) for an equal range, which ends the ping-pong.
          if (!target || axis->range() == range) return;
          axis->setRange(range);
          target->plot()->replot(QCustomPlot::rpQueuedReplot);
        };
      };
      if (orientations & Qt::Horizontal)
        connect(from->plot()->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), to,
                follow(to->plot()->xAxis));
      if (orientations & Qt::Vertical)
        connect(from->plot()->yAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), to,
                follow(to->plot()->yAxis));
    }
}

void PlotView::image_copy() {
  const bool shown = readout_->visible();
  readout_->setVisible(false);
  QApplication::clipboard()->setPixmap(plot_->toPixmap(plot_->width(), plot_->height()));
  readout_->setVisible(shown);
}

void PlotView::data_copy() {
  auto* mime = new QMimeData;
  mime->setText(plot_data_tsv(*plot_));
  QApplication::clipboard()->setMimeData(mime);
}

void PlotView::image_save(const QString& path, int width, int height) {
  const bool shown = readout_->visible();
  readout_->setVisible(false);
  try {
    plot_file_write(*plot_, path.toStdString(), width, height);
  } catch (...) {
    readout_->setVisible(shown);
    throw;
  }
  readout_->setVisible(shown);
}

void PlotView::image_save_ask() {
  QDialog dialog(this);
  dialog.setWindowTitle(tr("Save Plot"));
  auto* path = new QLineEdit(&dialog);
  path->setText(QDir::home().filePath("plot.png"));
  auto* browse = new QPushButton(tr("Browse…"), &dialog);
  auto* width = new QSpinBox(&dialog);
  auto* height = new QSpinBox(&dialog);
  for (QSpinBox* box : {width, height}) {
    box->setRange(64, 8000);
    box->setSuffix(tr(" px"));
  }
  width->setValue(std::max(plot_->width(), 640));
  height->setValue(std::max(plot_->height(), 400));
  auto* row = new QHBoxLayout;
  row->addWidget(path, 1);
  row->addWidget(browse);
  auto* form = new QFormLayout;
  form->addRow(tr("File (.png or .pdf)"), row);
  form->addRow(tr("Width"), width);
  form->addRow(tr("Height"), height);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel, &dialog);
  auto* layout = new QVBoxLayout(&dialog);
  layout->addLayout(form);
  layout->addWidget(buttons);
  connect(browse, &QPushButton::clicked, &dialog, [&] {
    const QString chosen = QFileDialog::getSaveFileName(&dialog, tr("Save Plot"), path->text(),
                                                        tr("PNG image (*.png);;PDF document (*.pdf)"));
    if (!chosen.isEmpty()) path->setText(chosen);
  });
  connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
  if (dialog.exec() != QDialog::Accepted) return;
  try {
    image_save(path->text(), width->value(), height->value());
  } catch (const Error& e) {
    QMessageBox::warning(this, tr("Save Plot"), QString::fromStdString(e.what()));
  }
}

void PlotView::contextMenuEvent(QContextMenuEvent* event) {
  QMenu menu(this);
  menu.addAction(tr("Copy Image"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C), this, &PlotView::image_copy);
  menu.addAction(tr("Copy Data as TSV"), this, &PlotView::data_copy);
  menu.addAction(tr("Save Image…"), this, &PlotView::image_save_ask);
  menu.addSeparator();
  menu.addAction(tr("Reset Zoom"), this, &PlotView::zoom_reset)->setEnabled(home_.saved);
  if (log_allowed_) {
    QAction* log = menu.addAction(tr("Logarithmic Scale"));
    log->setCheckable(true);
    log->setChecked(log_y_);
    connect(log, &QAction::toggled, this, &PlotView::log_y_set);
  }
  menu.exec(event->globalPos());
}

QString PlotView::readout_text(const QPointF& position) const {
  QCPAxisRect* rect = plot_->axisRect();
  if (!rect->rect().contains(position.toPoint())) return {};
  const double x = plot_->xAxis->pixelToCoord(position.x()), y = plot_->yAxis->pixelToCoord(position.y());
  QString text = QString("x = %1   y = %2").arg(x, 0, 'g', 5).arg(y, 0, 'g', 5);
  double best = std::numeric_limits<double>::infinity();
  QString nearest;
  for (int i = 0; i < plot_->plottableCount(); ++i) {
    QCPAbstractPlottable* plottable = plot_->plottable(i);
    if (!plottable->visible()) continue;
    if (auto* map = qobject_cast<QCPColorMap*>(plottable)) {
      int cx = 0, cy = 0;
      map->data()->coordToCell(x, y, &cx, &cy);
      if (cx >= 0 && cy >= 0 && cx < map->data()->keySize() && cy < map->data()->valueSize())
        return text + QString("   value = %1").arg(map->data()->cell(cx, cy), 0, 'g', 5);
      continue;
    }
    QCPPlottableInterface1D* points = plottable->interface1D();
    if (!points || points->dataCount() == 0) continue;
    const int at = points->findBegin(x, true);
    // Bars are read by the column under the mouse; lines and markers by the nearest point.
    const bool bars = qobject_cast<QCPBars*>(plottable) != nullptr;
    for (int k : {at - 1, at, at + 1}) {
      if (k < 0 || k >= points->dataCount()) continue;
      const double px = plottable->keyAxis()->coordToPixel(points->dataMainKey(k));
      const double py = plottable->valueAxis()->coordToPixel(points->dataMainValue(k));
      const double d = bars ? std::abs(px - position.x()) : std::hypot(px - position.x(), py - position.y());
      if (d < best && d < 24) {
        best = d;
        const QString name = plottable->name().isEmpty() ? QString() : plottable->name() + ": ";
        nearest = QString("%1%2 → %3").arg(name).arg(points->dataMainKey(k), 0, 'g', 5).arg(points->dataMainValue(k), 0, 'g', 6);
      }
    }
  }
  return nearest.isEmpty() ? text : nearest;
}

void PlotView::readout_move(QMouseEvent* event) {
  const QString text = readout_text(event->position());
  readout_->setText(text);
  readout_->setVisible(!text.isEmpty());
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

}  // namespace qs
