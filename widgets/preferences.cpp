// The preference table and its QSettings reads and writes.
#include "preferences.hpp"

#include <QObject>
#include <QSettings>

namespace qs {

const std::vector<Preference>& preferences_declared() {
  using K = Preference::Kind;
  namespace key = preference_key;
  static const std::vector<Preference> table = {
      {key::kDevice, K::Choice, "cpu", QObject::tr("Device"),
       QObject::tr("Where models open and compute (File ▸ Device and Precision sets it too)"), {"cpu", "cuda"}},
      {key::kCompute, K::Choice, "f32", QObject::tr("Compute precision"),
       QObject::tr("float32 evaluates exactly; bfloat16 halves the converted weights' memory"), {"f32", "bf16"}},
      {key::kEvaluationText, K::File, QString(), QObject::tr("Evaluation text"),
       QObject::tr("The text the evaluation and sensitivity panels start with when a model opens (the demo model "
                   "brings its own)")},
      {key::kCalibrationText, K::File, QString(), QObject::tr("Calibration text"),
       QObject::tr("The text sensitivity scans measure ΔKL and proxies on; empty: the evaluation text")},
      {key::kTaskFiles, K::Files, QStringList(), QObject::tr("Task files"),
       QObject::tr("Task files (JSONL) every evaluation scores from the start")},
      {key::kHistogramBins, K::Integer, 0, QObject::tr("Histogram bins"),
       QObject::tr("Bins of the inspector's histograms; 0 chooses from the layer's size"), {}, 0, 4096},
      {key::kReopenSession, K::Flag, false, QObject::tr("Reopen the last session at start"),
       QObject::tr("Start where the last saved or opened session left off instead of with the demo model")},
  };
  return table;
}

QVariant preference(const QString& key) {
  for (const Preference& p : preferences_declared())
    if (p.key == key) return QSettings().value(key, p.initial);
  return {};
}

void preference_set(const QString& key, const QVariant& value) { QSettings().setValue(key, value); }

}  // namespace qs
