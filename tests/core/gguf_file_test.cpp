// The GGUF layer: a written file reads back key for key and byte for byte; ggml's own reader (llama.cpp
// v0.4.0's libggml-base, when installed) sees the same keys, tensors and offsets; and a set of corrupt
// files, each made by hand, gives one clear error naming the file and the field, never a crash or an
// allocation of a claimed size.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "io/gguf_file.hpp"
#include "io/mapped_file.hpp"
#include "quantscope/error.hpp"
#include "temp_dir.hpp"

#if defined(QS_LLAMA_LIB_DIR) && __has_include(<gguf.h>)
#include <gguf.h>
#define QS_HAVE_GGUF_HEADERS 1
#endif

namespace qs {
namespace {

namespace fs = std::filesystem;

// A GGUF written field by field, for files no writer would make.
struct Bytes {
  std::vector<uint8_t> b;
  template <class T>
  Bytes& put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    b.insert(b.end(), p, p + sizeof v);
    return *this;
  }
  Bytes& str(const std::string& s) {
    put<uint64_t>(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& pad(size_t a) {
    while (b.size() % a) b.push_back(0);
    return *this;
  }
  void save(const fs::path& p) const {
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
  }
};

// Header, one u32 key and one f32 [4, 2] tensor: the smallest well-formed file, built by parts so that
// each test can break one part.
struct Parts {
  uint32_t magic = 0x46554747, version = 3;
  uint64_t tensors = 1, keys = 1;
  std::string key = "general.alignment";
  uint32_t key_type = 4;  // u32
  uint32_t alignment = 32;
  std::string tensor = "weight";
  uint32_t dims = 2;
  int64_t d0 = 4, d1 = 2;
  uint32_t type = 0;  // f32
  uint64_t offset = 0;
  size_t data = 32;
  Bytes make() const {
    Bytes b;
    b.put(magic).put(version).put(tensors).put(keys).str(key).put(key_type).put(alignment);
    b.str(tensor).put(dims).put(d0);
    if (dims > 1) b.put(d1);
    b.put(type).put(offset).pad(32);
    for (size_t i = 0; i < data; ++i) b.b.push_back(uint8_t(i));
    return b;
  }
};

std::string open_error(const fs::path& p) {
  try {
    GgufFile::open(p);
  } catch (const Error& e) {
    return e.what();
  }
  return "opened";
}

TEST(GgufFile, HandMadeMinimalFileOpens) {
  test::TempDir dir;
  Parts().make().save(dir.path() / "ok.gguf");
  const GgufFile f = GgufFile::open(dir.path() / "ok.gguf");
  EXPECT_EQ(f.version(), 3u);
  ASSERT_EQ(f.tensors().size(), 1u);
  EXPECT_EQ(f.tensors()[0].bytes, 32u);
  EXPECT_EQ(f.uint_get("general.alignment"), 32u);
}

TEST(GgufFile, CorruptFilesGiveOneLineErrorsNamingFileAndField) {
  test::TempDir dir;
  struct Case {
    const char* name;
    Parts parts;
    const char* expect;
  };
  std::vector<Case> cases;
  const auto add = [&](const char* name, auto change, const char* expect) {
    Parts p;
    change(p);
    cases.push_back({name, p, expect});
  };
  add("magic", [](Parts& p) { p.magic = 0x46554748; }, "does not start with \"GGUF\"");
  add("v1", [](Parts& p) { p.version = 1; }, "version 1 is not read");
  add("v99", [](Parts& p) { p.version = 99; }, "version 99 is not one");
  add("keys", [](Parts& p) { p.keys = uint64_t(1) << 60; }, "key count");
  add("tensors", [](Parts& p) { p.tensors = uint64_t(1) << 60; }, "tensor count");
  add("key type", [](Parts& p) { p.key_type = 13; }, "unknown value type 13");
  add("alignment type", [](Parts& p) { p.key_type = 5; }, "general.alignment is i32, not u32");
  add("alignment", [](Parts& p) { p.alignment = 24; }, "alignment 24 is not a power of two");
  add("empty key", [](Parts& p) { p.key = ""; }, "key 0 is empty");
  add("dims", [](Parts& p) { p.dims = 5; }, "has 5 dimensions");
  add("zero dim", [](Parts& p) { p.d0 = 0; }, "dimension 0 is 0");
  add("huge dim", [](Parts& p) { p.d1 = int64_t(1) << 45; }, "dimension 1 is");
  add("type", [](Parts& p) { p.type = 77; }, "unknown ggml type 77");
  add("unsupported", [](Parts& p) { p.type = 16; }, "of type iq2_xxs, which Quantscope does not read");
  add("blocks", [](Parts& p) { p.type = 2; }, "rows of 4 weights are not whole q4_0 blocks");
  add("misaligned", [](Parts& p) { p.offset = 8; }, "offset 8 is not a multiple of the alignment 32");
  add("past end", [](Parts& p) { p.offset = 64; }, "runs past the end of the file");
  add("truncated", [](Parts& p) { p.data = 20; }, "runs past the end of the file");
  add("long name", [](Parts& p) { p.tensor = std::string(70, 'x'); }, "longer than 63 bytes");
  for (const Case& c : cases) {
    const fs::path path = dir.path() / (std::string(c.name) + ".gguf");
    c.parts.make().save(path);
    const std::string message = open_error(path);
    EXPECT_NE(message.find(c.expect), std::string::npos) << c.name << ": " << message;
    EXPECT_EQ(message.rfind(path.string() + ": GGUF: ", 0), 0u) << c.name << ": " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << c.name;
  }
  // A string length and an array count far beyond the file, and a duplicate key.
  Bytes absurd;
  absurd.put(uint32_t(0x46554747)).put(uint32_t(3)).put(uint64_t(0)).put(uint64_t(1));
  absurd.str("a").put(uint32_t(8)).put(uint64_t(1) << 62);
  absurd.save(dir.path() / "string.gguf");
  EXPECT_NE(open_error(dir.path() / "string.gguf").find("key 'a' claims 4611686018427387904 bytes"), std::string::npos)
      << open_error(dir.path() / "string.gguf");
  Bytes array;
  array.put(uint32_t(0x46554747)).put(uint32_t(3)).put(uint64_t(0)).put(uint64_t(1));
  array.str("a").put(uint32_t(9)).put(uint32_t(6)).put(uint64_t(1) << 61);
  array.save(dir.path() / "array.gguf");
  EXPECT_NE(open_error(dir.path() / "array.gguf").find("claims 2305843009213693952 f32 elements"), std::string::npos)
      << open_error(dir.path() / "array.gguf");
  Bytes twice;
  twice.put(uint32_t(0x46554747)).put(uint32_t(3)).put(uint64_t(0)).put(uint64_t(2));
  twice.str("a").put(uint32_t(4)).put(uint32_t(1)).str("a").put(uint32_t(4)).put(uint32_t(2));
  twice.save(dir.path() / "twice.gguf");
  EXPECT_NE(open_error(dir.path() / "twice.gguf").find("key 'a' appears twice"), std::string::npos);
  // Two tensors over the same bytes.
  Bytes overlap;
  overlap.put(uint32_t(0x46554747)).put(uint32_t(3)).put(uint64_t(2)).put(uint64_t(0));
  for (const char* name : {"a", "b"}) overlap.str(name).put(uint32_t(1)).put(int64_t(16)).put(uint32_t(0)).put(uint64_t(0));
  overlap.pad(32);
  overlap.b.resize(overlap.b.size() + 64);
  overlap.save(dir.path() / "overlap.gguf");
  EXPECT_NE(open_error(dir.path() / "overlap.gguf").find("tensors 'a' and 'b' overlap"), std::string::npos)
      << open_error(dir.path() / "overlap.gguf");
}

TEST(GgufFile, EveryTruncationIsAnErrorNotACrash) {
  test::TempDir dir;
  const Bytes whole = Parts().make();
  for (size_t cut = 0; cut < whole.b.size(); ++cut) {
    Bytes part;
    part.b.assign(whole.b.begin(), whole.b.begin() + long(cut));
    const fs::path path = dir.path() / "cut.gguf";
    fs::remove(path);
    part.save(path);
    EXPECT_NE(open_error(path), "opened") << "cut at " << cut;
  }
}

GgufWriter sample_writer() {
  GgufWriter w;
  w.metadata_set("general.architecture", GgufValue::string("llama"));
  w.metadata_set("llama.block_count", GgufValue::u32(2));
  w.metadata_set("llama.rope.freq_base", GgufValue::f32(10000.0f));
  w.metadata_set("tokenizer.ggml.tokens", GgufValue::strings_array({"<unk>", "<s>", "é"}));
  w.metadata_set("tokenizer.ggml.scores", GgufValue::f32_array({0.0f, -1.5f, 2.25f}));
  w.metadata_set("tokenizer.ggml.token_type", GgufValue::i32_array({2, 3, 1}));
  w.metadata_set("general.flag", GgufValue::boolean(true));
  w.tensor_add("token_embd.weight", {8, 3}, 0);   // f32
  w.tensor_add("blk.0.attn_q.weight", {64, 2}, 2);  // q4_0: 2 blocks a row
  w.tensor_add("blk.0.ffn_down.weight", {256, 1}, 14);  // q6_K
  return w;
}

void sample_write(const GgufWriter& w, const fs::path& path) {
  w.write(path, [&](size_t i, const ByteSink& sink) {
    std::vector<uint8_t> bytes(size_t(w.tensors()[i].bytes));
    for (size_t k = 0; k < bytes.size(); ++k) bytes[k] = uint8_t(17 * i + k);
    sink(bytes.data(), bytes.size());
  });
}

TEST(GgufFile, WrittenFileReadsBack) {
  test::TempDir dir;
  const GgufWriter w = sample_writer();
  sample_write(w, dir.path() / "m.gguf");
  EXPECT_EQ(fs::file_size(dir.path() / "m.gguf"), w.file_bytes());
  const GgufFile f = GgufFile::open(dir.path() / "m.gguf");
  EXPECT_EQ(f.string_get("general.architecture"), "llama");
  EXPECT_EQ(f.uint_get("llama.block_count"), 2u);
  EXPECT_EQ(f.float_get("llama.rope.freq_base"), 10000.0);
  EXPECT_EQ(f.find("tokenizer.ggml.tokens")->strings, (std::vector<std::string>{"<unk>", "<s>", "é"}));
  EXPECT_EQ(f.find("tokenizer.ggml.scores")->floats, (std::vector<double>{0.0, -1.5, 2.25}));
  EXPECT_EQ(f.find("tokenizer.ggml.token_type")->ints, (std::vector<int64_t>{2, 3, 1}));
  EXPECT_EQ(f.find("general.flag")->ints.at(0), 1);
  ASSERT_EQ(f.tensors().size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const GgufTensorInfo& t = f.tensors()[i];
    EXPECT_EQ(t.name, w.tensors()[i].name);
    EXPECT_EQ(t.dims, w.tensors()[i].dims);
    EXPECT_EQ(t.bytes, w.tensors()[i].bytes);
    EXPECT_EQ(t.offset % 32, 0u);
    const auto* data = reinterpret_cast<const uint8_t*>(f.file()->data()) + f.data_offset() + t.offset;
    for (size_t k = 0; k < t.bytes; ++k) ASSERT_EQ(data[k], uint8_t(17 * i + k)) << t.name << " byte " << k;
  }
  EXPECT_EQ(f.tensors()[1].bytes, 2u * 2 * 18);  // 2 rows of 2 q4_0 blocks
  EXPECT_EQ(f.tensors()[2].bytes, 210u);
  EXPECT_THROW(f.string_get("llama.block_count"), Error);
  EXPECT_THROW(f.uint_get("absent"), Error);
}

TEST(GgufFile, WriterRefusesRowsOfPartialBlocks) {
  GgufWriter w;
  EXPECT_THROW(w.tensor_add("x", {100, 2}, 12), Error);  // q4_K needs rows of 256
}

#ifdef QS_HAVE_GGUF_HEADERS
TEST(GgufFile, GgmlsOwnReaderSeesWhatWeWrote) {
  void* lib = dlopen((std::string(QS_LLAMA_LIB_DIR) + "/libggml-base.so").c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) GTEST_SKIP() << "llama.cpp's libggml-base: " << dlerror();
  const auto sym = [&](const char* name) {
    void* p = dlsym(lib, name);
    EXPECT_NE(p, nullptr) << name;
    return p;
  };
  const auto init = reinterpret_cast<decltype(&gguf_init_from_file)>(sym("gguf_init_from_file"));
  const auto free_ctx = reinterpret_cast<decltype(&gguf_free)>(sym("gguf_free"));
  const auto n_tensors = reinterpret_cast<decltype(&gguf_get_n_tensors)>(sym("gguf_get_n_tensors"));
  const auto tensor_name = reinterpret_cast<decltype(&gguf_get_tensor_name)>(sym("gguf_get_tensor_name"));
  const auto tensor_type = reinterpret_cast<decltype(&gguf_get_tensor_type)>(sym("gguf_get_tensor_type"));
  const auto tensor_offset = reinterpret_cast<decltype(&gguf_get_tensor_offset)>(sym("gguf_get_tensor_offset"));
  const auto tensor_size = reinterpret_cast<decltype(&gguf_get_tensor_size)>(sym("gguf_get_tensor_size"));
  const auto data_offset = reinterpret_cast<decltype(&gguf_get_data_offset)>(sym("gguf_get_data_offset"));
  const auto find_key = reinterpret_cast<decltype(&gguf_find_key)>(sym("gguf_find_key"));
  const auto get_str = reinterpret_cast<decltype(&gguf_get_val_str)>(sym("gguf_get_val_str"));
  const auto get_u32 = reinterpret_cast<decltype(&gguf_get_val_u32)>(sym("gguf_get_val_u32"));
  const auto arr_n = reinterpret_cast<decltype(&gguf_get_arr_n)>(sym("gguf_get_arr_n"));
  const auto arr_str = reinterpret_cast<decltype(&gguf_get_arr_str)>(sym("gguf_get_arr_str"));
  test::TempDir dir;
  const GgufWriter w = sample_writer();
  sample_write(w, dir.path() / "m.gguf");
  gguf_init_params params{};
  params.no_alloc = true;
  gguf_context* ctx = init((dir.path() / "m.gguf").c_str(), params);
  ASSERT_NE(ctx, nullptr) << "ggml refused the file";
  const GgufFile ours = GgufFile::open(dir.path() / "m.gguf");
  EXPECT_EQ(data_offset(ctx), ours.data_offset());
  ASSERT_EQ(n_tensors(ctx), 3);
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(std::string(tensor_name(ctx, i)), ours.tensors()[size_t(i)].name);
    EXPECT_EQ(uint32_t(tensor_type(ctx, i)), ours.tensors()[size_t(i)].type);
    EXPECT_EQ(tensor_offset(ctx, i), ours.tensors()[size_t(i)].offset);
    EXPECT_EQ(tensor_size(ctx, i), ours.tensors()[size_t(i)].bytes);
  }
  EXPECT_EQ(std::string(get_str(ctx, find_key(ctx, "general.architecture"))), "llama");
  EXPECT_EQ(get_u32(ctx, find_key(ctx, "llama.block_count")), 2u);
  const int64_t tokens = find_key(ctx, "tokenizer.ggml.tokens");
  ASSERT_EQ(arr_n(ctx, tokens), 3u);
  EXPECT_EQ(std::string(arr_str(ctx, tokens, 2)), "é");
  free_ctx(ctx);
}
#endif

}  // namespace
}  // namespace qs
