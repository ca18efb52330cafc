// The workbench window end to end on the offscreen platform: a model opened through the public open
// function (and by drag and drop) fills the layer table, selecting a layer draws its histogram, a typed
// format shows the layer quantized, and bad input ends in the core's one-line message, never a crash.
// Drops route by content (models, run folders, results files).
#include "main_window.hpp"
#include "recent_menu.hpp"

#include <gtest/gtest.h>
#include <qcustomplot.h>

#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QIcon>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QSettings>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>
#include <filesystem>

#include "inspector_panel.hpp"
#include "plan_table_model.hpp"
#include "qat_panel.hpp"
#include "quantscope/demo_model.hpp"
#include "quantscope/export.hpp"
#include "quantscope/model.hpp"
#include "quantscope/model_config.hpp"
#include "quantscope/results.hpp"
#include "quantscope/run_file.hpp"
#include "weight_histogram_plot.hpp"
#include "workbench.hpp"

namespace qs {
namespace {

constexpr int kLoadTimeoutMs = 60000;

QString stories_path() { return QS_DATA_DIR "/models/stories260K/stories260K.bin"; }
QString demo_path() { return QS_SOURCE_DIR "/resources/models/demo"; }

// Settings left by an earlier test (recent files, geometry) must not reach the window under test,
// which reads them while it is constructed.
struct SettingsCleared {
  SettingsCleared() { QSettings().clear(); }
};

class MainWindowTest : public ::testing::Test {
 protected:
  void TearDown() override {
    // Boxes left open by a failing assertion must not leak into the next test.
    for (QWidget* w : QApplication::topLevelWidgets())
      if (auto* box = qobject_cast<QMessageBox*>(w)) box->close();
  }

  QTableView* view() { return window_.findChild<QTableView*>("layerTable"); }
  QSortFilterProxyModel* proxy() { return qobject_cast<QSortFilterProxyModel*>(view()->model()); }
  PlanTableModel* table() { return qobject_cast<PlanTableModel*>(proxy()->sourceModel()); }
  WeightHistogramPlot* plot() { return window_.findChild<WeightHistogramPlot*>("histogramPlot"); }
  QMessageBox* error_box() { return window_.findChild<QMessageBox*>(); }

  // Opens `path` and waits for the outcome, and with `statistics` until the table's statistics are in
  // too; true when it loaded (and the statistics were computed).
  bool open(const QString& path, bool statistics = false) {
    QSignalSpy loaded(&window_, &MainWindow::model_loaded);
    QSignalSpy failed(&window_, &MainWindow::model_load_failed);
    QSignalSpy statistics_shown(&window_, &MainWindow::statistics_shown);
    window_.model_open(path);
    if (!QTest::qWaitFor([&] { return loaded.count() + failed.count() > 0; }, kLoadTimeoutMs) || loaded.count() != 1)
      return false;
    if (!statistics) return true;
    return QTest::qWaitFor([&] { return statistics_shown.count() > 0; }, kLoadTimeoutMs) &&
           statistics_shown.at(0).at(0).toBool();
  }

  // Makes proxy row `row` current and waits until its histogram is on screen; returns its layer row.
  const LayerRow* select_and_wait(int row) {
    QSignalSpy shown(&window_, &MainWindow::histogram_shown);
    const QModelIndex index = proxy()->index(row, PlanTableModel::Name);
    const LayerRow& layer = table()->row_at(proxy()->mapToSource(index).row());
    const QString name = QString::fromStdString(layer.layer.name);
    view()->setCurrentIndex(index);
    const bool ok = QTest::qWaitFor([&] { return plot()->layer() == name; }, kLoadTimeoutMs);
    return ok ? &layer : nullptr;
  }

  double bars_total() {
    double total = 0;
    for (auto it = plot()->bars()->data()->constBegin(); it != plot()->bars()->data()->constEnd(); ++it)
      total += it->value;
    return total;
  }

  // Checks the histogram on screen against the layer it claims to show.
  void expect_histogram_of(const LayerRow& layer) {
    EXPECT_EQ(plot()->layer(), QString::fromStdString(layer.layer.name));
    ASSERT_NE(plot()->bars(), nullptr);
    EXPECT_EQ(plot()->bars()->data()->size(), WeightHistogramPlot::bins_choose(layer.layer.parameters()));
    EXPECT_EQ(bars_total(), static_cast<double>(layer.layer.parameters()));
  }

  SettingsCleared cleared_;
  MainWindow window_;
};

TEST_F(MainWindowTest, OpensStories260KAndPlotsTheSelectedLayer) {
  if (!QFile::exists(stories_path()))
    GTEST_SKIP() << "stories260K not found at " << stories_path().toStdString();
  window_.show();
  // The table is shown from the checkpoint's headers; the statistics follow from a job of their own.
  int pending_when_loaded = 0;
  QString mean_when_loaded;
  QObject::connect(&window_, &MainWindow::model_loaded, [&] {
    for (const LayerRow& row : table()->rows()) pending_when_loaded += row.stats_pending && !row.stats;
    mean_when_loaded = proxy()->index(0, PlanTableModel::Mean).data().toString();
  });
  ASSERT_TRUE(open(stories_path(), true));
  EXPECT_EQ(pending_when_loaded, 36);
  EXPECT_EQ(mean_when_loaded, "…");

  // The embedding, then 5 decoder blocks x 7 linear layers; the head is tied to the embedding, so there is
  // no lm_head row.
  ASSERT_EQ(proxy()->rowCount(), 36);
  for (const LayerRow& row : table()->rows()) {
    EXPECT_NE(row.layer.role, "lm_head");
    if (row.layer.role == "embedding") continue;  // statistics cover the linear layers
    ASSERT_TRUE(row.stats.has_value()) << row.layer.name;
    EXPECT_EQ(row.stats->count, row.layer.parameters()) << row.layer.name;
    EXPECT_GT(row.stats->std, 0) << row.layer.name;
  }
  EXPECT_EQ(proxy()->index(0, PlanTableModel::Name).data().toString(), "model.embed_tokens");
  EXPECT_EQ(proxy()->index(1, PlanTableModel::Name).data().toString(), "model.layers.0.self_attn.q_proj");
  EXPECT_EQ(proxy()->index(1, PlanTableModel::Shape).data().toString(), "64 × 64");
  EXPECT_TRUE(window_.windowTitle().startsWith("stories260K.bin"));
  EXPECT_EQ(QSettings().value("recentModels").toStringList().value(0),
            QFileInfo(stories_path()).absoluteFilePath());

  // The first layer is selected and plotted on its own; then a down projection (64 x 172).
  ASSERT_TRUE(QTest::qWaitFor([&] { return !plot()->layer().isEmpty(); }, kLoadTimeoutMs));
  const LayerRow* down = select_and_wait(7);
  ASSERT_NE(down, nullptr);
  EXPECT_EQ(down->layer.role, "down_proj");
  expect_histogram_of(*down);

  plot()->log_scale_set(true);
  EXPECT_EQ(plot()->plot()->yAxis->scaleType(), QCPAxis::stLogarithmic);
  const QString png = QS_GUI_TEST_OUTPUT_DIR "/gui_stories260K.png";
  EXPECT_TRUE(window_.grab().save(png)) << png.toStdString();
  plot()->log_scale_set(false);
  EXPECT_EQ(plot()->plot()->yAxis->scaleType(), QCPAxis::stLinear);
}

TEST_F(MainWindowTest, QuickSelectionChangesEndOnTheLastLayer) {
  if (!QFile::exists(stories_path()))
    GTEST_SKIP() << "stories260K not found at " << stories_path().toStdString();
  ASSERT_TRUE(open(stories_path()));
  for (int row = 0; row < 20; ++row) view()->setCurrentIndex(proxy()->index(row, 0));
  const LayerRow* last = select_and_wait(20);
  ASSERT_NE(last, nullptr);
  expect_histogram_of(*last);
}

TEST_F(MainWindowTest, FilterAndSortTheLayerTable) {
  if (!QFile::exists(stories_path()))
    GTEST_SKIP() << "stories260K not found at " << stories_path().toStdString();
  ASSERT_TRUE(open(stories_path()));
  auto* filter = window_.findChild<QLineEdit*>("layerFilter");
  ASSERT_NE(filter, nullptr);
  filter->setText("mlp");
  EXPECT_EQ(proxy()->rowCount(), 15);
  filter->setText("layers.3.*q_proj");
  ASSERT_EQ(proxy()->rowCount(), 1);
  EXPECT_EQ(proxy()->index(0, 0).data().toString(), "model.layers.3.self_attn.q_proj");
  filter->clear();
  EXPECT_EQ(proxy()->rowCount(), 36);

  // By name is forward order (layers.10 would follow layers.9); by parameters the MLP layers lead.
  view()->sortByColumn(PlanTableModel::Parameters, Qt::DescendingOrder);
  EXPECT_GE(proxy()->index(0, PlanTableModel::Parameters).data(PlanTableModel::SortRole).toLongLong(),
            proxy()->index(35, PlanTableModel::Parameters).data(PlanTableModel::SortRole).toLongLong());
  EXPECT_EQ(proxy()->index(0, 0).data().toString(), "model.embed_tokens");  // 512 x 64
  EXPECT_TRUE(proxy()->index(1, 0).data().toString().contains("mlp"));
  view()->sortByColumn(PlanTableModel::Name, Qt::AscendingOrder);
  EXPECT_EQ(proxy()->index(35, 0).data().toString(), "model.layers.4.mlp.down_proj");
}

TEST_F(MainWindowTest, OpensTheDemoModel) {
  const QString config_path = demo_path() + "/config.json";
  if (!QFile::exists(config_path)) GTEST_SKIP() << "demo model not built yet: " << config_path.toStdString();
  window_.show();
  ASSERT_TRUE(open(demo_path()));
  const ModelConfig config = config_load(config_path.toStdString());
  EXPECT_EQ(proxy()->rowCount(), 1 + config.num_hidden_layers * 7 + (config.tie_word_embeddings ? 0 : 1));
  const LayerRow* layer = select_and_wait(proxy()->rowCount() - 1);
  ASSERT_NE(layer, nullptr);
  expect_histogram_of(*layer);
  const QString png = QS_GUI_TEST_OUTPUT_DIR "/gui_demo.png";
  EXPECT_TRUE(window_.grab().save(png)) << png.toStdString();
}

TEST_F(MainWindowTest, OpensAHuggingFaceFolder) {
  if (!QFile::exists(stories_path())) GTEST_SKIP() << "stories260K not found at " << stories_path().toStdString();
  QTemporaryDir dir;
  ASSERT_TRUE(dir.isValid());
  const QString folder = dir.filePath("stories260K-hf");
  model_save(*model_load(stories_path().toStdString()), folder.toStdString(), DType::BF16);
  ASSERT_TRUE(open(folder));
  ASSERT_EQ(proxy()->rowCount(), 36);
  EXPECT_EQ(proxy()->index(0, PlanTableModel::Dtype).data().toString(), "BF16");
  EXPECT_TRUE(window_.windowTitle().startsWith("stories260K-hf"));
  const LayerRow* layer = select_and_wait(34);
  ASSERT_NE(layer, nullptr);
  expect_histogram_of(*layer);
}

TEST_F(MainWindowTest, MissingFileShowsAnErrorBox) {
  window_.show();
  const QString missing = QDir::temp().filePath("quantscope-no-such-model/model.bin");
  EXPECT_FALSE(open(missing));
  ASSERT_TRUE(QTest::qWaitFor([&] { return error_box() != nullptr; }, 5000));
  EXPECT_TRUE(error_box()->informativeText().contains("quantscope-no-such-model"))
      << error_box()->informativeText().toStdString();
  EXPECT_FALSE(error_box()->informativeText().contains('\n'));
  EXPECT_TRUE(error_box()->grab().save(QS_GUI_TEST_OUTPUT_DIR "/gui_error.png"));
  EXPECT_EQ(proxy()->rowCount(), 0);
  EXPECT_TRUE(QSettings().value("recentModels").toStringList().isEmpty());
}

TEST_F(MainWindowTest, CorruptFilesShowAnErrorAndKeepTheOpenModel) {
  if (!QFile::exists(stories_path()))
    GTEST_SKIP() << "stories260K not found at " << stories_path().toStdString();
  ASSERT_TRUE(open(stories_path()));
  QTemporaryDir dir;
  ASSERT_TRUE(dir.isValid());

  // A llama2.c header that promises far more weights than the file holds.
  QFile bin(dir.filePath("truncated.bin"));
  ASSERT_TRUE(bin.open(QIODevice::WriteOnly));
  const qint32 header[7] = {288, 768, 6, 6, 6, 32000, 256};
  bin.write(reinterpret_cast<const char*>(header), sizeof header);
  bin.write(QByteArray(1000, '\x01'));
  bin.close();
  // A safetensors header length far beyond the end of the file, with a config.json beside it.
  QFile st(dir.filePath("model.safetensors"));
  ASSERT_TRUE(st.open(QIODevice::WriteOnly));
  const quint64 length = 1u << 30;
  st.write(reinterpret_cast<const char*>(&length), sizeof length);
  st.write("{}");
  st.close();
  QFile config(dir.filePath("config.json"));
  ASSERT_TRUE(config.open(QIODevice::WriteOnly));
  config.write(R"({"model_type": "llama", "vocab_size": 32, "hidden_size": 8, "intermediate_size": 16,
                   "num_hidden_layers": 1, "num_attention_heads": 2})");
  config.close();

  for (const QString& name : {QString("truncated.bin"), QString("model.safetensors")}) {
    SCOPED_TRACE(name.toStdString());
    EXPECT_FALSE(open(dir.filePath(name)));
    ASSERT_TRUE(QTest::qWaitFor([&] { return error_box() != nullptr; }, 5000));
    EXPECT_TRUE(error_box()->informativeText().contains(name))
        << error_box()->informativeText().toStdString();
    error_box()->close();
    EXPECT_TRUE(QTest::qWaitFor([&] { return error_box() == nullptr; }, 5000));
    EXPECT_EQ(proxy()->rowCount(), 36);  // the model that was open stays open
    EXPECT_TRUE(window_.windowTitle().startsWith("stories260K.bin"));
  }
}

TEST_F(MainWindowTest, RecentModelsKeepTheLastTenMostRecentFirst) {
  if (!QFile::exists(stories_path()))
    GTEST_SKIP() << "stories260K not found at " << stories_path().toStdString();
  QTemporaryDir dir;
  ASSERT_TRUE(dir.isValid());
  QStringList opened;
  for (int i = 0; i < RecentMenu::kMax + 2; ++i) {
    const QString copy = dir.filePath(QString("model%1.bin").arg(i));
    ASSERT_TRUE(QFile::copy(stories_path(), copy));
    ASSERT_TRUE(open(copy)) << copy.toStdString();
    opened.prepend(copy);
  }
  const QString again = opened[4];  // opening a listed model again moves it to the top
  ASSERT_TRUE(open(again));
  opened.removeAll(again);
  opened.prepend(again);
  const QStringList expected = opened.mid(0, RecentMenu::kMax);
  EXPECT_EQ(QSettings().value("recentModels").toStringList(), expected);

  QMenu* recent = nullptr;
  for (QMenu* menu : window_.menuBar()->findChildren<QMenu*>())
    if (menu->title() == "Open &Recent") recent = menu;
  ASSERT_NE(recent, nullptr);
  QStringList listed;
  for (QAction* action : recent->actions())
    if (action->toolTip().startsWith('/')) listed << action->toolTip();  // the entries carry their path
  EXPECT_EQ(listed, expected);
}

TEST_F(MainWindowTest, OpensAModelDroppedOnTheWindow) {
  if (!QFile::exists(stories_path()))
    GTEST_SKIP() << "stories260K not found at " << stories_path().toStdString();
  window_.show();
  QMimeData mime;
  mime.setUrls({QUrl::fromLocalFile(stories_path())});
  QSignalSpy loaded(&window_, &MainWindow::model_loaded);
  const QPoint centre = window_.rect().center();
  QDragEnterEvent enter(centre, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(&window_, &enter);
  EXPECT_TRUE(enter.isAccepted());
  QDropEvent drop(QPointF(centre), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(&window_, &drop);
  ASSERT_TRUE(QTest::qWaitFor([&] { return loaded.count() == 1; }, kLoadTimeoutMs));
  EXPECT_EQ(proxy()->rowCount(), 36);
}

// Drops route by content: a training run's folder goes to the QAT panel, a results.h5 to the analysis
// panels.
TEST_F(MainWindowTest, DroppedRunFoldersAndResultsFilesGoToTheirPanels) {
  QTemporaryDir dir;
  const QString run = dir.filePath("run");
  QDir().mkpath(run);
  RunTelemetry telemetry;
  telemetry.layers = {"model.layers.0.mlp.up_proj"};
  telemetry.steps.push_back({1, 3.0, 1e-4, 0.5, 100.0, NAN});
  run_file_write((run + "/run.h5").toStdString(), telemetry);
  ResultSet results;
  ResultTable table;
  table.name = "evaluations";
  table.text_set("name", 0, "int4");
  results.tables.push_back(table);
  results_write(results, (dir.filePath("results.h5")).toStdString());
  window_.show();
  auto drop = [&](const QString& path) {
    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(path)});
    const QPoint centre = window_.rect().center();
    QDragEnterEvent enter(centre, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&window_, &enter);
    QDropEvent event(QPointF(centre), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&window_, &event);
  };
  drop(run);
  auto* qat = qobject_cast<QatPanel*>(window_.panel("qat"));
  ASSERT_EQ(qat->runs().size(), 1u);
  EXPECT_EQ(qat->runs()[0]->dir, QFileInfo(run).absoluteFilePath());
  drop(dir.filePath("results.h5"));
  EXPECT_EQ(window_.workbench().results_path(), QFileInfo(dir.filePath("results.h5")).absoluteFilePath());
  EXPECT_TRUE(window_.workbench().scans().empty());
}

// A GGUF dropped on the window opens as a model: each layer's llama.cpp type in the Stored column and
// its bytes as stored, and the inspector shows the type's levels over the layer's values untyped.
TEST_F(MainWindowTest, ADroppedGgufShowsEachLayersTypeAndItsLevels) {
  QTemporaryDir dir;
  const std::string gguf = (dir.path() + "/demo-q4_0.gguf").toStdString();
  const auto demo = model_load(demo_model_dir());
  std::vector<LayerFormat> plan;
  for (const LinearLayer& l : demo->linear_layers()) plan.push_back({l.name, format_parse("q4_0"), std::nullopt, {}});
  model_export(*demo, plan, gguf, {});
  window_.show();
  auto* inspector = window_.findChild<InspectorPanel*>();
  ASSERT_NE(inspector, nullptr);
  QSignalSpy shown(inspector, &InspectorPanel::quantized_shown);
  QMimeData mime;
  mime.setUrls({QUrl::fromLocalFile(QString::fromStdString(gguf))});
  QSignalSpy loaded(&window_, &MainWindow::model_loaded);
  QSignalSpy failed(&window_, &MainWindow::model_load_failed);
  const QPoint centre = window_.rect().center();
  QDragEnterEvent enter(centre, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(&window_, &enter);
  QDropEvent drop(QPointF(centre), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(&window_, &drop);
  ASSERT_TRUE(QTest::qWaitFor([&] { return loaded.count() + failed.count() > 0; }, kLoadTimeoutMs));
  ASSERT_EQ(loaded.count(), 1) << failed.first().at(0).toString().toStdString();
  const LayerRow* row = select_and_wait(1);  // model.layers.0.self_attn.q_proj, 256 x 256
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(proxy()->index(1, PlanTableModel::Dtype).data().toString(), "q4_0");
  EXPECT_EQ(proxy()->index(1, PlanTableModel::Bytes).data().toString(), "36,864");
  ASSERT_TRUE(QTest::qWaitFor([&] { return shown.count() > 0; }, kLoadTimeoutMs));
  EXPECT_EQ(shown.last().at(1).toInt(), 16);  // q4_0's levels, with nothing typed
  EXPECT_TRUE(inspector->format_edit()->text().isEmpty());
}

TEST_F(MainWindowTest, QuantizesTheSelectedLayerInTheTypedFormat) {
  const QString config_path = demo_path() + "/config.json";
  if (!QFile::exists(config_path)) GTEST_SKIP() << "demo model not built yet: " << config_path.toStdString();
  window_.show();
  ASSERT_TRUE(open(demo_path()));
  const LayerRow* first = select_and_wait(1);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(plot()->level_count(), 0);
  auto* format = window_.findChild<QLineEdit*>("formatEdit");
  auto* status = window_.findChild<QLabel*>("formatStatus");
  ASSERT_NE(format, nullptr);
  ASSERT_NE(status, nullptr);
  EXPECT_TRUE(format->toolTip().contains("kmeans"));
  auto caption = [&] {
    auto* text = qobject_cast<QCPTextElement*>(plot()->plot()->plotLayout()->element(1, 0));
    return text ? text->text() : QString();
  };

  // kmeans2: a 4-entry codebook over the layer's block-normalised weights.
  auto* inspector = window_.findChild<InspectorPanel*>();
  ASSERT_NE(inspector, nullptr);
  QSignalSpy shown(inspector, &InspectorPanel::quantized_shown);
  QSignalSpy failed(inspector, &InspectorPanel::quantize_failed);
  format->setText("kmeans2");
  ASSERT_TRUE(QTest::qWaitFor([&] { return shown.count() + failed.count() > 0; }, kLoadTimeoutMs));
  ASSERT_EQ(shown.count(), 1) << (failed.isEmpty() ? "" : failed[0][1].toString().toStdString());
  const QString name = QString::fromStdString(first->layer.name);
  EXPECT_EQ(shown[0][0].toString(), name);
  EXPECT_EQ(shown[0][1].toInt(), 4);
  EXPECT_EQ(plot()->layer(), name);
  EXPECT_EQ(plot()->level_count(), 4);
  EXPECT_EQ(bars_total(), static_cast<double>(first->layer.parameters()));
  EXPECT_TRUE(caption().startsWith("kmeans2")) << caption().toStdString();
  for (const char* part : {"bits/weight", "SQNR", "cosine", "relative MSE"})
    EXPECT_TRUE(caption().contains(part)) << caption().toStdString();
  EXPECT_TRUE(status->isHidden());
  EXPECT_TRUE(window_.grab().save(QS_GUI_TEST_OUTPUT_DIR "/gui_quantized.png"));

  // With a format in the box, selecting another layer shows that layer quantized.
  const QModelIndex last = proxy()->index(proxy()->rowCount() - 1, PlanTableModel::Name);
  const QString last_name = last.data().toString();
  view()->setCurrentIndex(last);
  ASSERT_TRUE(QTest::qWaitFor([&] { return shown.count() == 2; }, kLoadTimeoutMs));
  EXPECT_EQ(shown[1][0].toString(), last_name);
  EXPECT_EQ(plot()->layer(), last_name);
  EXPECT_EQ(plot()->level_count(), 4);

  // A spec that does not parse: the parser's message in the status line, the plot left as it was.
  format->setText("kmeans9");
  EXPECT_TRUE(status->isVisibleTo(&window_));
  EXPECT_TRUE(status->text().contains("kmeans9")) << status->text().toStdString();
  EXPECT_FALSE(status->text().contains('\n'));
  EXPECT_EQ(plot()->level_count(), 4);

  // A Hadamard block larger than in_features parses but cannot apply: the core's message, no plot.
  format->setText("quest4:h1024");
  ASSERT_TRUE(QTest::qWaitFor([&] { return failed.count() == 1; }, kLoadTimeoutMs));
  EXPECT_EQ(failed[0][0].toString(), last_name);
  const QString error = failed[0][1].toString();
  EXPECT_TRUE(error.contains("does not divide in_features")) << error.toStdString();
  EXPECT_TRUE(error.contains(last_name)) << error.toStdString();
  EXPECT_EQ(status->text(), error);
  EXPECT_EQ(plot()->level_count(), 0);
  EXPECT_TRUE(plot()->layer().isEmpty());

  // An empty box brings back the plain weight histogram.
  QSignalSpy histogram(&window_, &MainWindow::histogram_shown);
  format->clear();
  ASSERT_TRUE(QTest::qWaitFor([&] { return histogram.count() == 1; }, kLoadTimeoutMs));
  EXPECT_EQ(plot()->layer(), last_name);
  EXPECT_EQ(plot()->level_count(), 0);
  EXPECT_TRUE(status->isHidden());
  EXPECT_EQ(shown.count(), 2);
}

// Quantized values get one bar per level: an int2 layer shows at most 4 bars, never a smooth bump.
TEST_F(MainWindowTest, TheLevelsViewHasOneBarPerLevelAndTheErrorViewTheError) {
  if (!QFile::exists(stories_path())) GTEST_SKIP() << "stories260K not found at " << stories_path().toStdString();
  ASSERT_TRUE(open(stories_path()));
  ASSERT_NE(select_and_wait(7), nullptr);  // model.layers.0.mlp.down_proj, 64 x 172
  auto* inspector = window_.findChild<InspectorPanel*>();
  ASSERT_NE(inspector, nullptr);
  QSignalSpy shown(inspector, &InspectorPanel::quantized_shown);
  auto non_empty = [&] {
    int n = 0;
    for (auto it = plot()->bars()->data()->constBegin(); it != plot()->bars()->data()->constEnd(); ++it) n += it->value > 0;
    return n;
  };
  inspector->view_box()->setCurrentIndex(int(WeightHistogramPlot::QuantizedView::Levels));
  for (const char* spec : {"int2:g32", "kmeans2", "kmeans2:channel", "quest2:h4"}) {
    SCOPED_TRACE(spec);
    const int before = shown.count();
    inspector->format_edit()->setText(spec);
    ASSERT_TRUE(QTest::qWaitFor([&] { return shown.count() > before; }, kLoadTimeoutMs));
    EXPECT_EQ(plot()->bars()->data()->size(), 4);
    EXPECT_LE(non_empty(), 4);
    EXPECT_GE(non_empty(), 2);
    EXPECT_EQ(bars_total(), 64.0 * 172.0);  // every weight has one code
  }
  // The error view: a histogram of ŵ − w over every weight, around zero.
  inspector->view_box()->setCurrentIndex(int(WeightHistogramPlot::QuantizedView::Error));
  EXPECT_GT(plot()->bars()->data()->size(), 4);
  EXPECT_EQ(bars_total(), 64.0 * 172.0);
  EXPECT_LT(plot()->plot()->xAxis->range().lower, 0);
  EXPECT_GT(plot()->plot()->xAxis->range().upper, 0);
}

// The icon is an SVG compiled into the window's resources; drawing it needs Qt's SVG plugin at run time.
TEST(MainWindowResources, AppIconRenders) {
  const QPixmap icon = QIcon(":/icons/quantscope.svg").pixmap(128, 128);
  ASSERT_FALSE(icon.isNull()) << "the SVG icon engine (Debian package libqt6svg6) is missing";
  EXPECT_EQ(icon.size(), QSize(128, 128));
  EXPECT_TRUE(icon.save(QS_GUI_TEST_OUTPUT_DIR "/gui_icon.png"));
}

TEST(MainWindowSettings, GeometryIsRestored) {
  QSettings().clear();
  {
    MainWindow first;
    first.resize(900, 640);
    first.show();
    first.close();
  }
  MainWindow second;
  EXPECT_EQ(second.size(), QSize(900, 640));
}

}  // namespace
}  // namespace qs
