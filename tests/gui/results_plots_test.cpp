// results_plots_write: each kind of table gets its plots as PNG and PDF files that open at the promised
// size, tables that fit no plot or hold nothing drawable get none, and nothing but the plots is left in
// the folder (the temporary names are renamed away).
#include "results_plots.hpp"

#include <gtest/gtest.h>

#include <QApplication>
#include <QDir>
#include <QImage>
#include <QTemporaryDir>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "quantscope/error.hpp"

namespace qs {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

ResultSet results_example() {
  ResultSet results;
  results.title = "plots test";
  ResultTable sweep{.name = "sweep", .description = "families × bits"};
  const char* families[] = {"int", "kmeans", "int", "kmeans", "int", "nf4"};
  const double bits[] = {4.25, 2.125, 2.25, 3.125, 3.25, 4.0};
  const double kl[] = {0.01, 0.3, 0.9, 0.05, 0.08, 0.02};
  for (size_t row = 0; row < 6; ++row) {
    sweep.text_set("family", row, families[row]);
    sweep.number_set("bits_per_weight", row, bits[row], "bits");
    sweep.number_set("kl_mean", row, kl[row], "nats");
    sweep.number_set("perplexity", row, 10 + 20 * kl[row]);
  }
  sweep.text_set("family", 6, "bf16");  // the reference: KL 0 has no place on a log axis
  sweep.number_set("bits_per_weight", 6, 16, "bits");
  sweep.number_set("kl_mean", 6, 0, "nats");
  results.tables.push_back(sweep);

  ResultTable sensitivity{.name = "sensitivity", .description = "int2 per layer"};
  for (size_t row = 0; row < 30; ++row) {
    sensitivity.text_set("layer", row, "model.layers." + std::to_string(row / 7) + ".mlp.proj_" + std::to_string(row));
    sensitivity.number_set("delta_kl", row, row == 3 ? kNaN : 0.001 * double(row % 7) - 0.0005, "nats");
    sensitivity.number_set("proxy_weight", row, double(row), "dB");
  }
  results.tables.push_back(sensitivity);

  ResultTable allocation{.name = "allocation", .description = "predicted and measured"};
  for (size_t row = 0; row < 5; ++row) {
    allocation.number_set("predicted_kl", row, 0.02 * double(row + 1), "nats");
    allocation.number_set("kl_mean", row, 0.025 * double(row + 1), "nats");
  }
  results.tables.push_back(allocation);

  ResultTable other{.name = "tasks", .description = "fits no plot"};
  other.text_set("task", 0, "cloze");
  other.number_set("accuracy", 0, 0.5);
  results.tables.push_back(other);

  ResultTable undrawable{.name = "nothing", .description = "no finite point"};
  undrawable.number_set("bits_per_weight", 0, kNaN);
  undrawable.number_set("kl_mean", 0, 0.1);
  results.tables.push_back(undrawable);
  return results;
}

std::vector<std::string> folder_list(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(ResultsPlots, WritesEachFittingPlotAsPngAndPdf) {
  ASSERT_NE(qobject_cast<QApplication*>(QCoreApplication::instance()), nullptr);
  QTemporaryDir temp;
  ASSERT_TRUE(temp.isValid());
  const std::filesystem::path dir = std::filesystem::path(temp.path().toStdString()) / "plots";
  const auto written = results_plots_write(results_example(), dir);

  const std::vector<std::string> stems = {"allocation_predicted_kl", "sensitivity_delta_kl", "sweep_kl",
                                          "sweep_perplexity"};
  std::vector<std::string> expected;
  for (const auto& stem : stems) {
    expected.push_back(stem + ".pdf");
    expected.push_back(stem + ".png");
  }
  EXPECT_EQ(folder_list(dir), expected);
  ASSERT_EQ(written.size(), expected.size());
  for (const auto& path : written) {
    EXPECT_TRUE(std::filesystem::exists(path)) << path;
    EXPECT_GT(std::filesystem::file_size(path), 1000u) << path;
  }

  for (const auto& stem : stems) {
    const QImage image(QString::fromStdString((dir / (stem + ".png")).string()));
    ASSERT_FALSE(image.isNull()) << stem;
    // 30 layers at 18 px each, with room for the axes, is still under the standard width.
    EXPECT_EQ(image.width(), 1200) << stem;
    EXPECT_EQ(image.height(), 800) << stem;
    // Something was drawn: the image is not one flat colour.
    const QRgb corner = image.pixel(0, 0);
    bool varied = false;
    for (int y = 0; y < image.height() && !varied; y += 7)
      for (int x = 0; x < image.width() && !varied; x += 7) varied = image.pixel(x, y) != corner;
    EXPECT_TRUE(varied) << stem;
    std::ifstream pdf(dir / (stem + ".pdf"), std::ios::binary);
    std::string magic(5, '\0');
    pdf.read(magic.data(), 5);
    EXPECT_EQ(magic, "%PDF-") << stem;
  }
}

TEST(ResultsPlots, ManyLayersWidenTheBarChart) {
  QTemporaryDir temp;
  ASSERT_TRUE(temp.isValid());
  ResultSet results;
  ResultTable table{.name = "scan"};
  for (size_t row = 0; row < 100; ++row) {
    table.text_set("layer", row, "layer_" + std::to_string(row));
    table.number_set("delta_kl", row, 0.01 * double(row), "nats");
  }
  results.tables.push_back(table);
  const std::filesystem::path dir(temp.path().toStdString());
  ASSERT_EQ(results_plots_write(results, dir).size(), 2u);
  const QImage image(QString::fromStdString((dir / "scan_delta_kl.png").string()));
  EXPECT_EQ(image.width(), 200 + 18 * 100);
  EXPECT_EQ(image.height(), 800);
}

TEST(ResultsPlots, RewritingReplacesTheFiles) {
  QTemporaryDir temp;
  ASSERT_TRUE(temp.isValid());
  const std::filesystem::path dir(temp.path().toStdString());
  const ResultSet results = results_example();
  results_plots_write(results, dir);
  const auto first = folder_list(dir);
  results_plots_write(results, dir);
  EXPECT_EQ(folder_list(dir), first);
}

TEST(ResultsPlots, UnwritableFolderIsIo) {
  QTemporaryDir temp;
  ASSERT_TRUE(temp.isValid());
  const std::filesystem::path file = std::filesystem::path(temp.path().toStdString()) / "file";
  std::ofstream(file) << "x";
  try {
    results_plots_write(results_example(), file / "plots");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Io);
    EXPECT_NE(std::string(e.what()).find((file / "plots").string()), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qs
