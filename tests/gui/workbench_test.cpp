// The plan editor offscreen: the Workbench's undo history (one step per edit, undo restores the plan
// JSON byte for byte), the layer table's format delegate (refusing a format the layer's shape cannot
// take, with the core's reason), multi-row edits, the totals strip against plan_totals, the rules
// panel, plan files in and out, and the dock layout's persistence.
#include <gtest/gtest.h>

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QClipboard>
#include <QDockWidget>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QLocale>
#include <QMimeData>
#include <QProcess>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QUndoStack>

#include "format_delegate.hpp"
#include "layers_panel.hpp"
#include "main_window.hpp"
#include "plan_table_model.hpp"
#include "quantscope/format.hpp"
#include "quantscope/model.hpp"
#include "quantscope/plan.hpp"
#include "quantscope/quantize.hpp"
#include "rule_table_model.hpp"
#include "rules_panel.hpp"
#include "workbench.hpp"

namespace qs {
namespace {

QString stories_path() { return QS_DATA_DIR "/models/stories260K/stories260K.bin"; }

class WorkbenchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!QFile::exists(stories_path())) GTEST_SKIP() << "stories260K not found at " << stories_path().toStdString();
    model_ = model_load(stories_path().toStdString());
    workbench_.model_set(model_, stories_path());
  }
  std::string json() const { return plan_json(workbench_.plan()); }
  QString cell(int row, int column) const { return panel_.table()->index(row, column).data().toString(); }

  std::shared_ptr<Model> model_;
  Workbench workbench_;
  LayersPanel panel_{workbench_};
  QAbstractItemModelTester tester_{panel_.table(), QAbstractItemModelTester::FailureReportingMode::Fatal};
};

TEST_F(WorkbenchTest, EachEditIsOneUndoStepAndUndoRestoresThePlanByteForByte) {
  const std::string empty = json();
  EXPECT_EQ(workbench_.layers_format_set({"model.layers.0.self_attn.q_proj"}, format_parse("int4")), "");
  const std::string one = json();
  EXPECT_EQ(workbench_.layers_format_set({"model.layers.0.self_attn.k_proj"}, format_parse("kmeans2")), "");
  const std::string two = json();
  const QStringList five = {"model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.k_proj",
                            "model.layers.1.self_attn.v_proj", "model.layers.1.self_attn.o_proj",
                            "model.layers.1.mlp.up_proj"};
  EXPECT_EQ(workbench_.layers_format_set(five, format_parse("int4:g32")), "");
  const std::string three = json();
  QUndoStack* undo = workbench_.undo_stack();
  ASSERT_EQ(undo->count(), 3);
  EXPECT_EQ(undo->undoText(), "Set format of 5 layers to int4:g32");
  EXPECT_EQ(workbench_.edited_count(), 7);
  EXPECT_EQ(cell(1, PlanTableModel::Format), "int4");
  EXPECT_EQ(cell(1, PlanTableModel::Source), "edited");

  undo->undo();
  EXPECT_EQ(json(), two);
  undo->undo();
  EXPECT_EQ(json(), one);
  undo->undo();
  EXPECT_EQ(json(), empty);
  EXPECT_EQ(cell(1, PlanTableModel::Format), "as stored");
  undo->redo();
  undo->redo();
  undo->redo();
  EXPECT_EQ(json(), three);
  // Setting what is already set adds nothing to undo.
  EXPECT_EQ(workbench_.layers_format_set(five, format_parse("int4:g32")), "");
  EXPECT_EQ(undo->count(), 3);
}

TEST_F(WorkbenchTest, TheFormatDelegateRefusesWhatTheLayerCannotTakeAndTheCostsFollow) {
  // down_proj's 172 inputs are no multiple of quest's 128-wide Hadamard block.
  const int down = panel_.table()->row_of("model.layers.0.mlp.down_proj");
  const QModelIndex format = panel_.proxy()->mapFromSource(panel_.table()->index(down, PlanTableModel::Format));
  QSignalSpy refused(panel_.delegate(), &FormatDelegate::refused);
  QStyleOptionViewItem option;
  std::unique_ptr<QWidget> editor(panel_.delegate()->createEditor(panel_.view()->viewport(), option, format));
  auto* edit = qobject_cast<QLineEdit*>(editor.get());
  ASSERT_NE(edit, nullptr);
  ASSERT_NE(edit->completer(), nullptr);
  panel_.delegate()->setEditorData(edit, format);
  EXPECT_EQ(edit->text(), "");
  edit->setText("quest4");
  panel_.delegate()->setModelData(edit, panel_.proxy(), format);
  ASSERT_EQ(refused.count(), 1);
  EXPECT_EQ(refused[0][0].toString(),
            "model.layers.0.mlp.down_proj: quest4 needs `in` (172) to be a multiple of its Hadamard block 128");
  EXPECT_EQ(cell(down, PlanTableModel::Format), "as stored");
  EXPECT_EQ(workbench_.undo_stack()->count(), 0);
  EXPECT_EQ(panel_.delegate()->commit("model.layers.0.mlp.down_proj", "int9"),
            QString::fromStdString([] {
              try { format_parse("int9"); } catch (const std::exception& e) { return std::string(e.what()); }
              return std::string();
            }()));

  // quest4:h4 divides 172: accepted, and the bits and bytes columns follow the format.
  edit->setText("quest4:h4");
  panel_.delegate()->setModelData(edit, panel_.proxy(), format);
  EXPECT_EQ(refused.count(), 1);
  EXPECT_EQ(cell(down, PlanTableModel::Format), "quest4:h4");
  const FormatSpec spec = format_parse("quest4:h4");
  EXPECT_EQ(cell(down, PlanTableModel::Bits), QString::number(format_bits_per_weight(spec, 64, 172), 'f', 3));
  EXPECT_EQ(panel_.table()->index(down, PlanTableModel::Bytes).data(PlanTableModel::SortRole).toULongLong(),
            (format_storage_bits(spec, 64, 172) + 7) / 8);
  // An empty editor resets the layer to the plan's rules.
  edit->setText("");
  panel_.delegate()->setModelData(edit, panel_.proxy(), format);
  EXPECT_EQ(cell(down, PlanTableModel::Format), "as stored");
  EXPECT_EQ(workbench_.undo_stack()->count(), 2);
}

TEST_F(WorkbenchTest, SelectedRowsTakeOneFormatInOneStepAndTheTotalsFollowPlanTotals) {
  panel_.view()->selectionModel()->select(
      QItemSelection(panel_.proxy()->index(2, 0), panel_.proxy()->index(4, 0)),
      QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
  ASSERT_EQ(panel_.selected_layers().size(), 3);
  EXPECT_EQ(panel_.selection_format_set("int2:g32"), "");
  EXPECT_EQ(workbench_.undo_stack()->count(), 1);
  for (int row = 2; row <= 4; ++row) EXPECT_EQ(panel_.proxy()->index(row, PlanTableModel::Format).data().toString(), "int2:g32");
  EXPECT_EQ(workbench_.default_set(format_parse("kmeans2")), "");
  EXPECT_EQ(workbench_.layers_format_set({"model.embed_tokens"}, format_parse("int8")), "");

  const PlanTotals t = plan_totals(plan_assign(workbench_.plan(), *model_), *model_);
  EXPECT_EQ(t.model_bytes, workbench_.totals().model_bytes);
  const QString text = panel_.totals_text();
  EXPECT_TRUE(text.contains(QString::number(t.bits_per_weight, 'f', 3) + " bits/weight over 36 layers"))
      << text.toStdString();
  EXPECT_TRUE(text.contains(QString::number(double(t.model_bytes) / double(t.bf16_bytes), 'f', 3) + "× bf16"))
      << text.toStdString();
  EXPECT_TRUE(text.contains("4 edited")) << text.toStdString();
  const QString refused = panel_.selection_format_set("quest4");  // 64 inputs: no 128-wide block
  EXPECT_TRUE(refused.contains("Hadamard block 128")) << refused.toStdString();
  EXPECT_EQ(panel_.findChild<QLabel*>("planMessage")->text(), refused);

  // Ctrl+C's text: a header, then the selected rows, tab-separated.
  const QStringList lines = panel_.selection_tsv().split('\n', Qt::SkipEmptyParts);
  ASSERT_EQ(lines.size(), 4);
  EXPECT_TRUE(lines[0].startsWith("Layer\tShape\tParameters\tStored\tFormat"));
  EXPECT_TRUE(lines[1].startsWith("model.layers.0.self_attn.k_proj\t32 × 64"));
}

TEST_F(WorkbenchTest, TheRulesPanelEditsTheRulesInUndoableSteps) {
  RulesPanel rules(workbench_);
  QAbstractItemModelTester rule_tester(rules.rules(), QAbstractItemModelTester::FailureReportingMode::Fatal);
  EXPECT_EQ(rules.default_apply("int4:g32"), "");
  EXPECT_EQ(rules.rule_apply("model.layers.*.mlp.*", "kmeans2"), "");
  EXPECT_EQ(rules.rule_apply("model.layers.0.*", "int8"), "");
  ASSERT_EQ(rules.rules()->rowCount(), 3);  // the default, then the rules
  // The default takes the decoder layers no rule matches: 35 - 15 MLP - 4 more of block 0.
  EXPECT_EQ(rules.rules()->index(0, RuleTableModel::Layers).data().toLongLong(), 16);
  EXPECT_EQ(rules.rules()->index(1, RuleTableModel::Layers).data().toLongLong(), 15);
  EXPECT_EQ(rules.rules()->index(2, RuleTableModel::Layers).data().toLongLong(), 7);
  // A glob matching nothing is refused with the core's reason; so is a format that cannot apply.
  EXPECT_TRUE(rules.rule_apply("model.layers.9.*", "int4").startsWith("plan rule 'model.layers.9.*' matches no layer"));
  EXPECT_TRUE(rules.rule_apply("model.layers.*.mlp.down_proj", "quest4").contains("Hadamard block 128"));
  // Replacing a rule's format keeps its place.
  EXPECT_EQ(rules.rule_apply("model.layers.*.mlp.*", "kmeans3"), "");
  EXPECT_EQ(rules.rules()->index(1, RuleTableModel::Weight).data().toString(), "kmeans3");
  EXPECT_EQ(workbench_.undo_stack()->count(), 4);
  EXPECT_EQ(workbench_.rule_move(1, 0), "");
  EXPECT_EQ(workbench_.plan().rules.front().match, "model.layers.0.*");
  EXPECT_EQ(workbench_.rule_remove(0), "");
  EXPECT_EQ(workbench_.plan().rules.size(), 1u);
  EXPECT_EQ(workbench_.undo_stack()->count(), 6);
  EXPECT_EQ(workbench_.undo_stack()->undoText(), "Remove rule model.layers.0.*");
}

TEST_F(WorkbenchTest, PlanFilesRoundTripAndLoadingIsOneUndoStep) {
  QTemporaryDir dir;
  ASSERT_TRUE(dir.isValid());
  EXPECT_EQ(workbench_.default_set(format_parse("int4:g32")), "");
  EXPECT_EQ(workbench_.layers_format_set({"model.layers.2.mlp.down_proj"}, format_parse("kmeans2:channel")), "");
  const QString path = dir.filePath("plan.json");
  workbench_.plan_save(path);
  EXPECT_TRUE(workbench_.undo_stack()->isClean());
  // What the CLI's --plan reads: the same plan, resolving to the same formats.
  const QuantPlan read = plan_load(path.toStdString());
  EXPECT_EQ(plan_json(read), json());
  EXPECT_EQ(plan_resolve(read, *model_).size(), 35u);

  Workbench other;
  other.model_set(model_, stories_path());
  other.plan_open(path);
  EXPECT_EQ(plan_json(other.plan()), json());
  EXPECT_EQ(other.undo_stack()->count(), 1);
  other.undo_stack()->undo();
  EXPECT_EQ(plan_json(other.plan()), plan_json(QuantPlan{}));

  // A plan this model cannot take names the problem and changes nothing.
  QFile bad(dir.filePath("bad.json"));
  ASSERT_TRUE(bad.open(QIODevice::WriteOnly));
  bad.write(R"({"default": "quest4"})");
  bad.close();
  try {
    other.plan_open(bad.fileName());
    ADD_FAILURE() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("Hadamard block 128"), std::string::npos) << e.what();
  }
  EXPECT_EQ(plan_json(other.plan()), plan_json(QuantPlan{}));
}

TEST_F(WorkbenchTest, MetricsOfTheRowsInViewComeFromJobsKeyedByLayerAndFormat) {
  QSignalSpy shown(&panel_, &LayersPanel::metrics_shown);
  const QString layer = "model.layers.0.mlp.up_proj";
  EXPECT_EQ(workbench_.layers_format_set({layer}, format_parse("kmeans2")), "");
  const int row = panel_.table()->row_of(layer);
  EXPECT_EQ(cell(row, PlanTableModel::Sqnr), "…");
  EXPECT_EQ(cell(row - 1, PlanTableModel::Sqnr), "—");  // as stored: nothing lost
  ASSERT_TRUE(QTest::qWaitFor([&] { return shown.count() == 1; }, 30000));
  // The same numbers as quantizing the layer's weight directly.
  const std::vector<float> w = model_->tensor_values(layer.toStdString() + ".weight");
  const TensorMetrics m = tensor_quantize(format_parse("kmeans2"), w, 172, 64).metrics;
  EXPECT_EQ(cell(row, PlanTableModel::RelativeMse), QString::number(m.relative_mse, 'e', 2));
  EXPECT_EQ(cell(row, PlanTableModel::Sqnr), QString::number(m.sqnr_db, 'f', 2));
  EXPECT_EQ(cell(row, PlanTableModel::Cosine), QString::number(m.cosine, 'f', 5));

  // An edit undone at once: whatever its job computed stays keyed to that format, the row shows its own.
  EXPECT_EQ(workbench_.layers_format_set({layer}, format_parse("int3:g16")), "");
  workbench_.undo_stack()->undo();
  QTest::qWait(50);
  ASSERT_TRUE(QTest::qWaitFor([&] { return panel_.metrics_pending() == 0; }, 30000));
  EXPECT_EQ(cell(row, PlanTableModel::Format), "kmeans2");
  EXPECT_EQ(cell(row, PlanTableModel::Sqnr), QString::number(m.sqnr_db, 'f', 2));
}

TEST(WorkbenchWindow, APlanSavedByTheWindowGivesTheCliTheSameTotals) {
  const QString demo = QS_SOURCE_DIR "/resources/models/demo";
  if (!QFile::exists(demo + "/config.json")) GTEST_SKIP() << "demo model not built yet";
  QSettings().clear();
  MainWindow window;
  QSignalSpy loaded(&window, &MainWindow::model_loaded);
  window.model_open(demo);
  ASSERT_TRUE(QTest::qWaitFor([&] { return loaded.count() == 1; }, 60000));
  Workbench& workbench = window.workbench();
  ASSERT_EQ(workbench.default_set(format_parse("int4:g64")), "");
  ASSERT_EQ(workbench.layers_format_set({"model.layers.1.mlp.down_proj", "model.embed_tokens"}, format_parse("kmeans2")), "");
  QTemporaryDir dir;
  const QString path = dir.filePath("plan.json");
  workbench.plan_save(path);

  QProcess cli;
  cli.start(QS_CLI_PATH, {"plan", demo, "--plan", path});
  ASSERT_TRUE(cli.waitForFinished(120000));
  ASSERT_EQ(cli.exitCode(), 0) << cli.readAllStandardError().toStdString();
  const QString out = QString::fromUtf8(cli.readAllStandardOutput());
  const PlanTotals& t = workbench.totals();
  const QString bits = QString::number(t.bits_per_weight, 'f', 3) + " bits/weight";
  EXPECT_TRUE(out.contains(bits)) << bits.toStdString() << " not in\n" << out.toStdString();
  const QString parameters = QLocale(QLocale::English).toString(qulonglong(t.quantized_parameters)) + " weights";
  EXPECT_TRUE(out.contains(parameters)) << parameters.toStdString() << " not in\n" << out.toStdString();
  // Each quantized layer's bytes, as the table shows them.
  auto* layers = qobject_cast<LayersPanel*>(window.panel("layers"));
  for (int row = 0; row < layers->table()->rowCount(); ++row) {
    const QString name = layers->table()->index(row, PlanTableModel::Name).data().toString();
    const QString bytes = layers->table()->index(row, PlanTableModel::Bytes).data().toString();
    const QRegularExpression line("^" + QRegularExpression::escape(name) + "\\s.*\\s" +
                                  QRegularExpression::escape(bytes) + "$",
                                  QRegularExpression::MultilineOption);
    if (layers->table()->index(row, PlanTableModel::Format).data().toString() != "as stored")
      EXPECT_TRUE(line.match(out).hasMatch()) << name.toStdString() << " " << bytes.toStdString();
  }
  window.close();
}

TEST(WorkbenchWindow, DocksComeFromTheRegistryAndTheLayoutPersists) {
  QSettings().clear();
  {
    MainWindow window;
    window.show();
    for (const char* id : {"layers", "rules", "inspector"}) {
      ASSERT_NE(window.dock(id), nullptr) << id;
      EXPECT_NE(window.panel(id), nullptr) << id;
    }
    window.dock("rules")->close();
    window.dock("inspector")->close();
    window.close();
  }
  MainWindow again;
  again.show();
  EXPECT_FALSE(again.dock("inspector")->isVisible());
  EXPECT_FALSE(again.dock("rules")->isVisible());
  EXPECT_TRUE(again.dock("layers")->isVisible());
  again.layout_restore_default();
  EXPECT_TRUE(again.dock("inspector")->isVisible());
  EXPECT_FALSE(again.dock("rules")->visibleRegion().isEmpty() && again.dock("layers")->visibleRegion().isEmpty());
  again.close();
  QSettings().clear();
}

TEST(WorkbenchWindow, ADroppedPlanLoadsAsOneUndoStep) {
  if (!QFile::exists(stories_path())) GTEST_SKIP() << "stories260K not found at " << stories_path().toStdString();
  QSettings().clear();
  MainWindow window;
  window.show();
  QSignalSpy loaded(&window, &MainWindow::model_loaded);
  window.model_open(stories_path());
  ASSERT_TRUE(QTest::qWaitFor([&] { return loaded.count() == 1; }, 60000));
  QTemporaryDir dir;
  const QString path = dir.filePath("mlp.json");
  QFile plan(path);
  ASSERT_TRUE(plan.open(QIODevice::WriteOnly));
  plan.write(R"({"layers": {"model.layers.*.mlp.*": "int4:g32"}})");
  plan.close();
  QMimeData mime;
  mime.setUrls({QUrl::fromLocalFile(path)});
  QDragEnterEvent enter(window.rect().center(), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(&window, &enter);
  EXPECT_TRUE(enter.isAccepted());
  QDropEvent drop(QPointF(window.rect().center()), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(&window, &drop);
  for (QWidget* w : QApplication::topLevelWidgets())
    if (auto* box = qobject_cast<QMessageBox*>(w)) ADD_FAILURE() << box->informativeText().toStdString();
  EXPECT_EQ(window.workbench().plan().rules.size(), 1u);
  EXPECT_EQ(window.workbench().undo_stack()->count(), 1);
  EXPECT_TRUE(window.windowTitle().contains("mlp.json")) << window.windowTitle().toStdString();
  auto* layers = qobject_cast<LayersPanel*>(window.panel("layers"));
  ASSERT_NE(layers, nullptr);
  ASSERT_TRUE(QTest::qWaitFor([&] { return layers->metrics_pending() == 0; }, 60000));
  EXPECT_TRUE(window.grab().save(QS_GUI_TEST_OUTPUT_DIR "/gui_plan.png"));
  window.close();
}

}  // namespace
}  // namespace qs
