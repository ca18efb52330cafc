// A saved workbench session (.qscope.json): which model was open and how, the plan being edited, the
// selection, the compare slots, the evaluation history, the analysis results shown, each panel's settings and the dock layout,
// so a study can be closed on Friday and picked up on Monday, or sent to a colleague. Versioned JSON;
// reading names the file and the problem in one line.
#pragma once
#include <QByteArray>
#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <vector>

#include "eval_history_model.hpp"

namespace qs {

struct Session {
  static constexpr int kVersion = 1;
  QString model_path;  // absolute
  QString device;      // "cpu", "cuda"
  QString dtype;       // "f32", "bf16", or empty for the checkpoint's own
  QString plan_json;   // the plan as plan_json wrote it; empty when no model was open
  QString plan_path;   // the plan file it came from, if any
  QString selected_layer;
  QStringList selected_layers;
  QStringList compare_slots;
  std::vector<EvalRecord> history;
  QString results_path;  // the results.h5 the analysis panels show (a scan's, or one opened)
  QJsonObject panels;  // panel id → that panel's state (Panel::state)
  QByteArray layout;   // QMainWindow::saveState
  QByteArray geometry; // QMainWindow::saveGeometry
};

QByteArray session_json(const Session& session);
// `path` names the source in errors. Throws Error(Invalid) for JSON that is no session, or a session
// of a newer version than this program reads.
Session session_parse(const QByteArray& json, const QString& path);

// Both throw qs::Error naming the file. Writing is atomic: a crash leaves the previous file whole.
Session session_read(const QString& path);
void session_write(const Session& session, const QString& path);

}  // namespace qs
