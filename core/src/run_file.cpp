// The run file (run_file.hpp) in HDF5, with the layout of docs/run-file.md: plain native types and
// fixed-length C strings, so that h5py, h5dump and the GUI all read it. Every HDF5 failure becomes a
// one-line qs::Error naming the file and, where there is one, the dataset; HDF5's own error printing
// is switched off.
#include "quantscope/run_file.hpp"

#include <fcntl.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "atomic_file.hpp"
#include "quantscope/error.hpp"

namespace qs {
namespace {

constexpr const char* kFormatName = "quantscope-run";
constexpr int kVersion = 1;
constexpr const char* kStepSeries[] = {"loss", "lr", "grad_norm", "tokens_per_second", "heldout_loss"};
constexpr const char* kLayerTables[] = {"weight_masked", "act_masked", "weight_error", "codebook_drift"};

// Debian's HDF5 is the serial build, which must not be entered from two threads at once (the trainer
// writes while the GUI reads).
std::mutex& hdf5_mutex() {
  static std::mutex mutex;
  return mutex;
}

// An HDF5 identifier, closed with the function of its kind when it goes out of scope.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~Handle() { close(); }
  Handle(Handle&& other) noexcept : id_(other.id_), closer_(other.closer_) { other.id_ = -1; }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  operator hid_t() const { return id_; }
  bool valid() const { return id_ >= 0; }
  // Closing the file is where buffered data reaches the disk, so the writer checks its result.
  herr_t close() {
    const herr_t status = id_ >= 0 ? closer_(id_) : 0;
    id_ = -1;
    return status;
  }

 private:
  hid_t id_;
  Closer closer_;
};

herr_t innermost_error(unsigned n, const H5E_error2_t* error, void* data) {
  if (n == 0 && error->desc) *static_cast<std::string*>(data) = error->desc;
  return 0;
}

// The most specific message on HDF5's error stack ("truncated file: eof = ..."), then clears it. Some
// span lines (a failed read prints its whole state), and an error message is one line.
std::string hdf5_detail() {
  std::string detail;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_error, &detail);
  H5Eclear2(H5E_DEFAULT);
  detail = detail.substr(0, detail.find_first_of("\r\n"));
  while (!detail.empty() && (detail.back() == ',' || detail.back() == ' ')) detail.pop_back();
  return detail;
}

[[noreturn]] void fail(ErrorKind kind, const std::filesystem::path& file, const std::string& problem) {
  const std::string detail = hdf5_detail();
  throw Error(kind, file.string() + ": " + problem + (detail.empty() ? "" : " (" + detail + ")"));
}

// Fixed-length, null-padded UTF-8 strings of `size` bytes. Not variable-length ones: those live in
// HDF5's global heap, whose reader in HDF5 1.10 crashes on a corrupt heap instead of failing.
Handle string_type(size_t size, const std::filesystem::path& file, ErrorKind kind) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  if (!type.valid() || H5Tset_size(type, std::max<size_t>(size, 1)) < 0 || H5Tset_strpad(type, H5T_STR_NULLPAD) < 0 ||
      H5Tset_cset(type, H5T_CSET_UTF8) < 0)
    fail(kind, file, "cannot make a string type");
  return type;
}

bool json_or_empty(const std::string& text) { return text.empty() || nlohmann::json::accept(text); }

// ---- writing ------------------------------------------------------------------------------------

class RunWriter {
 public:
  RunWriter(const std::filesystem::path& file, hid_t root) : file_(file), root_(root) {}

  Handle group_create(const char* name) {
    Handle group(H5Gcreate2(root_, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
    if (!group.valid()) fail(ErrorKind::Io, file_, std::string("cannot create group /") + name);
    return group;
  }

  void string_attribute(hid_t object, const char* name, const std::string& value) {
    const Handle type = string_type(value.size(), file_, ErrorKind::Io);
    const Handle space(H5Screate(H5S_SCALAR), H5Sclose);
    const Handle attribute(H5Acreate2(object, name, type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    if (!space.valid() || !attribute.valid() || H5Awrite(attribute, type, value.c_str()) < 0)
      fail(ErrorKind::Io, file_, std::string("cannot write attribute ") + name);
  }

  void number_attribute(hid_t object, const char* name, hid_t type, const void* value) {
    const Handle space(H5Screate(H5S_SCALAR), H5Sclose);
    const Handle attribute(H5Acreate2(object, name, type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    if (!space.valid() || !attribute.valid() || H5Awrite(attribute, type, value) < 0)
      fail(ErrorKind::Io, file_, std::string("cannot write attribute ") + name);
  }

  // Contiguous datasets: the file is rewritten whole every time, so nothing ever grows in place, and
  // zero-sized ones read back as empty arrays everywhere.
  void dataset(hid_t group, const std::string& where, hid_t type, std::vector<hsize_t> dims, const void* data) {
    const Handle space(H5Screate_simple(int(dims.size()), dims.data(), nullptr), H5Sclose);
    const std::string name = where.substr(where.rfind('/') + 1);
    const Handle set(H5Dcreate2(group, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
    if (!space.valid() || !set.valid()) fail(ErrorKind::Io, file_, "cannot create dataset " + where);
    hsize_t count = 1;
    for (const hsize_t d : dims) count *= d;
    if (count > 0 && H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
      fail(ErrorKind::Io, file_, "cannot write dataset " + where);
  }

  void strings_dataset(hid_t group, const std::string& where, const std::vector<std::string>& values) {
    size_t width = 1;
    for (const auto& value : values) width = std::max(width, value.size());
    std::vector<char> buffer(values.size() * width, '\0');
    for (size_t i = 0; i < values.size(); ++i) values[i].copy(&buffer[i * width], width);
    const Handle type = string_type(width, file_, ErrorKind::Io);
    dataset(group, where, type, {hsize_t(values.size())}, buffer.data());
  }

 private:
  const std::filesystem::path& file_;
  hid_t root_;
};

// The trainer's own data: an inconsistency here is a bug in the caller, reported before anything is
// written.
void run_check(const std::filesystem::path& path, const RunTelemetry& run) {
  auto invalid = [&](const std::string& problem) { throw Error(ErrorKind::Invalid, path.string() + ": " + problem); };
  if (run.status != "running" && run.status != "finished" && run.status != "cancelled")
    invalid("unknown run status '" + run.status + "'");
  if (!json_or_empty(run.config_json)) invalid("the run's config is not JSON");
  if (!json_or_empty(run.plan_json)) invalid("the run's plan is not JSON");
  for (const auto& sample : run.samples) {
    for (const auto* values : {&sample.weight_masked, &sample.act_masked, &sample.weight_error, &sample.codebook_drift}) {
      if (values->size() != run.layers.size())
        invalid("the layer sample of step " + std::to_string(sample.step) + " has " + std::to_string(values->size()) +
                " values for " + std::to_string(run.layers.size()) + " layers");
    }
  }
}

// HDF5 1.10 locks files it opens; on file systems without locks (some network mounts) that fails, and
// the run file needs no lock: it is written under a private name and published by rename.
Handle access_properties(const std::filesystem::path& file, ErrorKind kind) {
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  if (!fapl.valid()) fail(kind, file, "cannot make file access properties");
#if H5_VERSION_GE(1, 12, 1) || (H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 10 && H5_VERS_RELEASE >= 7)
  if (H5Pset_file_locking(fapl, false, true) < 0) fail(kind, file, "cannot turn off file locking");
#endif
  return fapl;
}

void run_hdf5_write(const std::filesystem::path& path, const std::filesystem::path& temp, const RunTelemetry& run) {
  const Handle fapl = access_properties(path, ErrorKind::Io);
  // The 1.8 object headers keep attributes over 64 KiB (a long plan) in dense storage; the default
  // earliest format refuses them.
  if (H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST) < 0)
    fail(ErrorKind::Io, path, "cannot select the HDF5 1.8 file format");
  Handle file(H5Fcreate(temp.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl), H5Fclose);
  if (!file.valid()) fail(ErrorKind::Io, path, "cannot create the temporary file " + temp.filename().string());
  {
    RunWriter w(path, file);
    w.string_attribute(file, "format", kFormatName);
    w.number_attribute(file, "version", H5T_NATIVE_INT, &kVersion);
    w.string_attribute(file, "status", run.status);
    w.string_attribute(file, "config", run.config_json);
    w.string_attribute(file, "plan", run.plan_json);

    const Handle steps = w.group_create("steps");
    const hsize_t n_steps = run.steps.size();
    std::vector<int64_t> step(n_steps);
    for (size_t i = 0; i < n_steps; ++i) step[i] = run.steps[i].step;
    w.dataset(steps, "/steps/step", H5T_NATIVE_INT64, {n_steps}, step.data());
    const double RunStep::*fields[] = {&RunStep::loss, &RunStep::lr, &RunStep::grad_norm, &RunStep::tokens_per_second,
                                       &RunStep::heldout_loss};
    for (size_t f = 0; f < std::size(kStepSeries); ++f) {
      std::vector<double> values(n_steps);
      for (size_t i = 0; i < n_steps; ++i) values[i] = run.steps[i].*fields[f];
      w.dataset(steps, std::string("/steps/") + kStepSeries[f], H5T_NATIVE_DOUBLE, {n_steps}, values.data());
    }

    const Handle layers = w.group_create("layers");
    w.strings_dataset(layers, "/layers/names", run.layers);
    const hsize_t n_samples = run.samples.size(), n_layers = run.layers.size();
    std::vector<int64_t> sample_step(n_samples);
    for (size_t i = 0; i < n_samples; ++i) sample_step[i] = run.samples[i].step;
    w.dataset(layers, "/layers/step", H5T_NATIVE_INT64, {n_samples}, sample_step.data());
    const std::vector<double> RunLayerSample::*tables[] = {&RunLayerSample::weight_masked, &RunLayerSample::act_masked,
                                                           &RunLayerSample::weight_error, &RunLayerSample::codebook_drift};
    for (size_t t = 0; t < std::size(kLayerTables); ++t) {
      std::vector<double> values;
      values.reserve(n_samples * n_layers);
      for (const auto& sample : run.samples) values.insert(values.end(), (sample.*tables[t]).begin(), (sample.*tables[t]).end());
      w.dataset(layers, std::string("/layers/") + kLayerTables[t], H5T_NATIVE_DOUBLE, {n_samples, n_layers}, values.data());
    }

    if (run.final.done) {
      const Handle final = w.group_create("final");
      const RunFinal& f = run.final;
      w.number_attribute(final, "perplexity", H5T_NATIVE_DOUBLE, &f.perplexity);
      w.number_attribute(final, "latent_perplexity", H5T_NATIVE_DOUBLE, &f.latent_perplexity);
      w.number_attribute(final, "kl_mean", H5T_NATIVE_DOUBLE, &f.kl_mean);
      w.number_attribute(final, "top1_agreement", H5T_NATIVE_DOUBLE, &f.top1_agreement);
      w.number_attribute(final, "tokens", H5T_NATIVE_INT64, &f.tokens);
      w.string_attribute(final, "reference", f.reference);
      w.string_attribute(final, "heldout_text", f.heldout_text);
      w.string_attribute(final, "command", f.command);
    }
  }
  if (file.close() < 0) fail(ErrorKind::Io, path, "cannot close the temporary file " + temp.filename().string());
}

// ---- reading ------------------------------------------------------------------------------------

class RunReader {
 public:
  RunReader(const std::filesystem::path& file, uintmax_t file_size) : file_(file), file_size_(file_size) {}

  [[noreturn]] void corrupt(const std::string& problem) const { fail(ErrorKind::Format, file_, problem); }

  Handle group_open(hid_t parent, const std::string& name) const {
    link_check(parent, name, "group /" + name);
    Handle group(H5Gopen2(parent, name.c_str(), H5P_DEFAULT), H5Gclose);
    if (!group.valid()) corrupt("/" + name + " is not a group");
    return group;
  }

  Handle attribute_open(hid_t object, const std::string& where, const char* name, H5T_class_t expected) const {
    const std::string label = "attribute " + where + name;
    const htri_t exists = H5Aexists(object, name);
    if (exists < 0) corrupt("cannot read " + label);
    if (exists == 0) corrupt("missing " + label);
    Handle attribute(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
    if (!attribute.valid()) corrupt("cannot open " + label);
    const Handle space(H5Aget_space(attribute), H5Sclose);
    if (!space.valid() || H5Sget_simple_extent_npoints(space) != 1) corrupt(label + " is not a single value");
    const Handle type(H5Aget_type(attribute), H5Tclose);
    const H5T_class_t type_class = type.valid() ? H5Tget_class(type) : H5T_NO_CLASS;
    const bool numeric = type_class == H5T_INTEGER || type_class == H5T_FLOAT;
    if (expected == H5T_STRING ? type_class != H5T_STRING : !numeric)
      corrupt(label + (expected == H5T_STRING ? " is not a string" : " is not a number"));
    return attribute;
  }

  std::string string_attribute(hid_t object, const std::string& where, const char* name) const {
    const Handle attribute = attribute_open(object, where, name, H5T_STRING);
    const Handle type(H5Aget_type(attribute), H5Tclose);
    const std::string label = "attribute " + where + name;
    const size_t size = string_size(type, label, 1);
    const Handle memory = string_type(size, file_, ErrorKind::Format);
    std::vector<char> buffer(size, '\0');
    if (H5Aread(attribute, memory, buffer.data()) < 0) corrupt("cannot read " + label);
    return std::string(buffer.data(), strnlen(buffer.data(), size));
  }

  template <class T>
  T number_attribute(hid_t object, const std::string& where, const char* name, hid_t memory) const {
    const Handle attribute = attribute_open(object, where, name, H5T_FLOAT);
    T value{};
    if (H5Aread(attribute, memory, &value) < 0) corrupt("cannot read attribute " + where + name);
    return value;
  }

  // A numeric dataset of the given rank, converted to `memory`'s type; its extent goes to `dims`.
  template <class T>
  std::vector<T> dataset(hid_t group, const std::string& where, hid_t memory, std::vector<hsize_t>& dims) const {
    const std::string name = where.substr(where.rfind('/') + 1);
    link_check(group, name, "dataset " + where);
    const Handle set(H5Dopen2(group, name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!set.valid()) corrupt("cannot open dataset " + where);
    const Handle type(H5Dget_type(set), H5Tclose);
    const H5T_class_t type_class = type.valid() ? H5Tget_class(type) : H5T_NO_CLASS;
    if (type_class != H5T_INTEGER && type_class != H5T_FLOAT) corrupt(where + " is not numeric");
    return dataset_values<T>(set, where, memory, dims);
  }

  std::vector<std::string> strings_dataset(hid_t group, const std::string& where) const {
    const std::string name = where.substr(where.rfind('/') + 1);
    link_check(group, name, "dataset " + where);
    const Handle set(H5Dopen2(group, name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!set.valid()) corrupt("cannot open dataset " + where);
    const Handle type(H5Dget_type(set), H5Tclose);
    if (!type.valid() || H5Tget_class(type) != H5T_STRING) corrupt(where + " is not a string dataset");
    const size_t count = extent_1d(set, where);
    std::vector<std::string> values;
    if (count == 0) return values;
    const size_t size = string_size(type, where, count);
    const Handle memory = string_type(size, file_, ErrorKind::Format);
    std::vector<char> buffer(count * size);
    if (H5Dread(set, memory, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()) < 0) corrupt("cannot read dataset " + where);
    for (size_t i = 0; i < count; ++i) values.emplace_back(&buffer[i * size], strnlen(&buffer[i * size], size));
    return values;
  }

 private:
  void link_check(hid_t parent, const std::string& name, const std::string& label) const {
    const htri_t exists = H5Lexists(parent, name.c_str(), H5P_DEFAULT);
    if (exists < 0) corrupt("cannot read " + label);
    if (exists == 0) corrupt("missing " + label);
  }

  // A corrupt header can claim any size; what the file cannot hold is refused before allocating it.
  void size_check(const std::string& where, hsize_t count, size_t element_size) const {
    if (element_size > 0 && count > file_size_ / element_size)
      corrupt(where + " claims more data than the file holds");
  }

  size_t string_size(hid_t type, const std::string& where, hsize_t count) const {
    if (H5Tis_variable_str(type) != 0) corrupt(where + " is not a fixed-length string");
    const size_t size = H5Tget_size(type);
    if (size == 0) corrupt(where + " has no string size");
    size_check(where, count, size);
    return size;
  }

  size_t extent_1d(hid_t set, const std::string& where) const {
    const Handle space(H5Dget_space(set), H5Sclose);
    hsize_t dims[1] = {0};
    if (!space.valid() || H5Sget_simple_extent_ndims(space) != 1 || H5Sget_simple_extent_dims(space, dims, nullptr) < 0)
      corrupt(where + " is not one-dimensional");
    return size_t(dims[0]);
  }

  template <class T>
  std::vector<T> dataset_values(hid_t set, const std::string& where, hid_t memory, std::vector<hsize_t>& dims) const {
    const Handle space(H5Dget_space(set), H5Sclose);
    const int rank = space.valid() ? H5Sget_simple_extent_ndims(space) : -1;
    if (rank != int(dims.size())) corrupt(where + " has " + std::to_string(rank) + " dimensions, expected " +
                                          std::to_string(dims.size()));
    if (H5Sget_simple_extent_dims(space, dims.data(), nullptr) < 0) corrupt("cannot read the extent of " + where);
    hsize_t count = 1;
    for (const hsize_t d : dims) {
      size_check(where, d, 1);
      count *= d;
    }
    size_check(where, count, sizeof(T));
    std::vector<T> values(count);
    if (count > 0 && H5Dread(set, memory, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0)
      corrupt("cannot read dataset " + where);
    return values;
  }

  const std::filesystem::path& file_;
  uintmax_t file_size_;
};

std::string extent_text(const std::vector<hsize_t>& dims) {
  std::string text;
  for (const hsize_t d : dims) text += (text.empty() ? "" : " x ") + std::to_string(d);
  return text;
}

RunTelemetry run_hdf5_read(const std::filesystem::path& path) {
  // HDF5 reports a missing file and a foreign one alike; the Io/Format distinction needs the OS's word.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorKind::Io, path.string() + ": cannot open (" + std::strerror(errno) + ")");
  ::close(fd);
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(ErrorKind::Io, path.string() + ": is a folder, not a run file");
  const Handle fapl = access_properties(path, ErrorKind::Io);
  const Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl), H5Fclose);
  if (!file.valid()) fail(ErrorKind::Format, path, "not a readable HDF5 file");

  std::error_code size_error;
  const uintmax_t file_size = std::filesystem::file_size(path, size_error);
  if (size_error) throw Error(ErrorKind::Io, path.string() + ": cannot read its size (" + size_error.message() + ")");
  RunReader r(path, file_size);
  const htri_t has_format = H5Aexists(file, "format");
  if (has_format < 0) r.corrupt("cannot read the attributes of /");
  if (has_format == 0) r.corrupt("not a Quantscope run file (no attribute format)");
  const std::string format = r.string_attribute(file, "/", "format");
  if (format != kFormatName) r.corrupt("not a Quantscope run file (format is '" + format + "')");
  const int64_t version = r.number_attribute<int64_t>(file, "/", "version", H5T_NATIVE_INT64);
  if (version != kVersion)
    throw Error(ErrorKind::Unsupported, path.string() + ": run file version " + std::to_string(version) +
                                            ", this Quantscope reads version " + std::to_string(kVersion));
  RunTelemetry run;
  run.status = r.string_attribute(file, "/", "status");
  if (run.status != "running" && run.status != "finished" && run.status != "cancelled")
    r.corrupt("unknown run status '" + run.status + "'");
  run.config_json = r.string_attribute(file, "/", "config");
  if (!json_or_empty(run.config_json)) r.corrupt("attribute /config is not JSON");
  run.plan_json = r.string_attribute(file, "/", "plan");
  if (!json_or_empty(run.plan_json)) r.corrupt("attribute /plan is not JSON");

  {
    const Handle steps = r.group_open(file, "steps");
    std::vector<hsize_t> dims(1);
    const auto step = r.dataset<int64_t>(steps, "/steps/step", H5T_NATIVE_INT64, dims);
    run.steps.resize(step.size());
    for (size_t i = 0; i < step.size(); ++i) run.steps[i].step = step[i];
    double RunStep::*fields[] = {&RunStep::loss, &RunStep::lr, &RunStep::grad_norm, &RunStep::tokens_per_second,
                                 &RunStep::heldout_loss};
    for (size_t f = 0; f < std::size(kStepSeries); ++f) {
      const std::string where = std::string("/steps/") + kStepSeries[f];
      const auto values = r.dataset<double>(steps, where, H5T_NATIVE_DOUBLE, dims);
      if (values.size() != step.size())
        r.corrupt(where + " has " + std::to_string(values.size()) + " entries but /steps/step has " +
                  std::to_string(step.size()));
      for (size_t i = 0; i < values.size(); ++i) run.steps[i].*fields[f] = values[i];
    }
  }
  {
    const Handle layers = r.group_open(file, "layers");
    run.layers = r.strings_dataset(layers, "/layers/names");
    std::vector<hsize_t> dims(1);
    const auto step = r.dataset<int64_t>(layers, "/layers/step", H5T_NATIVE_INT64, dims);
    run.samples.resize(step.size());
    for (size_t i = 0; i < step.size(); ++i) run.samples[i].step = step[i];
    std::vector<double> RunLayerSample::*tables[] = {&RunLayerSample::weight_masked, &RunLayerSample::act_masked,
                                                     &RunLayerSample::weight_error, &RunLayerSample::codebook_drift};
    const size_t n_layers = run.layers.size();
    for (size_t t = 0; t < std::size(kLayerTables); ++t) {
      const std::string where = std::string("/layers/") + kLayerTables[t];
      std::vector<hsize_t> extent(2);
      const auto values = r.dataset<double>(layers, where, H5T_NATIVE_DOUBLE, extent);
      if (extent[0] != step.size() || extent[1] != n_layers)
        r.corrupt(where + " is " + extent_text(extent) + ", expected " + extent_text({step.size(), n_layers}) +
                  " (samples x layers)");
      for (size_t i = 0; i < step.size(); ++i)
        (run.samples[i].*tables[t]).assign(values.begin() + i * n_layers, values.begin() + (i + 1) * n_layers);
    }
  }
  const htri_t has_final = H5Lexists(file, "final", H5P_DEFAULT);
  if (has_final < 0) r.corrupt("cannot read the root group");
  if (has_final > 0) {
    const Handle final = r.group_open(file, "final");
    RunFinal& f = run.final;
    f.done = true;
    f.perplexity = r.number_attribute<double>(final, "/final/", "perplexity", H5T_NATIVE_DOUBLE);
    f.latent_perplexity = r.number_attribute<double>(final, "/final/", "latent_perplexity", H5T_NATIVE_DOUBLE);
    f.kl_mean = r.number_attribute<double>(final, "/final/", "kl_mean", H5T_NATIVE_DOUBLE);
    f.top1_agreement = r.number_attribute<double>(final, "/final/", "top1_agreement", H5T_NATIVE_DOUBLE);
    f.tokens = r.number_attribute<int64_t>(final, "/final/", "tokens", H5T_NATIVE_INT64);
    f.reference = r.string_attribute(final, "/final/", "reference");
    f.heldout_text = r.string_attribute(final, "/final/", "heldout_text");
    f.command = r.string_attribute(final, "/final/", "command");
  }
  return run;
}

}  // namespace

void run_file_write(const std::filesystem::path& path, const RunTelemetry& run) {
  run_check(path, run);
  path_write_atomic(path, [&](const std::filesystem::path& temp) {
    std::lock_guard lock(hdf5_mutex());
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    run_hdf5_write(path, temp, run);
  });
}

RunTelemetry run_file_read(const std::filesystem::path& path) {
  std::lock_guard lock(hdf5_mutex());
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  return run_hdf5_read(path);
}

}  // namespace qs
