// Result sets and their files: building tables cell by cell, results.h5 round trips (text and number
// columns, NaN, unicode, empty tables, many tables in order, histograms), the same file read with the
// raw HDF5 C API as an independent reader would, refusals of invalid sets before anything is written,
// damaged files giving one-line errors instead of crashes, and the exact bytes of a CSV file.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "core/temp_dir.hpp"
#include "quantscope/error.hpp"
#include "quantscope/results.hpp"
#include "quantscope/run_file.hpp"

namespace qs {
namespace {

using test::TempDir;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

ResultSet results_example() {
  ResultSet results;
  results.title = "Sweep of the demo model — 2 to 4 bits";
  results.source = "resources/experiments/demo_sweep.json";
  ResultTable sweep{.name = "sweep", .description = "families × bits: KL against the base model"};
  const char* families[] = {"int", "int", "kmeans", "nf4"};
  const double bits[] = {2.25, 4.25, 2.125, 4.0};
  const double kl[] = {0.5, 0.0125, 0.25, 1.0 / 3.0};
  for (size_t row = 0; row < 4; ++row) {
    sweep.text_set("family", row, families[row]);
    sweep.number_set("bits_per_weight", row, bits[row], "bits");
    sweep.number_set("kl_mean", row, kl[row], "nats");
  }
  sweep.number_set("perplexity", 1, 12.5);  // only the second row has one; the others stay NaN
  sweep.number_set("model_bytes", 3, 1.5e9, "bytes");
  results.tables.push_back(sweep);

  ResultTable layers{.name = "sensitivity_int2_g64", .description = "ΔKL when only this layer is quantized"};
  layers.text_set("layer", 0, "model.layers.0.self_attn.q_proj");
  layers.text_set("layer", 1, "naïve, \"quoted\"\nname ✓");
  layers.text_set("layer", 2, "");
  layers.number_set("delta_kl", 0, 1e-300, "nats");
  layers.number_set("delta_kl", 1, -kInf, "nats");
  layers.number_set("delta_kl", 2, kInf, "nats");
  results.tables.push_back(layers);

  results.tables.push_back({.name = "empty", .description = ""});
  ResultTable no_rows{.name = "no_rows", .description = "columns but no rows"};
  no_rows.columns.push_back({.name = "x", .unit = "dB", .values = std::vector<double>{}});
  no_rows.columns.push_back({.name = "label", .unit = "", .values = std::vector<std::string>{}});
  results.tables.push_back(no_rows);

  results.histograms.push_back({.name = "kl_per_token", .description = "KL per token, int2", .lo = 0, .hi = 4,
                                .counts = {10, 0, 3.5, 1}});
  results.histograms.push_back({.name = "empty_histogram", .description = "", .lo = 0, .hi = 0, .counts = {}});
  return results;
}

// NaN equals NaN here: the file must keep "no value" entries as they were.
void expect_same(const ResultColumn& a, const ResultColumn& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.unit, b.unit);
  ASSERT_EQ(a.is_text(), b.is_text()) << a.name;
  if (a.is_text()) {
    EXPECT_EQ(a.texts(), b.texts()) << a.name;
    return;
  }
  ASSERT_EQ(a.size(), b.size()) << a.name;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a.numbers()[i])) EXPECT_TRUE(std::isnan(b.numbers()[i])) << a.name << " row " << i;
    else EXPECT_EQ(a.numbers()[i], b.numbers()[i]) << a.name << " row " << i;
  }
}

void expect_same(const ResultSet& a, const ResultSet& b) {
  EXPECT_EQ(a.title, b.title);
  EXPECT_EQ(a.source, b.source);
  ASSERT_EQ(a.tables.size(), b.tables.size());
  for (size_t t = 0; t < a.tables.size(); ++t) {
    EXPECT_EQ(a.tables[t].name, b.tables[t].name);
    EXPECT_EQ(a.tables[t].description, b.tables[t].description);
    ASSERT_EQ(a.tables[t].columns.size(), b.tables[t].columns.size()) << a.tables[t].name;
    for (size_t c = 0; c < a.tables[t].columns.size(); ++c) expect_same(a.tables[t].columns[c], b.tables[t].columns[c]);
  }
  ASSERT_EQ(a.histograms.size(), b.histograms.size());
  for (size_t h = 0; h < a.histograms.size(); ++h) {
    EXPECT_EQ(a.histograms[h].name, b.histograms[h].name);
    EXPECT_EQ(a.histograms[h].description, b.histograms[h].description);
    EXPECT_EQ(a.histograms[h].lo, b.histograms[h].lo);
    EXPECT_EQ(a.histograms[h].hi, b.histograms[h].hi);
    EXPECT_EQ(a.histograms[h].counts, b.histograms[h].counts);
  }
}

std::vector<std::string> folder_list(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// `action` throws `kind` with a one-line message containing each of `parts`.
template <class F>
void expect_error(F action, ErrorKind kind, const std::vector<std::string>& parts) {
  try {
    action();
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(e.kind(), kind) << message;
    for (const auto& part : parts) EXPECT_NE(message.find(part), std::string::npos) << message << " lacks " << part;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

// ---- building tables ----------------------------------------------------------------------------

// Replaces /tables/sweep/kl_mean (4 rows) by a 3-row dataset without a unit; returns it open, or a
// negative id when HDF5 refused.
hid_t kl_mean_shorten(hid_t file) {
  if (H5Ldelete(file, "/tables/sweep/kl_mean", H5P_DEFAULT) < 0) return -1;
  const hsize_t dims[1] = {3};
  const hid_t space = H5Screate_simple(1, dims, nullptr);
  const hid_t set =
      H5Dcreate2(file, "/tables/sweep/kl_mean", H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Sclose(space);
  const double values[3] = {1, 2, 3};
  if (set >= 0 && H5Dwrite(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) < 0) {
    H5Dclose(set);
    return -1;
  }
  return set;
}

TEST(ResultTable, CellsSetInAnyOrderKeepTheTableRectangular) {
  ResultTable table{.name = "t"};
  table.number_set("kl_mean", 2, 0.5, "nats");  // creates the column with two NaN rows before it
  table.text_set("family", 0, "int");           // grows to the table's three rows
  table.number_set("bits", 4, 3.0);             // every column grows to five rows
  ASSERT_EQ(table.rows(), 5u);
  for (const auto& column : table.columns) EXPECT_EQ(column.size(), 5u) << column.name;
  const auto& kl = table.column("kl_mean").numbers();
  EXPECT_TRUE(std::isnan(kl[0]) && std::isnan(kl[1]) && std::isnan(kl[3]) && std::isnan(kl[4]));
  EXPECT_EQ(kl[2], 0.5);
  EXPECT_EQ(table.column("kl_mean").unit, "nats");
  EXPECT_EQ(table.column("family").texts(), (std::vector<std::string>{"int", "", "", "", ""}));
  table.number_set("kl_mean", 0, 0.25);  // no unit: keeps "nats"
  EXPECT_EQ(table.column("kl_mean").unit, "nats");
  EXPECT_EQ(table.column("kl_mean").numbers()[0], 0.25);
  EXPECT_EQ(table.columns.front().name, "kl_mean");  // columns keep the order of first use
}

TEST(ResultTable, WrongKindsAndMissingColumnsAreInvalid) {
  ResultTable table{.name = "sweep"};
  table.number_set("kl_mean", 0, 0.5, "nats");
  table.text_set("family", 0, "int");
  expect_error([&] { table.text_set("kl_mean", 1, "x"); }, ErrorKind::Invalid, {"sweep", "kl_mean", "numbers"});
  expect_error([&] { table.number_set("family", 1, 1.0); }, ErrorKind::Invalid, {"sweep", "family", "text"});
  expect_error([&] { table.number_set("kl_mean", 1, 1.0, "bits"); }, ErrorKind::Invalid, {"kl_mean", "nats", "bits"});
  expect_error([&] { table.column("perplexity"); }, ErrorKind::Invalid, {"sweep", "perplexity"});
  expect_error([&] { table.column("family").numbers(); }, ErrorKind::Invalid, {"family"});
  expect_error([&] { table.column("kl_mean").texts(); }, ErrorKind::Invalid, {"kl_mean"});
  EXPECT_EQ(table.rows(), 1u);  // the refused calls changed nothing

  const ResultSet results{.tables = {table}};
  EXPECT_EQ(results.table_find("sweep"), &results.tables.front());
  EXPECT_EQ(results.table_find("other"), nullptr);
}

// ---- results.h5 ---------------------------------------------------------------------------------

TEST(ResultsFile, RoundTripKeepsEverything) {
  TempDir dir;
  const ResultSet results = results_example();
  results_write(results, dir / "results.h5");
  expect_same(results, results_read(dir / "results.h5"));
  EXPECT_EQ(folder_list(dir.path()), std::vector<std::string>{"results.h5"});
}

TEST(ResultsFile, RoundTripOfAnEmptySet) {
  TempDir dir;
  results_write(ResultSet{}, dir / "results.h5");
  expect_same(ResultSet{}, results_read(dir / "results.h5"));
}

// Past 8 members HDF5 moves a group's links to dense storage; the order must survive that too.
TEST(ResultsFile, ManyTablesKeepTheirOrder) {
  TempDir dir;
  ResultSet results;
  for (int i = 0; i < 40; ++i) {
    ResultTable table{.name = "table_" + std::to_string((i * 7) % 40)};
    table.number_set("value", 0, i);
    results.tables.push_back(table);
    results.histograms.push_back({.name = "h" + std::to_string(39 - i), .lo = -1, .hi = 1, .counts = {double(i)}});
  }
  results_write(results, dir / "results.h5");
  expect_same(results, results_read(dir / "results.h5"));
}

TEST(ResultsFile, RewriteReplacesTheFile) {
  TempDir dir;
  results_write(results_example(), dir / "results.h5");
  ResultSet smaller;
  smaller.title = "second";
  results_write(smaller, dir / "results.h5");
  expect_same(smaller, results_read(dir / "results.h5"));
  EXPECT_EQ(folder_list(dir.path()), std::vector<std::string>{"results.h5"});
}

// An independent reader: the raw HDF5 C API, following docs/results-file.md, not results_read.
TEST(ResultsFile, RawHdf5ReaderSeesTheDocumentedLayout) {
  TempDir dir;
  results_write(results_example(), dir / "results.h5");
  const hid_t file = H5Fopen((dir / "results.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  auto string_attribute = [](hid_t object, const char* name) {
    const hid_t attribute = H5Aopen(object, name, H5P_DEFAULT);
    EXPECT_GE(attribute, 0) << name;
    const hid_t type = H5Aget_type(attribute);
    EXPECT_EQ(H5Tget_class(type), H5T_STRING);
    EXPECT_EQ(H5Tget_cset(type), H5T_CSET_UTF8);
    std::string value(H5Tget_size(type), '\0');
    EXPECT_GE(H5Aread(attribute, type, value.data()), 0);
    H5Tclose(type);
    H5Aclose(attribute);
    return value.substr(0, value.find('\0'));
  };
  EXPECT_EQ(string_attribute(file, "format"), "quantscope-results");
  EXPECT_EQ(string_attribute(file, "title"), "Sweep of the demo model — 2 to 4 bits");
  int version = 0;
  const hid_t version_attribute = H5Aopen(file, "version", H5P_DEFAULT);
  ASSERT_GE(version_attribute, 0);
  EXPECT_GE(H5Aread(version_attribute, H5T_NATIVE_INT, &version), 0);
  H5Aclose(version_attribute);
  EXPECT_EQ(version, 1);

  const hid_t table = H5Gopen2(file, "/tables/sweep", H5P_DEFAULT);
  ASSERT_GE(table, 0);
  EXPECT_EQ(string_attribute(table, "description"), "families × bits: KL against the base model");
  // The column order: a 1-D array of fixed-length strings.
  const hid_t columns = H5Aopen(table, "columns", H5P_DEFAULT);
  ASSERT_GE(columns, 0);
  const hid_t columns_type = H5Aget_type(columns);
  const hid_t columns_space = H5Aget_space(columns);
  ASSERT_EQ(H5Sget_simple_extent_npoints(columns_space), 5);
  const size_t width = H5Tget_size(columns_type);
  std::vector<char> names(5 * width);
  ASSERT_GE(H5Aread(columns, columns_type, names.data()), 0);
  std::vector<std::string> column_names;
  for (size_t i = 0; i < 5; ++i) column_names.emplace_back(&names[i * width], strnlen(&names[i * width], width));
  EXPECT_EQ(column_names,
            (std::vector<std::string>{"family", "bits_per_weight", "kl_mean", "perplexity", "model_bytes"}));
  H5Sclose(columns_space);
  H5Tclose(columns_type);
  H5Aclose(columns);

  const hid_t kl = H5Dopen2(table, "kl_mean", H5P_DEFAULT);
  ASSERT_GE(kl, 0);
  const hid_t kl_type = H5Dget_type(kl);
  EXPECT_EQ(H5Tget_class(kl_type), H5T_FLOAT);
  EXPECT_EQ(H5Tget_size(kl_type), 8u);
  H5Tclose(kl_type);
  std::vector<double> values(4);
  ASSERT_GE(H5Dread(kl, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
  EXPECT_EQ(values, (std::vector<double>{0.5, 0.0125, 0.25, 1.0 / 3.0}));
  EXPECT_EQ(string_attribute(kl, "unit"), "nats");
  H5Dclose(kl);

  const hid_t perplexity = H5Dopen2(table, "perplexity", H5P_DEFAULT);
  ASSERT_GE(perplexity, 0);
  ASSERT_GE(H5Dread(perplexity, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
  EXPECT_TRUE(std::isnan(values[0]) && std::isnan(values[2]) && std::isnan(values[3]));
  EXPECT_EQ(values[1], 12.5);
  EXPECT_EQ(string_attribute(perplexity, "unit"), "");
  H5Dclose(perplexity);

  const hid_t family = H5Dopen2(table, "family", H5P_DEFAULT);
  ASSERT_GE(family, 0);
  const hid_t family_type = H5Dget_type(family);
  ASSERT_EQ(H5Tget_class(family_type), H5T_STRING);
  EXPECT_EQ(H5Tis_variable_str(family_type), 0);
  const size_t family_width = H5Tget_size(family_type);
  std::vector<char> family_bytes(4 * family_width);
  ASSERT_GE(H5Dread(family, family_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, family_bytes.data()), 0);
  EXPECT_EQ(std::string(&family_bytes[2 * family_width], strnlen(&family_bytes[2 * family_width], family_width)),
            "kmeans");
  H5Tclose(family_type);
  H5Dclose(family);
  H5Gclose(table);

  const hid_t histogram = H5Gopen2(file, "/histograms/kl_per_token", H5P_DEFAULT);
  ASSERT_GE(histogram, 0);
  double hi = 0;
  const hid_t hi_attribute = H5Aopen(histogram, "hi", H5P_DEFAULT);
  ASSERT_GE(H5Aread(hi_attribute, H5T_NATIVE_DOUBLE, &hi), 0);
  H5Aclose(hi_attribute);
  EXPECT_EQ(hi, 4.0);
  const hid_t counts = H5Dopen2(histogram, "counts", H5P_DEFAULT);
  ASSERT_GE(counts, 0);
  ASSERT_GE(H5Dread(counts, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
  EXPECT_EQ(values, (std::vector<double>{10, 0, 3.5, 1}));
  H5Dclose(counts);
  H5Gclose(histogram);
  EXPECT_GE(H5Fclose(file), 0);
}

TEST(ResultsFile, InvalidSetsAreRefusedBeforeWriting) {
  TempDir dir;
  const auto path = dir / "results.h5";
  auto expect_refused = [&](const ResultSet& results, const std::vector<std::string>& parts) {
    std::vector<std::string> with_file = parts;
    with_file.push_back(path.string());
    expect_error([&] { results_write(results, path); }, ErrorKind::Invalid, with_file);
    expect_error([&] { results_csv_write(results, dir / "csv"); }, ErrorKind::Invalid, parts);
  };
  ResultSet results = results_example();
  results.tables[0].columns[1].name = "Bits";
  expect_refused(results, {"column name 'Bits' of table 'sweep'", "[a-z0-9_]"});
  results = results_example();
  results.tables[1].name = "sweep";
  expect_refused(results, {"two tables are named 'sweep'"});
  results = results_example();
  results.tables[0].name = "";
  expect_refused(results, {"table 1 has no name"});
  results = results_example();
  results.tables[0].columns[2].name = "family";
  expect_refused(results, {"two columns of table 'sweep' are named 'family'"});
  results = results_example();
  results.histograms[1].name = "kl_per_token";
  expect_refused(results, {"two histograms are named 'kl_per_token'"});
  results = results_example();
  results.histograms[0].name = "kl/token";
  expect_refused(results, {"histogram name 'kl/token'"});
  results = results_example();
  std::get<std::vector<double>>(results.tables[0].columns[2].values).pop_back();
  expect_refused(results, {"table 'sweep' column 'kl_mean' has 3 rows, column 'family' has 4"});
  results = results_example();
  results.tables[1].columns[0].values = std::vector<std::string>{"a", std::string("b\0c", 3), "d"};
  expect_refused(results, {"table 'sensitivity_int2_g64' column 'layer' row 1 contains a NUL byte"});
  results = results_example();
  results.histograms[0].hi = kNaN;
  expect_refused(results, {"histogram 'kl_per_token' has the range [0, nan]"});
  EXPECT_TRUE(folder_list(dir.path()).empty());
}

TEST(ResultsFile, WriteIntoMissingFolderIsIo) {
  TempDir dir;
  expect_error([&] { results_write(results_example(), dir / "absent" / "results.h5"); }, ErrorKind::Io,
               {(dir / "absent" / "results.h5").string()});
}

TEST(ResultsFile, UnreadableFilesAreIoOrFormat) {
  TempDir dir;
  const auto path = dir / "results.h5";
  expect_error([&] { results_read(path); }, ErrorKind::Io, {path.string(), "cannot open"});
  test::bytes_write(path, "family,kl_mean\r\nint,0.5\r\n");
  expect_error([&] { results_read(path); }, ErrorKind::Format, {path.string(), "not a readable HDF5 file"});
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  ASSERT_GE(H5Fclose(file), 0);
  expect_error([&] { results_read(path); }, ErrorKind::Format, {path.string(), "not a Quantscope results file"});
  run_file_write(path, RunTelemetry{});
  expect_error([&] { results_read(path); }, ErrorKind::Format,
               {path.string(), "not a Quantscope results file (format is 'quantscope-run')"});
}

TEST(ResultsFile, OtherVersionIsUnsupported) {
  TempDir dir;
  results_write(results_example(), dir / "results.h5");
  const hid_t file = H5Fopen((dir / "results.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  ASSERT_GE(H5Adelete(file, "version"), 0);
  const int version = 2;
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t attribute = H5Acreate2(file, "version", H5T_NATIVE_INT, space, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(H5Awrite(attribute, H5T_NATIVE_INT, &version), 0);
  H5Aclose(attribute);
  H5Sclose(space);
  ASSERT_GE(H5Fclose(file), 0);
  expect_error([&] { results_read(dir / "results.h5"); }, ErrorKind::Unsupported,
               {"results file version 2, this Quantscope reads version 1"});
}

TEST(ResultsFile, MissingDatasetOrAttributeIsFormat) {
  TempDir dir;
  const auto path = dir / "results.h5";
  results_write(results_example(), path);
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  const hid_t set = kl_mean_shorten(file);
  ASSERT_GE(set, 0);
  H5Dclose(set);
  ASSERT_GE(H5Fclose(file), 0);
  expect_error([&] { results_read(path); }, ErrorKind::Format,
               {path.string(), "missing attribute /tables/sweep/kl_mean/unit"});

  results_write(results_example(), path);
  file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  ASSERT_GE(H5Ldelete(file, "/tables/sweep/perplexity", H5P_DEFAULT), 0);
  ASSERT_GE(H5Fclose(file), 0);
  expect_error([&] { results_read(path); }, ErrorKind::Format,
               {path.string(), "missing dataset /tables/sweep/perplexity"});
}

TEST(ResultsFile, ColumnOfWrongLengthIsFormat) {
  TempDir dir;
  const auto path = dir / "results.h5";
  results_write(results_example(), path);
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  const hid_t set = kl_mean_shorten(file);
  ASSERT_GE(set, 0);
  const hid_t scalar = H5Screate(H5S_SCALAR);
  const hid_t type = H5Tcopy(H5T_C_S1);
  const hid_t unit = H5Acreate2(set, "unit", type, scalar, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(H5Awrite(unit, type, ""), 0);
  H5Aclose(unit);
  H5Tclose(type);
  H5Sclose(scalar);
  H5Dclose(set);
  ASSERT_GE(H5Fclose(file), 0);
  expect_error([&] { results_read(path); }, ErrorKind::Format,
               {path.string(), "/tables/sweep/kl_mean has 3 rows, /tables/sweep/family has 4"});
}

TEST(ResultsFile, TruncatedFilesAreFormat) {
  TempDir dir;
  results_write(results_example(), dir / "full.h5");
  const std::string bytes = test::bytes_read(dir / "full.h5");
  ASSERT_GT(bytes.size(), 2000u);
  for (const size_t size : {size_t(0), size_t(8), size_t(100), bytes.size() / 4, bytes.size() / 2, bytes.size() - 1}) {
    test::bytes_write(dir / "results.h5", bytes.substr(0, size));
    expect_error([&] { results_read(dir / "results.h5"); }, ErrorKind::Format, {(dir / "results.h5").string()});
  }
}

// HDF5 checksums its 1.8-format metadata; wherever a byte is damaged, reading either succeeds (the
// byte was in the data) or throws a one-line qs::Error, and never crashes.
TEST(ResultsFile, DamagedBytesGiveErrorsNotCrashes) {
  TempDir dir;
  ResultSet results = results_example();
  for (int i = 0; i < 12; ++i) results.tables.push_back({.name = "extra_" + std::to_string(i), .description = "x"});
  results_write(results, dir / "full.h5");
  const std::string bytes = test::bytes_read(dir / "full.h5");
  int errors = 0, reads = 0;
  for (size_t offset = 0; offset < bytes.size(); offset += 37) {
    for (const unsigned char mask : {0xffu, 0x01u}) {
      std::string damaged = bytes;
      damaged[offset] = char(damaged[offset] ^ mask);
      test::bytes_write(dir / "results.h5", damaged);
      ++reads;
      try {
        results_read(dir / "results.h5");
      } catch (const Error& e) {
        ++errors;
        EXPECT_NE(std::string(e.what()).find((dir / "results.h5").string()), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
      }
    }
  }
  EXPECT_GT(errors, reads / 10);
}

// ---- CSV ----------------------------------------------------------------------------------------

TEST(ResultsCsv, ExactContents) {
  TempDir dir;
  ResultSet results = results_example();
  results.tables[0].number_set("bits_per_weight", 4, 1.0 / 3.0);
  results_csv_write(results, dir / "csv");
  EXPECT_EQ(folder_list(dir / "csv"),
            (std::vector<std::string>{"empty.csv", "no_rows.csv", "sensitivity_int2_g64.csv", "sweep.csv"}));
  EXPECT_EQ(test::bytes_read(dir / "csv" / "sweep.csv"),
            "family,bits_per_weight,kl_mean,perplexity,model_bytes\r\n"
            "int,2.25,0.5,,\r\n"
            "int,4.25,0.0125,12.5,\r\n"
            "kmeans,2.125,0.25,,\r\n"
            "nf4,4,0.3333333333,,1500000000\r\n"
            ",0.3333333333,,,\r\n");
  EXPECT_EQ(test::bytes_read(dir / "csv" / "sensitivity_int2_g64.csv"),
            "layer,delta_kl\r\n"
            "model.layers.0.self_attn.q_proj,1e-300\r\n"
            "\"naïve, \"\"quoted\"\"\nname ✓\",-inf\r\n"
            ",inf\r\n");
  EXPECT_EQ(test::bytes_read(dir / "csv" / "no_rows.csv"), "x,label\r\n");
  EXPECT_EQ(test::bytes_read(dir / "csv" / "empty.csv"), "");
}

}  // namespace
}  // namespace qs
