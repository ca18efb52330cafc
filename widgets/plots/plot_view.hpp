// The one frame around every plot in the window, so each behaves the same way: drag and wheel to pan
// and zoom, double-click (or "Reset Zoom") to go back, a readout of the value under the mouse, and a
// context menu that copies the image or the data as TSV, saves PNG or PDF at a chosen size and
// switches the value axis to a log scale. Builders draw into plot(); the view adds the behaviour.
#pragma once
#include <QList>
#include <QPointer>
#include <QString>
#include <QWidget>

class QCPItemText;
class QCustomPlot;
class QMenu;

namespace qs {

class PlotView : public QWidget {
  Q_OBJECT

 public:
  explicit PlotView(QWidget* parent = nullptr);

  QCustomPlot* plot() const { return plot_; }

  // The current axis ranges become those that Reset Zoom and a double-click return to; builders call
  // it after drawing.
  void home_save();
  void zoom_reset();

  // Whether the menu offers a logarithmic value axis (not for colour maps, whose value is a colour).
  void log_allowed_set(bool allowed) { log_allowed_ = allowed; }
  bool log_y() const { return log_y_; }
  // Switches the y axis, rescales it to the data and saves the new home range; log_y_changed lets a
  // builder choose a better range than the data's (a histogram starts below a count of one).
  void log_y_set(bool on);

  // Keeps the x and/or y ranges of `views` equal: a zoom or pan in one moves the others.
  static void axes_link(const QList<PlotView*>& views, Qt::Orientations orientations);

  void image_copy();
  void data_copy();
  // Throws qs::Error (see plot_file_write).
  void image_save(const QString& path, int width, int height);

  // What the hover readout shows for a widget position (plot coordinates, and the nearest point or
  // colour-map cell); empty outside the axis rect. Public so tests can check it without a mouse.
  QString readout_text(const QPointF& position) const;

 Q_SIGNALS:
  void log_y_changed(bool on);

 protected:
  void contextMenuEvent(QContextMenuEvent* event) override;

 private:
  void image_save_ask();
  void readout_move(QMouseEvent* event);

  QCustomPlot* plot_;
  QCPItemText* readout_;
  bool log_allowed_ = true;
  bool log_y_ = false;
  struct Home {
    double x_lower = 0, x_upper = 1, y_lower = 0, y_upper = 1;
    bool saved = false;
  } home_;
};

}  // namespace qs
