// output_dir: the mark that tells Quantscope's folders from the user's (see quantscope/output_dir.hpp).
#include "quantscope/output_dir.hpp"

#include <string>
#include <system_error>

#include "io/atomic_file.hpp"
#include "base/json_strict.hpp"
#include "quantscope/error.hpp"
#include "quantscope/file_read.hpp"

namespace qs {
namespace fs = std::filesystem;
namespace {

constexpr const char* kMarkFile = ".quantscope";

struct KindNames {
  OutputKind kind;
  const char* key;   // in the mark
  const char* noun;  // in messages
};
constexpr KindNames kKinds[] = {{OutputKind::Model, "model", "a saved model"},
                                {OutputKind::TrainingRun, "training-run", "a training run"},
                                {OutputKind::Results, "results", "analysis results"}};

const KindNames& names_of(OutputKind kind) {
  for (const KindNames& k : kKinds)
    if (k.kind == kind) return k;
  return kKinds[0];
}

const char* kind_key(OutputKind kind) { return names_of(kind).key; }

// The kind a folder's mark names; empty when it has none or an unreadable one.
std::string mark_read(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / kMarkFile, ec)) return {};
  try {
    const auto j = json_parse_strict(file_read(dir / kMarkFile), (dir / kMarkFile).string());
    if (j.is_object() && j.contains("kind") && j.at("kind").is_string()) return j.at("kind").get<std::string>();
  } catch (const Error&) {
  }
  return {};
}

void mark_write(const fs::path& dir, OutputKind kind) {
  file_write_atomic(dir / kMarkFile, std::string("{\"made_by\": \"quantscope\", \"kind\": \"") + kind_key(kind) + "\"}\n");
}

}  // namespace

const char* output_kind_name(OutputKind kind) { return names_of(kind).noun; }

bool output_dir_owned(const fs::path& dir, OutputKind kind) { return mark_read(dir) == kind_key(kind); }

void output_dir_claim(const fs::path& dir, OutputKind kind) {
  const std::string where = dir.string();
  std::error_code ec;
  const fs::file_status status = fs::status(dir, ec);
  if (fs::exists(status)) {
    if (!fs::is_directory(status)) throw Error(ErrorKind::Invalid, where + ": exists and is not a folder");
    const std::string mark = mark_read(dir);
    if (mark == kind_key(kind)) return;
    for (const KindNames& other : kKinds)
      if (mark == other.key)
        throw Error(ErrorKind::Invalid, where + ": holds " + other.noun + " made by Quantscope, not " +
                                            output_kind_name(kind) + "; choose another folder");
    if (!fs::is_empty(dir, ec) || ec)
      throw Error(ErrorKind::Invalid, where + ": exists, is not empty and was not made by Quantscope; refusing to "
                                              "write into it (choose a new or empty folder)");
  } else {
    fs::create_directories(dir, ec);
    if (ec) throw Error(ErrorKind::Io, where + ": cannot create the folder (" + ec.message() + ")");
  }
  mark_write(dir, kind);
}

bool path_within(const fs::path& path, const fs::path& dir) {
  bool failed = false;
  const auto resolved = [&](const fs::path& p) {
    std::error_code ec;
    fs::path r = fs::weakly_canonical(fs::absolute(p, ec), ec).lexically_normal();
    failed = failed || ec;
    return r.has_filename() ? r : r.parent_path();  // "a/b/" names the folder b
  };
  const fs::path p = resolved(path), d = resolved(dir);
  if (failed) return false;
  const fs::path relative = p.lexically_relative(d);
  return !relative.empty() && *relative.begin() != "..";
}

}  // namespace qs
