// The event-loop lag probe: a timer firing every 5 ms records the largest gap between its ticks, which
// is the longest the window could not repaint or take input. The responsiveness test bounds it; the
// window's benchmarks report it per interaction (lag_measure).
#pragma once
#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <QTest>
#include <QTimer>
#include <algorithm>
#include <cstdio>
#include <functional>

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

// The benchmarks' one line per interaction: runs `start`, waits (10 min at most) until `done`, and prints
// the wall time and the largest gap while it ran. False when it timed out.
inline bool lag_measure(LagProbe& probe, const QString& what, const std::function<void()>& start,
                        const std::function<bool()>& done) {
  probe.reset();
  QElapsedTimer clock;
  clock.start();
  start();
  const bool ok = QTest::qWaitFor(done, 600000);
  std::printf("%-64s %9.1f ms   largest gap %4lld ms%s\n", qPrintable(what), double(clock.nsecsElapsed()) / 1e6,
              static_cast<long long>(probe.worst()), ok ? "" : "   (timed out)");
  std::fflush(stdout);
  return ok;
}

}  // namespace qs
