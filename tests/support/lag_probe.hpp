// The event-loop lag probe: a timer firing every 5 ms records the largest gap between its ticks, which
// is the longest the window could not repaint or take input. The responsiveness test bounds it; the
// workbench benchmark reports it per interaction.
#pragma once
#include <QElapsedTimer>
#include <QObject>
#include <QTimer>
#include <algorithm>

namespace qs {

class LagProbe {
 public:
  LagProbe() {
    timer_.setInterval(5);
    QObject::connect(&timer_, &QTimer::timeout, [this] { worst_ = std::max(worst_, clock_.restart()); });
    clock_.start();
    timer_.start();
  }
  qint64 worst() const { return worst_; }
  void reset() {
    worst_ = 0;
    clock_.restart();
  }

 private:
  QTimer timer_;
  QElapsedTimer clock_;
  qint64 worst_ = 0;
};

}  // namespace qs
