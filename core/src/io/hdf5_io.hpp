// The HDF5 plumbing shared by Quantscope's HDF5 files (run.h5, results.h5), so that both use one lock,
// one file format, one string type and one way of turning HDF5 failures into a one-line qs::Error:
// plain native types and fixed-length, null-padded UTF-8 strings, which h5py, h5dump and the GUI all
// read. Not variable-length strings: those live in HDF5's global heap, whose reader in HDF5 1.10
// crashes on a corrupt heap instead of failing.
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "quantscope/error.hpp"

namespace qs::hdf5 {

// Debian's HDF5 is the serial build, which must not be entered from two threads at once (the trainer
// writes while the GUI reads). Every HDF5 call in core happens with this mutex held.
std::mutex& mutex();

// Takes the mutex and switches off HDF5's own error printing, for one read or write.
class Session {
 public:
  Session();

 private:
  std::lock_guard<std::mutex> lock_;
};

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

// Throws `kind` as "<file>: <problem> (<HDF5's innermost message>)", and clears HDF5's error stack.
[[noreturn]] void fail(ErrorKind kind, const std::filesystem::path& file, const std::string& problem);

// How a file is written: whole, once (the 1.8 file format), or whole and then appended to in HDF5's
// single-writer/multiple-reader mode (SWMR, the 1.10 format), in which the file on disk is consistent
// after every flush, whenever the writer is killed.
enum class Layout { Whole, Appendable };

// Creates the file `temp` (the private name path_write_atomic gives) for `path`, the name errors show.
Handle file_create(const std::filesystem::path& path, const std::filesystem::path& temp, Layout layout = Layout::Whole);

// Opens an Appendable file that is complete on disk for appending, in SWMR mode: from here on only
// rows_append and flushes change it.
Handle file_append_open(const std::filesystem::path& path);

// Opens `path` for reading: Io when the OS cannot open it or it is a folder, Format when it is not
// HDF5. `noun` names what the file should be ("run file"); its size goes to `size`. SWMR reading
// also opens an Appendable file that is being written or whose writer was killed.
Handle file_open(const std::filesystem::path& path, const std::string& noun, uintmax_t& size, bool swmr = false);

// Appends `rows` rows of `width` values (a 1-D dataset when width is 0) to an extendible dataset.
void rows_append(const std::filesystem::path& file, hid_t set, const std::string& where, hid_t type, hsize_t rows,
                 hsize_t width, const void* data);
// Writes what was appended to the file, so that readers and a file left by a killed writer have it.
void file_flush(const std::filesystem::path& path, hid_t file);

class Writer {
 public:
  Writer(const std::filesystem::path& file, hid_t root) : file_(file), root_(root) {}

  // `where` is the group's full path ("/steps"). With `ordered`, readers list its members in the order
  // they were created (h5py does) instead of by name.
  Handle group_create(const std::string& where, bool ordered = false);
  void string_attribute(hid_t object, const char* name, const std::string& value);
  void strings_attribute(hid_t object, const char* name, const std::vector<std::string>& values);
  void number_attribute(hid_t object, const char* name, hid_t type, const void* value);
  // `where` is the dataset's full path; it is created in `group` under its last component. An
  // extendible one is chunked and grows along its first dimension (rows_append).
  Handle dataset(hid_t group, const std::string& where, hid_t type, std::vector<hsize_t> dims, const void* data,
                 bool extendible = false);
  Handle strings_dataset(hid_t group, const std::string& where, const std::vector<std::string>& values);
  // The root attributes `format` and `version` every Quantscope HDF5 file starts with.
  void format_write(const char* format, int version);

 private:
  const std::filesystem::path& file_;
  hid_t root_;
};

// Reading checks every object before using it and refuses sizes the file cannot hold, so that a
// damaged file gives a Format error naming the object, never a crash or a huge allocation.
class Reader {
 public:
  Reader(const std::filesystem::path& file, uintmax_t file_size) : file_(file), file_size_(file_size) {}

  [[noreturn]] void corrupt(const std::string& problem) const;

  // Checks the root attributes `format` and `version`: Format for another file, Unsupported for
  // another version. `noun` names the kind of file ("results file").
  void format_check(hid_t root, const char* format, int version, const std::string& noun) const;

  // `where` is the group's full path; it is opened in `parent` under its last component.
  Handle group_open(hid_t parent, const std::string& where) const;
  bool link_exists(hid_t parent, const std::string& name, const std::string& label) const;
  // The names of a group's members, in creation order when the group records it, else by name.
  std::vector<std::string> member_names(hid_t group, const std::string& where) const;

  // `where` ends with '/' ("/final/"): the label is where + name.
  std::string string_attribute(hid_t object, const std::string& where, const char* name) const;
  std::vector<std::string> strings_attribute(hid_t object, const std::string& where, const char* name) const;
  template <class T>
  T number_attribute(hid_t object, const std::string& where, const char* name, hid_t memory) const {
    const Handle attribute = attribute_open(object, where, name, H5T_FLOAT, true);
    T value{};
    if (H5Aread(attribute, memory, &value) < 0) corrupt("cannot read attribute " + where + name);
    return value;
  }

  // Opens the dataset at the full path `where` (in `group`, under its last component).
  Handle dataset_open(hid_t group, const std::string& where) const;
  // True for a string dataset, false for a numeric one; Format for anything else.
  bool dataset_is_text(hid_t set, const std::string& where) const;
  // A numeric dataset of the given rank, converted to `memory`'s type; its extent goes to `dims`.
  template <class T>
  std::vector<T> dataset(hid_t group, const std::string& where, hid_t memory, std::vector<hsize_t>& dims) const {
    const Handle set = dataset_open(group, where);
    if (dataset_is_text(set, where)) corrupt(where + " is not numeric");
    return dataset_values<T>(set, where, memory, dims);
  }
  template <class T>
  std::vector<T> dataset_values(hid_t set, const std::string& where, hid_t memory, std::vector<hsize_t>& dims) const {
    const Handle space(H5Dget_space(set), H5Sclose);
    const int rank = space.valid() ? H5Sget_simple_extent_ndims(space) : -1;
    if (rank != int(dims.size()))
      corrupt(where + " has " + std::to_string(rank) + " dimensions, expected " + std::to_string(dims.size()));
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
  std::vector<std::string> strings_dataset(hid_t group, const std::string& where) const;
  std::vector<std::string> strings_values(hid_t set, const std::string& where) const;

 private:
  Handle attribute_open(hid_t object, const std::string& where, const char* name, H5T_class_t expected,
                        bool single) const;
  void link_check(hid_t parent, const std::string& name, const std::string& label) const;
  void size_check(const std::string& where, hsize_t count, size_t element_size) const;
  size_t string_size(hid_t type, const std::string& where, hsize_t count) const;
  // A memory type for reading `count` strings of the file's string type `type`.
  Handle string_memory(hid_t type, const std::string& where, hsize_t count, size_t& size) const;

  const std::filesystem::path& file_;
  uintmax_t file_size_;
};

}  // namespace qs::hdf5
