// The panel table: every dock the window has.
#include "panel_registry.hpp"

#include <QObject>

#include "budget_panel.hpp"
#include "compare_panel.hpp"
#include "error_map_panel.hpp"
#include "evaluation_panel.hpp"
#include "inspector_panel.hpp"
#include "jobs_panel.hpp"
#include "layers_panel.hpp"
#include "qat_panel.hpp"
#include "rate_distortion_panel.hpp"
#include "rules_panel.hpp"
#include "sensitivity_panel.hpp"

namespace qs {

const std::vector<PanelInfo>& panels_registered() {
  static const std::vector<PanelInfo> panels = {
      {"layers", QObject::tr("Layers"), Qt::LeftDockWidgetArea, QKeySequence(Qt::ALT | Qt::Key_1),
       [](Workbench& w) { return new LayersPanel(w); }},
      {"rules", QObject::tr("Plan Rules"), Qt::LeftDockWidgetArea, QKeySequence(Qt::ALT | Qt::Key_2),
       [](Workbench& w) { return new RulesPanel(w); }},
      {"inspector", QObject::tr("Layer Inspector"), Qt::RightDockWidgetArea, QKeySequence(Qt::ALT | Qt::Key_3),
       [](Workbench& w) { return new InspectorPanel(w); }},
      {"compare", QObject::tr("Compare"), Qt::RightDockWidgetArea, QKeySequence(Qt::ALT | Qt::Key_4),
       [](Workbench& w) { return new ComparePanel(w); }},
      {"errormap", QObject::tr("Error Map"), Qt::RightDockWidgetArea, QKeySequence(Qt::ALT | Qt::Key_5),
       [](Workbench& w) { return new ErrorMapPanel(w); }},
      {"evaluation", QObject::tr("Evaluation"), Qt::BottomDockWidgetArea, QKeySequence(Qt::ALT | Qt::Key_6),
       [](Workbench& w) { return new EvaluationPanel(w); }},
      {"sensitivity", QObject::tr("Sensitivity"), Qt::BottomDockWidgetArea, QKeySequence(Qt::ALT | Qt::Key_7),
       [](Workbench& w) { return new SensitivityPanel(w); }},
      {"budget", QObject::tr("Budget"), Qt::BottomDockWidgetArea, QKeySequence(Qt::ALT | Qt::Key_8),
       [](Workbench& w) { return new BudgetPanel(w); }},
      {"ratedistortion", QObject::tr("Rate–Distortion"), Qt::BottomDockWidgetArea, QKeySequence(Qt::ALT | Qt::Key_9),
       [](Workbench& w) { return new RateDistortionPanel(w); }},
      {"qat", QObject::tr("QAT Runs"), Qt::BottomDockWidgetArea, QKeySequence(Qt::ALT | Qt::Key_0),
       [](Workbench& w) { return new QatPanel(w); }},
      {"jobs", QObject::tr("Jobs"), Qt::BottomDockWidgetArea, QKeySequence(Qt::ALT | Qt::SHIFT | Qt::Key_J),
       [](Workbench& w) { return new JobsPanel(w); }},
  };
  return panels;
}

}  // namespace qs
