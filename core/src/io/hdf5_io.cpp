// The HDF5 plumbing shared by run_file.cpp and results_h5.cpp (see hdf5_io.hpp).
#include "io/hdf5_io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace qs::hdf5 {
namespace {

herr_t innermost_error(unsigned n, const H5E_error2_t* error, void* data) {
  if (n == 0 && error->desc) *static_cast<std::string*>(data) = error->desc;
  return 0;
}

// The most specific message on HDF5's error stack ("truncated file: eof = ..."), then clears it. Some
// span lines (a failed read prints its whole state), and an error message is one line.
std::string detail_take() {
  std::string detail;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_error, &detail);
  H5Eclear2(H5E_DEFAULT);
  detail = detail.substr(0, detail.find_first_of("\r\n"));
  while (!detail.empty() && (detail.back() == ',' || detail.back() == ' ')) detail.pop_back();
  return detail;
}

std::string last_component(const std::string& where) { return where.substr(where.rfind('/') + 1); }

std::vector<std::string> strings_split(const std::vector<char>& buffer, size_t count, size_t size) {
  std::vector<std::string> values;
  values.reserve(count);
  for (size_t i = 0; i < count; ++i) values.emplace_back(&buffer[i * size], strnlen(&buffer[i * size], size));
  return values;
}

// HDF5 1.10 locks files it opens; on file systems without locks (some network mounts) that fails, and
// Quantscope's files need no lock: they are written under a private name and published by rename.
Handle access_properties(const std::filesystem::path& file, ErrorKind kind) {
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  if (!fapl.valid()) fail(kind, file, "cannot make file access properties");
#if H5_VERSION_GE(1, 12, 1) || (H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 10 && H5_VERS_RELEASE >= 7)
  if (H5Pset_file_locking(fapl, false, true) < 0) fail(kind, file, "cannot turn off file locking");
#endif
  return fapl;
}

// Fixed-length, null-padded strings of `size` bytes. Readers pass the file's character set: HDF5
// converts no string between ASCII and UTF-8 (h5py writes ASCII).
Handle string_type(size_t size, const std::filesystem::path& file, ErrorKind kind, H5T_cset_t cset = H5T_CSET_UTF8) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  if (!type.valid() || H5Tset_size(type, std::max<size_t>(size, 1)) < 0 || H5Tset_strpad(type, H5T_STR_NULLPAD) < 0 ||
      H5Tset_cset(type, cset) < 0)
    fail(kind, file, "cannot make a string type");
  return type;
}

}  // namespace

std::mutex& mutex() {
  static std::mutex mutex;
  return mutex;
}

Session::Session() : lock_(mutex()) { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

void fail(ErrorKind kind, const std::filesystem::path& file, const std::string& problem) {
  const std::string detail = detail_take();
  throw Error(kind, file.string() + ": " + problem + (detail.empty() ? "" : " (" + detail + ")"));
}

// The 1.8 object headers keep attributes over 64 KiB (a long plan) in dense storage; the default
// earliest format refuses them. SWMR needs the 1.10 format.
Handle format_properties(const std::filesystem::path& path, Layout layout) {
  Handle fapl = access_properties(path, ErrorKind::Io);
  if (H5Pset_libver_bounds(fapl, layout == Layout::Whole ? H5F_LIBVER_V18 : H5F_LIBVER_LATEST, H5F_LIBVER_LATEST) < 0)
    fail(ErrorKind::Io, path, "cannot select the HDF5 file format");
  return fapl;
}

Handle file_create(const std::filesystem::path& path, const std::filesystem::path& temp, Layout layout) {
  const Handle fapl = format_properties(path, layout);
  Handle file(H5Fcreate(temp.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl), H5Fclose);
  if (!file.valid()) fail(ErrorKind::Io, path, "cannot create the temporary file " + temp.filename().string());
  return file;
}

Handle file_append_open(const std::filesystem::path& path) {
  const Handle fapl = format_properties(path, Layout::Appendable);
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDWR | H5F_ACC_SWMR_WRITE, fapl), H5Fclose);
  if (!file.valid()) fail(ErrorKind::Io, path, "cannot open for appending");
  return file;
}

void rows_append(const std::filesystem::path& file, hid_t set, const std::string& where, hid_t type, hsize_t rows,
                 hsize_t width, const void* data) {
  const int rank = width == 0 ? 1 : 2;
  hsize_t dims[2] = {0, width};
  {
    const Handle space(H5Dget_space(set), H5Sclose);
    if (!space.valid() || H5Sget_simple_extent_dims(space, dims, nullptr) != rank)
      fail(ErrorKind::Io, file, "cannot read the extent of " + where);
  }
  const hsize_t start[2] = {dims[0], 0}, count[2] = {rows, width};
  dims[0] += rows;
  if (H5Dset_extent(set, dims) < 0) fail(ErrorKind::Io, file, "cannot extend " + where);
  const Handle space(H5Dget_space(set), H5Sclose);
  const Handle memory(H5Screate_simple(rank, count, nullptr), H5Sclose);
  if (!space.valid() || !memory.valid() || H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr) < 0 ||
      (rows * std::max<hsize_t>(width, 1) > 0 && H5Dwrite(set, type, memory, space, H5P_DEFAULT, data) < 0))
    fail(ErrorKind::Io, file, "cannot append to " + where);
}

void file_flush(const std::filesystem::path& path, hid_t file) {
  if (H5Fflush(file, H5F_SCOPE_GLOBAL) < 0) fail(ErrorKind::Io, path, "cannot flush");
}

Handle file_open(const std::filesystem::path& path, const std::string& noun, uintmax_t& size, bool swmr) {
  // HDF5 reports a missing file and a foreign one alike; the Io/Format distinction needs the OS's word.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorKind::Io, path.string() + ": cannot open (" + std::strerror(errno) + ")");
  ::close(fd);
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw Error(ErrorKind::Io, path.string() + ": is a folder, not a " + noun);
  const Handle fapl = access_properties(path, ErrorKind::Io);
  // A SWMR reader retries a metadata read whose checksum fails (the writer may be mid-flush); HDF5's
  // default of 100 attempts backs off for minutes on a damaged file, a few cover a concurrent flush.
  if (swmr && H5Pset_metadata_read_attempts(fapl, 16) < 0) fail(ErrorKind::Io, path, "cannot set the read attempts");
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY | (swmr ? H5F_ACC_SWMR_READ : 0), fapl), H5Fclose);
  if (!file.valid()) fail(ErrorKind::Format, path, "not a readable HDF5 file");
  size = std::filesystem::file_size(path, ec);
  if (ec) throw Error(ErrorKind::Io, path.string() + ": cannot read its size (" + ec.message() + ")");
  return file;
}

// ---- writing ------------------------------------------------------------------------------------

Handle Writer::group_create(const std::string& where, bool ordered) {
  Handle gcpl(H5Pcreate(H5P_GROUP_CREATE), H5Pclose);
  if (!gcpl.valid() ||
      (ordered && H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0))
    fail(ErrorKind::Io, file_, "cannot make the properties of group " + where);
  Handle group(H5Gcreate2(root_, where.c_str(), H5P_DEFAULT, gcpl, H5P_DEFAULT), H5Gclose);
  if (!group.valid()) fail(ErrorKind::Io, file_, "cannot create group " + where);
  return group;
}

void Writer::string_attribute(hid_t object, const char* name, const std::string& value) {
  const Handle type = string_type(value.size(), file_, ErrorKind::Io);
  const Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  const Handle attribute(H5Acreate2(object, name, type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!space.valid() || !attribute.valid() || H5Awrite(attribute, type, value.c_str()) < 0)
    fail(ErrorKind::Io, file_, std::string("cannot write attribute ") + name);
}

void Writer::strings_attribute(hid_t object, const char* name, const std::vector<std::string>& values) {
  size_t width = 1;
  for (const auto& value : values) width = std::max(width, value.size());
  std::vector<char> buffer(values.size() * width, '\0');
  for (size_t i = 0; i < values.size(); ++i) values[i].copy(&buffer[i * width], width);
  const Handle type = string_type(width, file_, ErrorKind::Io);
  const hsize_t dims[1] = {values.size()};
  const Handle space(H5Screate_simple(1, dims, nullptr), H5Sclose);
  const Handle attribute(H5Acreate2(object, name, type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!space.valid() || !attribute.valid() || (!values.empty() && H5Awrite(attribute, type, buffer.data()) < 0))
    fail(ErrorKind::Io, file_, std::string("cannot write attribute ") + name);
}

void Writer::number_attribute(hid_t object, const char* name, hid_t type, const void* value) {
  const Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  const Handle attribute(H5Acreate2(object, name, type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!space.valid() || !attribute.valid() || H5Awrite(attribute, type, value) < 0)
    fail(ErrorKind::Io, file_, std::string("cannot write attribute ") + name);
}

// Contiguous datasets unless they are to grow: zero-sized ones read back as empty arrays everywhere.
Handle Writer::dataset(hid_t group, const std::string& where, hid_t type, std::vector<hsize_t> dims, const void* data,
                       bool extendible) {
  std::vector<hsize_t> max_dims = dims, chunk = dims;
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  if (extendible) {
    // Chunks of about 4 KiB of values (at most 64 rows): each flush rewrites the chunk it appended to.
    max_dims.assign(dims.size(), H5S_UNLIMITED);
    hsize_t row = 1;
    for (size_t d = 1; d < chunk.size(); ++d) row *= chunk[d] = std::max<hsize_t>(chunk[d], 1);
    chunk[0] = std::clamp<hsize_t>(512 / row, 1, 64);
    if (!dcpl.valid() || H5Pset_chunk(dcpl, int(chunk.size()), chunk.data()) < 0)
      fail(ErrorKind::Io, file_, "cannot make the properties of dataset " + where);
  }
  const Handle space(H5Screate_simple(int(dims.size()), dims.data(), max_dims.data()), H5Sclose);
  const std::string name = last_component(where);
  Handle set(H5Dcreate2(group, name.c_str(), type, space, H5P_DEFAULT, extendible ? hid_t(dcpl) : H5P_DEFAULT,
                        H5P_DEFAULT),
             H5Dclose);
  if (!space.valid() || !set.valid()) fail(ErrorKind::Io, file_, "cannot create dataset " + where);
  hsize_t count = 1;
  for (const hsize_t d : dims) count *= d;
  if (count > 0 && H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    fail(ErrorKind::Io, file_, "cannot write dataset " + where);
  return set;
}

Handle Writer::strings_dataset(hid_t group, const std::string& where, const std::vector<std::string>& values) {
  size_t width = 1;
  for (const auto& value : values) width = std::max(width, value.size());
  std::vector<char> buffer(values.size() * width, '\0');
  for (size_t i = 0; i < values.size(); ++i) values[i].copy(&buffer[i * width], width);
  const Handle type = string_type(width, file_, ErrorKind::Io);
  return dataset(group, where, type, {hsize_t(values.size())}, buffer.data());
}

void Writer::format_write(const char* format, int version) {
  string_attribute(root_, "format", format);
  number_attribute(root_, "version", H5T_NATIVE_INT, &version);
}

// ---- reading ------------------------------------------------------------------------------------

void Reader::corrupt(const std::string& problem) const { fail(ErrorKind::Format, file_, problem); }

void Reader::format_check(hid_t root, const char* format, int version, const std::string& noun) const {
  const htri_t has_format = H5Aexists(root, "format");
  if (has_format < 0) corrupt("cannot read the attributes of /");
  if (has_format == 0) corrupt("not a Quantscope " + noun + " (no attribute format)");
  const std::string found = string_attribute(root, "/", "format");
  if (found != format) corrupt("not a Quantscope " + noun + " (format is '" + found + "')");
  const int64_t found_version = number_attribute<int64_t>(root, "/", "version", H5T_NATIVE_INT64);
  if (found_version != version)
    throw Error(ErrorKind::Unsupported, file_.string() + ": " + noun + " version " + std::to_string(found_version) +
                                            ", this Quantscope reads version " + std::to_string(version));
}

Handle Reader::group_open(hid_t parent, const std::string& where) const {
  const std::string name = last_component(where);
  link_check(parent, name, "group " + where);
  Handle group(H5Gopen2(parent, name.c_str(), H5P_DEFAULT), H5Gclose);
  if (!group.valid()) corrupt(where + " is not a group");
  return group;
}

bool Reader::link_exists(hid_t parent, const std::string& name, const std::string& label) const {
  const htri_t exists = H5Lexists(parent, name.c_str(), H5P_DEFAULT);
  if (exists < 0) corrupt("cannot read " + label);
  return exists > 0;
}

std::vector<std::string> Reader::member_names(hid_t group, const std::string& where) const {
  H5G_info_t info;
  if (H5Gget_info(group, &info) < 0) corrupt("cannot list group " + where);
  // Every member takes at least a byte of the file.
  size_check(where, info.nlinks, 1);
  const Handle gcpl(H5Gget_create_plist(group), H5Pclose);
  unsigned order = 0;
  if (!gcpl.valid() || H5Pget_link_creation_order(gcpl, &order) < 0) corrupt("cannot read the properties of " + where);
  const H5_index_t index = (order & H5P_CRT_ORDER_INDEXED) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t size = H5Lget_name_by_idx(group, ".", index, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (size <= 0) corrupt("cannot read member " + std::to_string(i) + " of " + where);
    size_check(where, hsize_t(size), 1);
    std::vector<char> buffer(size_t(size) + 1, '\0');
    if (H5Lget_name_by_idx(group, ".", index, H5_ITER_INC, i, buffer.data(), buffer.size(), H5P_DEFAULT) != size)
      corrupt("cannot read member " + std::to_string(i) + " of " + where);
    names.emplace_back(buffer.data(), size_t(size));
  }
  return names;
}

Handle Reader::attribute_open(hid_t object, const std::string& where, const char* name, H5T_class_t expected,
                              bool single) const {
  const std::string label = "attribute " + where + name;
  const htri_t exists = H5Aexists(object, name);
  if (exists < 0) corrupt("cannot read " + label);
  if (exists == 0) corrupt("missing " + label);
  Handle attribute(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
  if (!attribute.valid()) corrupt("cannot open " + label);
  const Handle space(H5Aget_space(attribute), H5Sclose);
  if (!space.valid()) corrupt("cannot read the extent of " + label);
  if (single && H5Sget_simple_extent_npoints(space) != 1) corrupt(label + " is not a single value");
  if (!single && H5Sget_simple_extent_ndims(space) != 1) corrupt(label + " is not a list");
  const Handle type(H5Aget_type(attribute), H5Tclose);
  const H5T_class_t type_class = type.valid() ? H5Tget_class(type) : H5T_NO_CLASS;
  const bool numeric = type_class == H5T_INTEGER || type_class == H5T_FLOAT;
  if (expected == H5T_STRING ? type_class != H5T_STRING : !numeric)
    corrupt(label + (expected == H5T_STRING ? " is not a string" : " is not a number"));
  return attribute;
}

std::string Reader::string_attribute(hid_t object, const std::string& where, const char* name) const {
  const Handle attribute = attribute_open(object, where, name, H5T_STRING, true);
  const Handle type(H5Aget_type(attribute), H5Tclose);
  const std::string label = "attribute " + where + name;
  size_t size = 0;
  const Handle memory = string_memory(type, label, 1, size);
  std::vector<char> buffer(size, '\0');
  if (H5Aread(attribute, memory, buffer.data()) < 0) corrupt("cannot read " + label);
  return std::string(buffer.data(), strnlen(buffer.data(), size));
}

std::vector<std::string> Reader::strings_attribute(hid_t object, const std::string& where, const char* name) const {
  const Handle attribute = attribute_open(object, where, name, H5T_STRING, false);
  const std::string label = "attribute " + where + name;
  const Handle space(H5Aget_space(attribute), H5Sclose);
  const hssize_t count = space.valid() ? H5Sget_simple_extent_npoints(space) : -1;
  if (count < 0) corrupt("cannot read the extent of " + label);
  if (count == 0) return {};
  const Handle type(H5Aget_type(attribute), H5Tclose);
  size_t size = 0;
  const Handle memory = string_memory(type, label, hsize_t(count), size);
  std::vector<char> buffer(size_t(count) * size);
  if (H5Aread(attribute, memory, buffer.data()) < 0) corrupt("cannot read " + label);
  return strings_split(buffer, size_t(count), size);
}

Handle Reader::dataset_open(hid_t group, const std::string& where) const {
  const std::string name = last_component(where);
  link_check(group, name, "dataset " + where);
  Handle set(H5Dopen2(group, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!set.valid()) corrupt("cannot open dataset " + where);
  return set;
}

bool Reader::dataset_is_text(hid_t set, const std::string& where) const {
  const Handle type(H5Dget_type(set), H5Tclose);
  const H5T_class_t type_class = type.valid() ? H5Tget_class(type) : H5T_NO_CLASS;
  if (type_class == H5T_STRING) return true;
  if (type_class != H5T_INTEGER && type_class != H5T_FLOAT) corrupt(where + " is neither numbers nor text");
  return false;
}

std::vector<std::string> Reader::strings_dataset(hid_t group, const std::string& where) const {
  const Handle set = dataset_open(group, where);
  if (!dataset_is_text(set, where)) corrupt(where + " is not a string dataset");
  return strings_values(set, where);
}

std::vector<std::string> Reader::strings_values(hid_t set, const std::string& where) const {
  const Handle type(H5Dget_type(set), H5Tclose);
  if (!type.valid() || H5Tget_class(type) != H5T_STRING) corrupt(where + " is not a string dataset");
  const Handle space(H5Dget_space(set), H5Sclose);
  hsize_t dims[1] = {0};
  if (!space.valid() || H5Sget_simple_extent_ndims(space) != 1 || H5Sget_simple_extent_dims(space, dims, nullptr) < 0)
    corrupt(where + " is not one-dimensional");
  const size_t count = size_t(dims[0]);
  if (count == 0) return {};
  size_t size = 0;
  const Handle memory = string_memory(type, where, count, size);
  std::vector<char> buffer(count * size);
  if (H5Dread(set, memory, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()) < 0) corrupt("cannot read dataset " + where);
  return strings_split(buffer, count, size);
}

void Reader::link_check(hid_t parent, const std::string& name, const std::string& label) const {
  if (!link_exists(parent, name, label)) corrupt("missing " + label);
}

Handle Reader::string_memory(hid_t type, const std::string& where, hsize_t count, size_t& size) const {
  size = string_size(type, where, count);
  const H5T_cset_t cset = H5Tget_cset(type);
  if (cset != H5T_CSET_ASCII && cset != H5T_CSET_UTF8) corrupt(where + " has an unknown character set");
  return string_type(size, file_, ErrorKind::Format, cset);
}

// A corrupt header can claim any size; what the file cannot hold is refused before allocating it.
void Reader::size_check(const std::string& where, hsize_t count, size_t element_size) const {
  if (element_size > 0 && count > file_size_ / element_size) corrupt(where + " claims more data than the file holds");
}

size_t Reader::string_size(hid_t type, const std::string& where, hsize_t count) const {
  if (H5Tis_variable_str(type) != 0) corrupt(where + " is not a fixed-length string");
  const size_t size = H5Tget_size(type);
  if (size == 0) corrupt(where + " has no string size");
  size_check(where, count, size);
  return size;
}

}  // namespace qs::hdf5
