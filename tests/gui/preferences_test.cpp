// Preferences: the dialog has an editor for every declared preference and stores what they show; the
// panels take the preferred texts, task files and histogram bins when a model opens; "reopen the last
// session" opens the newest recent session.
#include <gtest/gtest.h>

#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QLineEdit>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>
#include <qcustomplot.h>

#include "evaluation_panel.hpp"
#include "inspector_panel.hpp"
#include "main_window.hpp"
#include "preferences.hpp"
#include "preferences_dialog.hpp"
#include "sensitivity_panel.hpp"
#include "weight_histogram_plot.hpp"
#include "workbench.hpp"

namespace qs {
namespace {

QString demo_path() { return QS_SOURCE_DIR "/resources/models/demo"; }

TEST(Preferences, TheDialogStoresEveryDeclaredPreference) {
  QSettings().clear();
  PreferencesDialog dialog;
  for (const Preference& p : preferences_declared()) {
    ASSERT_NE(dialog.editor(p.key), nullptr) << p.key.toStdString();
    EXPECT_EQ(preference(p.key), p.initial) << p.key.toStdString();
  }
  qobject_cast<QComboBox*>(dialog.editor(preference_key::kCompute))->setCurrentText("bf16");
  qobject_cast<QSpinBox*>(dialog.editor(preference_key::kHistogramBins))->setValue(33);
  dialog.editor(preference_key::kEvaluationText)->findChild<QLineEdit*>()->setText("/data/wiki.txt");
  dialog.editor(preference_key::kTaskFiles)->findChild<QLineEdit*>()->setText("/a.jsonl;/b.jsonl");
  qobject_cast<QCheckBox*>(dialog.editor(preference_key::kReopenSession))->setChecked(true);
  dialog.store();
  EXPECT_EQ(preference(preference_key::kCompute).toString(), "bf16");
  EXPECT_EQ(preference(preference_key::kHistogramBins).toInt(), 33);
  EXPECT_EQ(preference(preference_key::kEvaluationText).toString(), "/data/wiki.txt");
  EXPECT_EQ(preference(preference_key::kTaskFiles).toStringList(), QStringList({"/a.jsonl", "/b.jsonl"}));
  EXPECT_TRUE(preference(preference_key::kReopenSession).toBool());
  EXPECT_FALSE(preference("no/such/key").isValid());
  QSettings().clear();
}

TEST(Preferences, PanelsStartFromThemAndTheLastSessionReopens) {
  if (!QFile::exists(demo_path() + "/config.json")) GTEST_SKIP() << "demo model not built yet";
  QSettings().clear();
  QTemporaryDir dir;
  const QString text = dir.filePath("text.txt"), tasks = QS_SOURCE_DIR "/resources/tasks/demo-cloze.jsonl";
  ASSERT_TRUE(QFile::copy(demo_path() + "/heldout-sample.txt", text));
  preference_set(preference_key::kEvaluationText, text);
  preference_set(preference_key::kTaskFiles, QStringList{tasks});
  preference_set(preference_key::kHistogramBins, 17);
  QString session;
  {
    MainWindow window;
    QSignalSpy shown(&window, &MainWindow::histogram_shown);
    window.show();
    window.model_open(demo_path());
    ASSERT_TRUE(QTest::qWaitFor([&] { return shown.count() > 0; }, 60000));
    auto* evaluation = qobject_cast<EvaluationPanel*>(window.panel("evaluation"));
    EXPECT_EQ(evaluation->text_edit()->text(), text);
    EXPECT_EQ(evaluation->task_paths(), QStringList{tasks});
    auto* sensitivity = qobject_cast<SensitivityPanel*>(window.panel("sensitivity"));
    EXPECT_EQ(sensitivity->evaluation_edit()->text(), text);
    EXPECT_EQ(sensitivity->calibration_edit()->text(), text);
    auto* inspector = qobject_cast<InspectorPanel*>(window.panel("inspector"));
    EXPECT_EQ(inspector->plot()->bars()->data()->size(), 17);
    session = dir.filePath("last.qscope.json");
    window.workbench().layer_select("model.layers.2.mlp.up_proj");
    window.session_save(session);
  }
  preference_set(preference_key::kReopenSession, true);
  MainWindow again;
  QSignalSpy loaded(&again, &MainWindow::model_loaded);
  ASSERT_TRUE(again.session_reopen_last());
  ASSERT_TRUE(QTest::qWaitFor([&] { return loaded.count() == 1; }, 60000));
  EXPECT_EQ(again.workbench().selected_layer(), "model.layers.2.mlp.up_proj");
  QSettings().clear();
}

}  // namespace
}  // namespace qs
