// The selected layer up close: the histogram of its weights, or, with a format typed in the box, what
// that format does to it (the values the grid or codebook applies to, with the levels drawn over
// them, and the error metrics). Both are jobs tagged by this panel, so running through the table with
// the arrow keys computes only the last layer's.
#pragma once
#include <memory>

#include "job_runner.hpp"
#include "panel.hpp"

class QComboBox;
class QLabel;
class QLineEdit;

namespace qs {

class WeightHistogramPlot;
struct InspectorHistogram;
struct QuantizedTensor;

class InspectorPanel : public Panel {
  Q_OBJECT

 public:
  explicit InspectorPanel(Workbench& workbench, QWidget* parent = nullptr);

  QJsonObject state() const override;
  void state_restore(const QJsonObject& state) override;

  void cancel() override;

  WeightHistogramPlot* plot() const { return plot_; }
  QLineEdit* format_edit() const { return format_edit_; }
  // Grid over the values, levels used, or error (WeightHistogramPlot::QuantizedView's order).
  QComboBox* view_box() const { return view_box_; }

 Q_SIGNALS:
  // The histogram of `layer` is on screen.
  void histogram_shown(const QString& layer);
  // `layer` quantized in the format of the format box is on screen, with its `levels` grid or codebook.
  void quantized_shown(const QString& layer, int levels);
  // The format could not apply to `layer` (error is the core's one-line message).
  void quantize_failed(const QString& layer, const QString& error);

 private:
  void layer_show();
  void histogram_request(const QString& layer);
  // `text`: the format typed, or the one a quantized checkpoint stores the layer in.
  void quantize_request(const QString& layer, const QString& text);
  void format_status_set(const QString& text, bool error);
  void quantized_draw();
  void job_finished(JobRunner::JobId id);
  void job_failed(JobRunner::JobId id, const QString& error);

  QLineEdit* format_edit_;
  QLabel* format_status_;
  QComboBox* view_box_;
  std::shared_ptr<const QuantizedTensor> shown_;  // the quantized layer on screen, redrawn per view
  QString shown_layer_;
  WeightHistogramPlot* plot_;

  JobRunner::JobId histogram_id_ = 0;
  QString histogram_layer_;
  std::shared_ptr<InspectorHistogram> histogram_result_;
  JobRunner::JobId quantize_id_ = 0;
  QString quantize_layer_;
  std::shared_ptr<QuantizedTensor> quantize_result_;
  const void* requested_for_ = nullptr;  // the model of the latest request
};

}  // namespace qs
