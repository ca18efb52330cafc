// Where in the weight a format goes wrong: the selected layer's quantization error over [out, in] as
// a colour map (|ŵ − w|, relative, or signed; max or mean over each screen pixel's tile), with the
// error pooled per row and per column beside it, and the absmax of the weight per output row and per
// input column as outlier strips (a click on a strip marks that row or column in the map). Zooming
// re-pools the visible window at screen resolution in a tagged job, so a 4096 × 14336 layer stays
// sharp down to single weights; group boundaries appear once a group is wide enough to see.
#pragma once
#include <QString>
#include <memory>

#include "job_runner.hpp"
#include "panel.hpp"
#include "quantscope/error_map.hpp"

class QComboBox;
class QCPAxisRect;
class QCPColorMap;
class QCPColorScale;
class QCPGraph;
class QCPItemStraightLine;
class QCustomPlot;
class QLabel;
class QLineEdit;
class QTimer;

namespace qs {

class PlotView;
struct ErrorMapRequest;

class ErrorMapPanel : public Panel {
  Q_OBJECT

 public:
  explicit ErrorMapPanel(Workbench& workbench, QWidget* parent = nullptr);

  void cancel() override;
  QJsonObject state() const override;
  void state_restore(const QJsonObject& state) override;

  QLineEdit* format_edit() const { return format_edit_; }
  QComboBox* value_box() const { return value_box_; }
  QComboBox* pool_box() const { return pool_box_; }
  PlotView* view() const { return view_; }
  QCPColorMap* color_map() const { return map_; }
  // The tiles on screen (empty before the first map).
  const ErrorMapTiles& tiles() const { return tiles_; }
  // Vertical lines at group boundaries on screen (0 when zoomed out too far to see them).
  int group_lines() const { return group_lines_; }
  // Marks `row` (or, with `column` true, that column) in the map, as a click on a strip does.
  void outlier_mark(int64_t index, bool column);

 Q_SIGNALS:
  // Tiles of `layer` are on screen.
  void map_shown(const QString& layer);
  void map_failed(const QString& layer, const QString& error);

 private:
  void request();
  void pool_request();
  void tiles_draw();
  void strips_draw();
  void group_lines_draw();
  void status_set(const QString& text, bool error);
  QString format_text() const;

  QLineEdit* format_edit_;
  QComboBox* value_box_;
  QComboBox* pool_box_;
  QLabel* status_;
  PlotView* view_;
  QCPAxisRect* map_rect_;
  QCPAxisRect* rows_rect_;
  QCPAxisRect* cols_rect_;
  QCPColorMap* map_;
  QCPColorScale* scale_;
  QCPGraph* row_error_;
  QCPGraph* row_absmax_;
  QCPGraph* col_error_;
  QCPGraph* col_absmax_;
  QCPItemStraightLine* mark_ = nullptr;
  QTimer* repool_later_;
  JobRunner* jobs_;

  bool stale_ = true;
  QString layer_;    // of the map held
  FormatSpec spec_;  // of the map held
  std::shared_ptr<const ErrorMap> error_map_;
  ErrorMapTiles tiles_;
  int group_lines_ = 0;
  JobRunner::JobId map_id_ = 0;
  std::shared_ptr<ErrorMapRequest> map_pending_;
  JobRunner::JobId pool_id_ = 0;
  std::shared_ptr<ErrorMapTiles> pool_pending_;
  bool drawing_ = false;  // range changes made while drawing are not zooms
};

}  // namespace qs
