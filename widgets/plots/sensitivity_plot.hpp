// The sensitivity figure: ΔKL per layer as bars, grouped by format when several were scanned, with the
// layer names under the axis. `quantscope-cli sensitivity`'s PNG/PDF and the sensitivity panel draw it
// through this one builder.
#pragma once
#include <QString>
#include <QStringList>
#include <QVector>
#include <vector>

class QCPBars;
class QCustomPlot;

namespace qs {

struct SensitivityBars {
  QString name;            // the format
  QVector<double> values;  // one per layer, NaN where there is none
};

// Draws into a plot without bars yet; returns one QCPBars per group, in order. Bar keys are 1, 2, … in
// `layers`' order (which the caller chooses: depth, or sorted).
std::vector<QCPBars*> sensitivity_bars_draw(QCustomPlot& plot, const QStringList& layers,
                                            const std::vector<SensitivityBars>& groups, const QString& y_label);

}  // namespace qs
