// results.h5 (results.hpp), with the layout of docs/results-file.md, through hdf5_io.hpp: one group per
// table holding one 1-D dataset per column (float64 or fixed-length UTF-8 strings), one group per
// histogram, so that h5py, h5dump and any other HDF5 reader open it without Quantscope.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "io/atomic_file.hpp"
#include "io/hdf5_io.hpp"
#include "quantscope/error.hpp"
#include "quantscope/results.hpp"
#include "experiment/results_check.hpp"

namespace qs {
namespace {

using hdf5::Handle;

constexpr const char* kFormatName = "quantscope-results";
constexpr int kVersion = 1;
constexpr const char* kNoun = "results file";

void results_hdf5_write(const std::filesystem::path& path, const std::filesystem::path& temp,
                        const ResultSet& results) {
  Handle file = hdf5::file_create(path, temp);
  {
    hdf5::Writer w(path, file);
    w.format_write(kFormatName, kVersion);
    w.string_attribute(file, "title", results.title);
    w.string_attribute(file, "source", results.source);

    // Ordered groups, so that readers list the tables and histograms in the order they were produced.
    const Handle tables = w.group_create("/tables", true);
    for (const ResultTable& table : results.tables) {
      const std::string where = "/tables/" + table.name;
      const Handle group = w.group_create(where);
      w.string_attribute(group, "description", table.description);
      std::vector<std::string> names;
      for (const ResultColumn& column : table.columns) names.push_back(column.name);
      w.strings_attribute(group, "columns", names);
      for (const ResultColumn& column : table.columns) {
        const std::string column_where = where + "/" + column.name;
        const Handle set =
            column.is_text()
                ? w.strings_dataset(group, column_where, column.texts())
                : w.dataset(group, column_where, H5T_NATIVE_DOUBLE, {hsize_t(column.size())}, column.numbers().data());
        w.string_attribute(set, "unit", column.unit);
      }
    }

    const Handle histograms = w.group_create("/histograms", true);
    for (const ResultHistogram& histogram : results.histograms) {
      const std::string where = "/histograms/" + histogram.name;
      const Handle group = w.group_create(where);
      w.string_attribute(group, "description", histogram.description);
      w.number_attribute(group, "lo", H5T_NATIVE_DOUBLE, &histogram.lo);
      w.number_attribute(group, "hi", H5T_NATIVE_DOUBLE, &histogram.hi);
      w.dataset(group, where + "/counts", H5T_NATIVE_DOUBLE, {hsize_t(histogram.counts.size())},
                histogram.counts.data());
    }
  }
  if (file.close() < 0)
    hdf5::fail(ErrorKind::Io, path, "cannot close the temporary file " + temp.filename().string());
}

ResultTable table_read(const hdf5::Reader& r, hid_t tables, const std::string& name) {
  ResultTable table;
  table.name = name;
  const std::string where = "/tables/" + name;
  const Handle group = r.group_open(tables, where);
  table.description = r.string_attribute(group, where + "/", "description");
  std::set<std::string> seen;
  for (const std::string& column_name : r.strings_attribute(group, where + "/", "columns")) {
    // Checked before it is used as a path inside the file.
    if (!result_name_valid(column_name))
      r.corrupt("column name '" + column_name + "' of " + where + " is not made of [a-z0-9_]");
    if (!seen.insert(column_name).second) r.corrupt("column '" + column_name + "' is listed twice in " + where);
    const std::string column_where = where + "/" + column_name;
    const Handle set = r.dataset_open(group, column_where);
    ResultColumn column;
    column.name = column_name;
    column.unit = r.string_attribute(set, column_where + "/", "unit");
    if (r.dataset_is_text(set, column_where)) {
      column.values = r.strings_values(set, column_where);
    } else {
      std::vector<hsize_t> dims(1);
      column.values = r.dataset_values<double>(set, column_where, H5T_NATIVE_DOUBLE, dims);
    }
    if (!table.columns.empty() && column.size() != table.rows())
      r.corrupt(column_where + " has " + std::to_string(column.size()) + " rows, " + where + "/" +
                table.columns.front().name + " has " + std::to_string(table.rows()));
    table.columns.push_back(std::move(column));
  }
  return table;
}

ResultHistogram histogram_read(const hdf5::Reader& r, hid_t histograms, const std::string& name) {
  ResultHistogram histogram;
  histogram.name = name;
  const std::string where = "/histograms/" + name;
  const Handle group = r.group_open(histograms, where);
  histogram.description = r.string_attribute(group, where + "/", "description");
  histogram.lo = r.number_attribute<double>(group, where + "/", "lo", H5T_NATIVE_DOUBLE);
  histogram.hi = r.number_attribute<double>(group, where + "/", "hi", H5T_NATIVE_DOUBLE);
  std::vector<hsize_t> dims(1);
  histogram.counts = r.dataset<double>(group, where + "/counts", H5T_NATIVE_DOUBLE, dims);
  return histogram;
}

ResultSet results_hdf5_read(const std::filesystem::path& path) {
  uintmax_t file_size = 0;
  const Handle file = hdf5::file_open(path, kNoun, file_size);
  const hdf5::Reader r(path, file_size);
  r.format_check(file, kFormatName, kVersion, kNoun);
  ResultSet results;
  results.title = r.string_attribute(file, "/", "title");
  results.source = r.string_attribute(file, "/", "source");
  {
    const Handle tables = r.group_open(file, "/tables");
    for (const std::string& name : r.member_names(tables, "/tables")) {
      if (!result_name_valid(name)) r.corrupt("table name '" + name + "' is not made of [a-z0-9_]");
      results.tables.push_back(table_read(r, tables, name));
    }
  }
  {
    const Handle histograms = r.group_open(file, "/histograms");
    for (const std::string& name : r.member_names(histograms, "/histograms")) {
      if (!result_name_valid(name)) r.corrupt("histogram name '" + name + "' is not made of [a-z0-9_]");
      results.histograms.push_back(histogram_read(r, histograms, name));
    }
  }
  // What was read must be writable again: the rules of the writer hold for the file too.
  try {
    results_check(results, path);
  } catch (const Error& e) {
    throw Error(ErrorKind::Format, e.what());
  }
  return results;
}

}  // namespace

void results_write(const ResultSet& results, const std::filesystem::path& path) {
  results_check(results, path);
  path_write_atomic(path, [&](const std::filesystem::path& temp) {
    const hdf5::Session session;
    results_hdf5_write(path, temp, results);
  });
}

ResultSet results_read(const std::filesystem::path& path) {
  const hdf5::Session session;
  return results_hdf5_read(path);
}

}  // namespace qs
