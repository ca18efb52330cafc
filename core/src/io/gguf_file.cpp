// See gguf_file.hpp. The reader checks each count against the bytes that remain before it reserves
// anything, so a corrupt count fails in one line rather than in an allocation of its claimed size.
#include "io/gguf_file.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

#include "ggml_quants.hpp"
#include "io/mapped_file.hpp"
#include "quantscope/error.hpp"

namespace qs {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr size_t kMaxName = 64;          // ggml's GGML_MAX_NAME, with its terminating zero
constexpr int kMaxDims = 4;

constexpr std::array<const char*, 43> kTypeNames = {
    "f32",        "f16",        "q4_0",       "q4_1",  "q4_2",     "q4_3",     "q5_0",     "q5_1",    "q8_0",
    "q8_1",       "q2_K",       "q3_K",       "q4_K",  "q5_K",     "q6_K",     "q8_K",     "iq2_xxs", "iq2_xs",
    "iq3_xxs",    "iq1_s",      "iq4_nl",     "iq3_s", "iq2_s",    "iq4_xs",   "i8",       "i16",     "i32",
    "i64",        "f64",        "iq1_m",      "bf16",  "q4_0_4_4", "q4_0_4_8", "q4_0_8_8", "tq1_0",   "tq2_0",
    "iq4_nl_4_4", "iq4_nl_4_8", "iq4_nl_8_8", "mxfp4", "nvfp4",    "q1_0",     "q2_0"};

std::string value_type_name(uint32_t t) {
  static constexpr const char* kNames[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                           "bool", "string", "array", "u64", "i64", "f64"};
  return t < std::size(kNames) ? kNames[t] : "type " + std::to_string(t);
}

bool is_integer(GgufValueType t) {
  return t != GgufValueType::F32 && t != GgufValueType::F64 && t != GgufValueType::String && t != GgufValueType::Array;
}

size_t scalar_bytes(GgufValueType t) {
  switch (t) {
    case GgufValueType::U8:
    case GgufValueType::I8:
    case GgufValueType::Bool:
      return 1;
    case GgufValueType::U16:
    case GgufValueType::I16:
      return 2;
    case GgufValueType::U32:
    case GgufValueType::I32:
    case GgufValueType::F32:
      return 4;
    case GgufValueType::U64:
    case GgufValueType::I64:
    case GgufValueType::F64:
      return 8;
    case GgufValueType::String:
      return 8;  // at least its length
    case GgufValueType::Array:
      return 12;  // at least its element type and count
  }
  return 1;
}

// Reads the mapped header front to back; every failure names the file and what was being read.
class Cursor {
 public:
  Cursor(const std::filesystem::path& path, const std::byte* data, size_t size)
      : path_(path), data_(data), size_(size) {}
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorKind::Format, path_.string() + ": GGUF: " + what);
  }
  uint64_t left() const { return size_ - at_; }
  uint64_t at() const { return at_; }
  template <class T>
  T read(const std::string& what) {
    if (left() < sizeof(T)) fail(what + " is cut off at byte " + std::to_string(at_) + " (truncated file)");
    T v;
    std::memcpy(&v, data_ + at_, sizeof v);
    at_ += sizeof v;
    return v;
  }
  std::string string(const std::string& what) {
    const uint64_t n = read<uint64_t>(what + "'s length");
    if (n > left())
      fail(what + " claims " + std::to_string(n) + " bytes but " + std::to_string(left()) + " remain in the file");
    std::string s(reinterpret_cast<const char*>(data_ + at_), size_t(n));
    at_ += n;
    return s;
  }

 private:
  const std::filesystem::path& path_;
  const std::byte* data_;
  size_t size_;
  uint64_t at_ = 0;
};

void scalar_read(Cursor& c, GgufValueType t, GgufValue& v, const std::string& what) {
  switch (t) {
    case GgufValueType::U8:
      v.ints.push_back(c.read<uint8_t>(what));
      break;
    case GgufValueType::I8:
      v.ints.push_back(c.read<int8_t>(what));
      break;
    case GgufValueType::U16:
      v.ints.push_back(c.read<uint16_t>(what));
      break;
    case GgufValueType::I16:
      v.ints.push_back(c.read<int16_t>(what));
      break;
    case GgufValueType::U32:
      v.ints.push_back(c.read<uint32_t>(what));
      break;
    case GgufValueType::I32:
      v.ints.push_back(c.read<int32_t>(what));
      break;
    case GgufValueType::U64:
      v.ints.push_back(int64_t(c.read<uint64_t>(what)));
      break;
    case GgufValueType::I64:
      v.ints.push_back(c.read<int64_t>(what));
      break;
    case GgufValueType::F32:
      v.floats.push_back(c.read<float>(what));
      break;
    case GgufValueType::F64:
      v.floats.push_back(c.read<double>(what));
      break;
    case GgufValueType::Bool: {
      const uint8_t b = c.read<uint8_t>(what);
      if (b > 1) c.fail(what + " is a bool of value " + std::to_string(b));
      v.ints.push_back(b);
      break;
    }
    case GgufValueType::String:
      v.strings.push_back(c.string(what));
      break;
    case GgufValueType::Array:
      c.fail(what + ": arrays of arrays are not read");
  }
}

GgufValueType value_type_read(Cursor& c, const std::string& what) {
  const uint32_t t = c.read<uint32_t>(what + "'s type");
  if (t > uint32_t(GgufValueType::F64)) c.fail(what + " has unknown value type " + std::to_string(t));
  return GgufValueType(t);
}

GgufValue value_read(Cursor& c, const std::string& key) {
  GgufValue v;
  v.type = v.element = value_type_read(c, "key '" + key + "'");
  if (v.type != GgufValueType::Array) {
    scalar_read(c, v.type, v, "key '" + key + "'");
    return v;
  }
  v.element = value_type_read(c, "key '" + key + "'s elements");
  const uint64_t n = c.read<uint64_t>("key '" + key + "'s array length");
  if (n > c.left() / scalar_bytes(v.element))
    c.fail("key '" + key + "' claims " + std::to_string(n) + " " + value_type_name(uint32_t(v.element)) +
           " elements but " + std::to_string(c.left()) + " bytes remain in the file");
  for (uint64_t i = 0; i < n; ++i) scalar_read(c, v.element, v, "key '" + key + "'[" + std::to_string(i) + "]");
  return v;
}

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

struct Emitter {
  const ByteSink& sink;
  uint64_t written = 0;
  void bytes(const void* p, size_t n) {
    sink(p, n);
    written += n;
  }
  template <class T>
  void put(T v) {
    bytes(&v, sizeof v);
  }
  void string(const std::string& s) {
    put<uint64_t>(s.size());
    bytes(s.data(), s.size());
  }
  void pad(uint64_t alignment) {
    static const std::array<char, 256> zeros{};
    while (written % alignment) bytes(zeros.data(), size_t(std::min<uint64_t>(alignment - written % alignment, 256)));
  }
};

void scalar_write(Emitter& e, GgufValueType t, const GgufValue& v, size_t i) {
  switch (t) {
    case GgufValueType::U8:
      e.put<uint8_t>(uint8_t(v.ints[i]));
      break;
    case GgufValueType::I8:
      e.put<int8_t>(int8_t(v.ints[i]));
      break;
    case GgufValueType::U16:
      e.put<uint16_t>(uint16_t(v.ints[i]));
      break;
    case GgufValueType::I16:
      e.put<int16_t>(int16_t(v.ints[i]));
      break;
    case GgufValueType::U32:
      e.put<uint32_t>(uint32_t(v.ints[i]));
      break;
    case GgufValueType::I32:
      e.put<int32_t>(int32_t(v.ints[i]));
      break;
    case GgufValueType::U64:
      e.put<uint64_t>(uint64_t(v.ints[i]));
      break;
    case GgufValueType::I64:
      e.put<int64_t>(v.ints[i]);
      break;
    case GgufValueType::Bool:
      e.put<uint8_t>(v.ints[i] ? 1 : 0);
      break;
    case GgufValueType::F32:
      e.put<float>(float(v.floats[i]));
      break;
    case GgufValueType::F64:
      e.put<double>(v.floats[i]);
      break;
    case GgufValueType::String:
      e.string(v.strings[i]);
      break;
    case GgufValueType::Array:
      break;
  }
}

size_t value_count(const GgufValue& v) {
  if (v.element == GgufValueType::String) return v.strings.size();
  if (v.element == GgufValueType::F32 || v.element == GgufValueType::F64) return v.floats.size();
  return v.ints.size();
}

// Everything before the tensor data: magic, version, counts, keys, tensor infos, padding.
void header_emit(Emitter& e, const std::vector<std::pair<std::string, GgufValue>>& metadata,
                 const std::vector<GgufTensorInfo>& tensors, uint64_t alignment) {
  e.put<uint32_t>(kMagic);
  e.put<uint32_t>(3);
  e.put<uint64_t>(tensors.size());
  e.put<uint64_t>(metadata.size());
  for (const auto& [key, v] : metadata) {
    e.string(key);
    e.put<uint32_t>(uint32_t(v.type));
    if (v.type == GgufValueType::Array) {
      e.put<uint32_t>(uint32_t(v.element));
      e.put<uint64_t>(value_count(v));
    }
    for (size_t i = 0; i < value_count(v); ++i) scalar_write(e, v.element, v, i);
  }
  for (const GgufTensorInfo& t : tensors) {
    e.string(t.name);
    e.put<uint32_t>(uint32_t(t.dims.size()));
    for (int64_t d : t.dims) e.put<int64_t>(d);
    e.put<uint32_t>(t.type);
    e.put<uint64_t>(t.offset);
  }
  e.pad(alignment);
}

}  // namespace

GgufValue GgufValue::u32(uint32_t v) { return {GgufValueType::U32, GgufValueType::U32, {int64_t(v)}, {}, {}}; }
GgufValue GgufValue::i32(int32_t v) { return {GgufValueType::I32, GgufValueType::I32, {int64_t(v)}, {}, {}}; }
GgufValue GgufValue::f32(float v) { return {GgufValueType::F32, GgufValueType::F32, {}, {double(v)}, {}}; }
GgufValue GgufValue::boolean(bool v) { return {GgufValueType::Bool, GgufValueType::Bool, {int64_t(v)}, {}, {}}; }
GgufValue GgufValue::string(std::string v) {
  return {GgufValueType::String, GgufValueType::String, {}, {}, {std::move(v)}};
}
GgufValue GgufValue::strings_array(std::vector<std::string> v) {
  return {GgufValueType::Array, GgufValueType::String, {}, {}, std::move(v)};
}
GgufValue GgufValue::f32_array(const std::vector<float>& v) {
  return {GgufValueType::Array, GgufValueType::F32, {}, {v.begin(), v.end()}, {}};
}
GgufValue GgufValue::i32_array(const std::vector<int32_t>& v) {
  return {GgufValueType::Array, GgufValueType::I32, {v.begin(), v.end()}, {}, {}};
}

int64_t GgufTensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

std::string ggml_type_name(uint32_t type) {
  return type < kTypeNames.size() ? kTypeNames[type] : "type " + std::to_string(type);
}

uint64_t ggml_row_bytes(uint32_t type, int64_t n) {
  using kernels::GgmlType;
  switch (GgmlType(type)) {
    case GgmlType::F32:
    case GgmlType::F16:
    case GgmlType::BF16:
    case GgmlType::Q4_0:
    case GgmlType::Q4_1:
    case GgmlType::Q5_0:
    case GgmlType::Q5_1:
    case GgmlType::Q8_0:
    case GgmlType::Q2_K:
    case GgmlType::Q3_K:
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K:
    case GgmlType::IQ4_NL: {
      const kernels::GgmlBlock b = kernels::ggml_block(GgmlType(type));
      return n > 0 && n % b.weights == 0 ? uint64_t(n / b.weights) * uint64_t(b.bytes) : 0;
    }
  }
  return 0;
}

GgufFile GgufFile::open(const std::filesystem::path& path) {
  GgufFile f;
  f.file_ = MappedFile::open(path);
  Cursor c(f.file_->path(), f.file_->data(), f.file_->size());
  if (f.file_->size() < 4 || c.read<uint32_t>("the magic") != kMagic) c.fail("the file does not start with \"GGUF\"");
  f.version_ = c.read<uint32_t>("the version");
  if (f.version_ == 1) c.fail("version 1 is not read (llama.cpp dropped it too); convert the file again");
  if (f.version_ != 2 && f.version_ != 3)
    c.fail("version " + std::to_string(f.version_) + " is not one Quantscope reads (2 and 3)");
  const uint64_t tensors = c.read<uint64_t>("the tensor count");
  const uint64_t keys = c.read<uint64_t>("the key count");
  // A key takes at least 13 bytes (length, one character, type), a tensor info 25.
  if (keys > c.left() / 13)
    c.fail("the key count " + std::to_string(keys) + " is more than the file's " + std::to_string(c.left()) +
           " remaining bytes can hold");
  if (tensors > c.left() / 25)
    c.fail("the tensor count " + std::to_string(tensors) + " is more than the file's " + std::to_string(c.left()) +
           " remaining bytes can hold");
  for (uint64_t i = 0; i < keys; ++i) {
    std::string key = c.string("key " + std::to_string(i));
    if (key.empty()) c.fail("key " + std::to_string(i) + " is empty");
    if (f.metadata_.count(key)) c.fail("key '" + key + "' appears twice");
    GgufValue v = value_read(c, key);
    f.metadata_.emplace(std::move(key), std::move(v));
  }
  if (const GgufValue* a = f.find("general.alignment")) {
    if (a->type != GgufValueType::U32)
      c.fail("general.alignment is " + value_type_name(uint32_t(a->type)) + ", not u32");
    const uint64_t v = uint64_t(a->ints.at(0));
    if (v == 0 || (v & (v - 1)) != 0) c.fail("general.alignment " + std::to_string(v) + " is not a power of two");
    f.alignment_ = v;
  }
  for (uint64_t i = 0; i < tensors; ++i) {
    GgufTensorInfo t;
    t.name = c.string("tensor " + std::to_string(i) + "'s name");
    if (t.name.empty() || t.name.size() >= kMaxName)
      c.fail("tensor " + std::to_string(i) + "'s name '" + t.name + "' is empty or longer than " +
             std::to_string(kMaxName - 1) + " bytes");
    const std::string who = "tensor '" + t.name + "'";
    const uint32_t dims = c.read<uint32_t>(who + "'s dimension count");
    if (dims < 1 || dims > kMaxDims) c.fail(who + " has " + std::to_string(dims) + " dimensions (1 to 4 are read)");
    uint64_t numel = 1;
    for (uint32_t d = 0; d < dims; ++d) {
      const int64_t n = c.read<int64_t>(who + "'s dimension " + std::to_string(d));
      if (n < 1 || uint64_t(n) > (uint64_t(1) << 40) || numel > (uint64_t(1) << 50) / uint64_t(n))
        c.fail(who + "'s dimension " + std::to_string(d) + " is " + std::to_string(n) +
               ", outside 1 .. 2^40 or too large in all");
      numel *= uint64_t(n);
      t.dims.push_back(n);
    }
    t.type = c.read<uint32_t>(who + "'s type");
    if (t.type >= kTypeNames.size()) c.fail(who + " has unknown ggml type " + std::to_string(t.type));
    const uint64_t row = ggml_row_bytes(t.type, t.dims[0]);
    if (row == 0 && ggml_row_bytes(t.type, 256 * 1024) == 0)
      throw Error(ErrorKind::Unsupported,
                  path.string() + ": GGUF: " + who + " is of type " + ggml_type_name(t.type) +
                      ", which Quantscope does not read (it reads f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0, "
                      "q2_K, q3_K, q4_K, q5_K, q6_K and iq4_nl)");
    if (row == 0)
      c.fail(who + "'s rows of " + std::to_string(t.dims[0]) + " weights are not whole " + ggml_type_name(t.type) +
             " blocks");
    t.bytes = row * (numel / uint64_t(t.dims[0]));
    t.offset = c.read<uint64_t>(who + "'s offset");
    if (t.offset % f.alignment_ != 0)
      c.fail(who + "'s offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
             std::to_string(f.alignment_));
    if (std::any_of(f.tensors_.begin(), f.tensors_.end(), [&](const GgufTensorInfo& o) { return o.name == t.name; }))
      c.fail(who + " appears twice");
    f.tensors_.push_back(std::move(t));
  }
  f.data_offset_ = align_up(c.at(), f.alignment_);
  const uint64_t data_size = f.file_->size() > f.data_offset_ ? f.file_->size() - f.data_offset_ : 0;
  std::vector<const GgufTensorInfo*> order;
  for (const GgufTensorInfo& t : f.tensors_) {
    if (t.offset > data_size || t.bytes > data_size - t.offset)
      c.fail("tensor '" + t.name + "' (" + std::to_string(t.bytes) + " bytes at data offset " +
             std::to_string(t.offset) + ") runs past the end of the file (" + std::to_string(data_size) +
             " data bytes; truncated?)");
    order.push_back(&t);
  }
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < order.size(); ++i)
    if (order[i - 1]->offset + order[i - 1]->bytes > order[i]->offset)
      c.fail("tensors '" + order[i - 1]->name + "' and '" + order[i]->name + "' overlap");
  return f;
}

const std::filesystem::path& GgufFile::path() const { return file_->path(); }

const GgufTensorInfo* GgufFile::tensor_find(const std::string& name) const {
  for (const GgufTensorInfo& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

const GgufValue* GgufFile::find(const std::string& key) const {
  const auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

std::string GgufFile::string_get(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v || v->type != GgufValueType::String)
    throw Error(ErrorKind::Format,
                path().string() + ": GGUF: key '" + key + "' " +
                    (v ? "is " + value_type_name(uint32_t(v->type)) + ", not a string" : "is missing"));
  return v->strings.at(0);
}

uint64_t GgufFile::uint_get(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v || !is_integer(v->type) || v->type == GgufValueType::Bool ||
      (v->type != GgufValueType::U64 && v->ints.at(0) < 0))
    throw Error(ErrorKind::Format,
                path().string() + ": GGUF: key '" + key + "' " + (v ? "is not a non-negative integer" : "is missing"));
  return uint64_t(v->ints.at(0));
}

double GgufFile::float_get(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v || (v->type != GgufValueType::F32 && v->type != GgufValueType::F64))
    throw Error(ErrorKind::Format,
                path().string() + ": GGUF: key '" + key + "' " + (v ? "is not a float" : "is missing"));
  return v->floats.at(0);
}

GgufWriter::GgufWriter(uint32_t alignment) : alignment_(alignment) {
  metadata_set("general.alignment", GgufValue::u32(alignment));
}

void GgufWriter::metadata_set(const std::string& key, GgufValue value) {
  for (auto& [k, v] : metadata_)
    if (k == key) {
      v = std::move(value);
      return;
    }
  metadata_.emplace_back(key, std::move(value));
}

void GgufWriter::tensor_add(const std::string& name, std::vector<int64_t> dims, uint32_t type) {
  GgufTensorInfo t;
  t.name = name;
  t.dims = std::move(dims);
  t.type = type;
  t.bytes = ggml_row_bytes(type, t.dims.at(0)) * uint64_t(t.numel() / t.dims.at(0));
  if (t.bytes == 0)
    throw Error(ErrorKind::Invalid, "GGUF: tensor '" + name + "' cannot be stored as " + ggml_type_name(type) +
                                        " (rows of " + std::to_string(t.dims.at(0)) + " weights)");
  t.offset = data_bytes_;
  data_bytes_ += align_up(t.bytes, alignment_);
  tensors_.push_back(std::move(t));
}

uint64_t GgufWriter::file_bytes() const {
  const ByteSink count = [](const void*, size_t) {};
  Emitter e{count};
  header_emit(e, metadata_, tensors_, alignment_);
  return e.written + data_bytes_;
}

void GgufWriter::write(const std::filesystem::path& path,
                       const std::function<void(size_t index, const ByteSink& sink)>& data) const {
  file_write_atomic(path, [&](const ByteSink& sink) {
    Emitter e{sink};
    header_emit(e, metadata_, tensors_, alignment_);
    const uint64_t data_start = e.written;
    for (size_t i = 0; i < tensors_.size(); ++i) {
      const uint64_t before = e.written;
      data(i, [&](const void* p, size_t n) { e.bytes(p, n); });
      if (e.written - before != tensors_[i].bytes)
        throw Error(ErrorKind::Invalid, "GGUF: tensor '" + tensors_[i].name + "' wrote " +
                                            std::to_string(e.written - before) + " bytes instead of " +
                                            std::to_string(tensors_[i].bytes));
      e.pad(alignment_);
    }
    if (e.written - data_start != data_bytes_)
      throw Error(ErrorKind::Invalid, "GGUF: the data section came out at the wrong size");
  });
}

}  // namespace qs
