// sensitivity_bars_draw: grouped ΔKL bars with layer names as tick labels.
#include "sensitivity_plot.hpp"

#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

#include "plot_style.hpp"

namespace qs {

std::vector<QCPBars*> sensitivity_bars_draw(QCustomPlot& plot, const QStringList& layers,
                                            const std::vector<SensitivityBars>& groups, const QString& y_label) {
  auto ticker = QSharedPointer<QCPAxisTickerText>::create();
  // "model.layers.3.mlp.down_proj" reads as "3.down": the rest is on every tick, and a 32-block model
  // has 224 of them under one axis.
  for (int i = 0; i < layers.size(); ++i)
    ticker->addTick(double(i + 1), QString(layers[i]).remove("model.layers.").remove("self_attn.").remove("mlp.").remove("_proj"));
  std::vector<QCPBars*> out;
  auto* group = groups.size() > 1 ? new QCPBarsGroup(&plot) : nullptr;
  if (group) group->setSpacing(0);
  const double width = 0.8 / double(std::max<size_t>(1, groups.size()));
  double lo = 0, hi = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    QVector<double> keys, values;
    for (int i = 0; i < groups[g].values.size() && i < layers.size(); ++i) {
      const double v = groups[g].values[i];
      if (!std::isfinite(v)) continue;
      keys.push_back(double(i + 1));
      values.push_back(v);
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    auto* bars = new QCPBars(plot.xAxis, plot.yAxis);
    bars->setName(groups[g].name);
    bars->setData(keys, values, true);
    bars->setWidth(groups.size() > 1 ? width : 0.7);
    bars->setPen(QPen(plot_color(int(g)).darker(130), 0.8));
    bars->setBrush(plot_color(int(g)));
    if (group) bars->setBarsGroup(group);
    out.push_back(bars);
  }
  plot.xAxis->setTicker(ticker);
  plot.xAxis->setTickLabelRotation(90);
  plot.xAxis->setSubTicks(false);
  plot.xAxis->grid()->setVisible(false);
  plot.yAxis->setLabel(y_label);
  plot.xAxis->setRange(0.3, double(layers.size()) + 0.7);
  plot.yAxis->setRange(lo, hi > lo ? hi : lo + 1);
  axis_pad(plot.yAxis);
  plot.legend->setVisible(groups.size() > 1);
  return out;
}

}  // namespace qs
