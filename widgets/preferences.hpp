// The workbench's preferences, each declared once (key, default, label, kind, range) as Qt Creator's
// settings aspects are: the Preferences dialog is generated from this table, and every reader goes
// through preference() with the same key, so a default lives in one place.
#pragma once
#include <QString>
#include <QStringList>
#include <QVariant>
#include <vector>

namespace qs {

struct Preference {
  enum class Kind { Choice, Integer, File, Files, Flag };
  QString key;  // the QSettings key
  Kind kind;
  QVariant initial;  // the default
  QString label, help;
  QStringList choices;  // Choice: the values
  int minimum = 0, maximum = 0;  // Integer
};

namespace preference_key {
inline const QString kDevice = "model/device";        // "cpu" or "cuda": how models open
inline const QString kCompute = "model/compute";      // "f32" or "bf16"
inline const QString kEvaluationText = "defaults/evaluationText";
inline const QString kCalibrationText = "defaults/calibrationText";
inline const QString kTaskFiles = "defaults/taskFiles";
inline const QString kHistogramBins = "inspector/histogramBins";  // 0: chosen from the layer's size
inline const QString kReopenSession = "session/reopenLast";
}  // namespace preference_key

// In the order the dialog shows them.
const std::vector<Preference>& preferences_declared();
// The stored value, or the declared default. Throws nothing: an unknown key gives an invalid QVariant.
QVariant preference(const QString& key);
void preference_set(const QString& key, const QVariant& value);

}  // namespace qs
