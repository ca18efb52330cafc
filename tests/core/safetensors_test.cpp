// safetensors: a round trip over every dtype (0-d and zero-sized tensors, metadata, header padding,
// atomic output), and one test per way a file can violate the format, each checking the error kind
// and that the one-line message names the file and, where there is one, the tensor.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/temp_dir.hpp"
#include "quantscope/error.hpp"
#include "quantscope/safetensors.hpp"
#include "io/safetensors_torch.hpp"

namespace qs {
namespace {

using test::TempDir;

const std::vector<DType> kAllDTypes = {
    DType::BOOL, DType::U8, DType::I8, DType::I16, DType::U16, DType::F16, DType::BF16, DType::I32,
    DType::U32, DType::F32, DType::F64, DType::I64, DType::U64, DType::C64, DType::F8_E5M2, DType::F8_E4M3,
    DType::F8_E8M0, DType::F8_E4M3FNUZ, DType::F8_E5M2FNUZ, DType::F4, DType::F6_E2M3, DType::F6_E3M2};

std::string u64_le(uint64_t v) {
  std::string s(8, '\0');
  std::memcpy(s.data(), &v, 8);
  return s;
}

// A file with the given header text (not padded) and `data_bytes` bytes of buffer.
std::filesystem::path raw_write(const TempDir& dir, const std::string& header, size_t data_bytes) {
  const auto path = dir / "bad.safetensors";
  test::bytes_write(path, u64_le(header.size()) + header + std::string(data_bytes, '\x01'));
  return path;
}

// Opens `path`, expecting a Format error whose message names the file and (when given) the tensor
// and `detail`.
void expect_format_error(const std::filesystem::path& path, const std::string& tensor, const std::string& detail = {}) {
  try {
    SafetensorsFile::open(path);
    FAIL() << "no error for " << path;
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::Format) << message;
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    if (!tensor.empty()) EXPECT_NE(message.find("\"" + tensor + "\""), std::string::npos) << message;
    if (!detail.empty()) EXPECT_NE(message.find(detail), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
  }
}

TEST(Safetensors, RoundTripEveryDtypeWithMetadataAndPadding) {
  TempDir dir;
  std::vector<std::string> payloads;
  std::vector<TensorWrite> writes;
  const std::vector<int64_t> shape = {2, 3};
  for (size_t i = 0; i < kAllDTypes.size(); ++i) {
    const size_t bytes = (6 * size_t(dtype_bits(kAllDTypes[i])) + 7) / 8;
    std::string payload(bytes, '\0');
    for (size_t b = 0; b < bytes; ++b) payload[b] = char((i * 31 + b * 7) & 0xff);
    payloads.push_back(payload);
  }
  for (size_t i = 0; i < kAllDTypes.size(); ++i)
    writes.push_back({"t." + std::string(dtype_name(kAllDTypes[i])), kAllDTypes[i], shape,
                      std::as_bytes(std::span(payloads[i].data(), payloads[i].size()))});
  const float scalar = 3.25f;
  writes.push_back({"scalar", DType::F32, {}, std::as_bytes(std::span(&scalar, 1))});
  writes.push_back({"empty", DType::BF16, {0, 5}, {}});
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"note", "round trip"}};
  const auto path = dir / "all.safetensors";
  safetensors_write(path, writes, metadata);

  // Header length is a multiple of 8, and the buffer starts right after it.
  const std::string raw = test::bytes_read(path);
  uint64_t header_len;
  std::memcpy(&header_len, raw.data(), 8);
  EXPECT_EQ(header_len % 8, 0u);
  EXPECT_EQ(raw.compare(8 + header_len, payloads[0].size(), payloads[0]), 0);

  const SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_EQ(file.metadata(), metadata);
  ASSERT_EQ(file.tensors().size(), writes.size());
  for (const TensorWrite& w : writes) {
    const TensorInfo& info = file.at(w.name);
    EXPECT_EQ(info.dtype, w.dtype) << w.name;
    EXPECT_EQ(info.shape, w.shape) << w.name;
    const auto bytes = file.bytes(info);
    ASSERT_EQ(bytes.size(), w.data.size()) << w.name;
    EXPECT_EQ(std::memcmp(bytes.data(), w.data.data(), bytes.size()), 0) << w.name;
  }
  EXPECT_EQ(file.at("scalar").numel(), 1);
  EXPECT_EQ(file.at("empty").numel(), 0);
  EXPECT_EQ(safetensors_tensor(file, file.at("scalar")).item<float>(), 3.25f);
  // Nothing but the file itself is left in the folder (the temporary was renamed).
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()), 1);
}

TEST(Safetensors, ComputableTensorsConvertToTorch) {
  TempDir dir;
  const std::vector<float> values = {1.5f, -2.f, 0.f, 7.f};
  const auto path = dir / "f.safetensors";
  safetensors_write(path, {{"w", DType::F32, {2, 2}, std::as_bytes(std::span(values))}});
  const SafetensorsFile file = SafetensorsFile::open(path);
  const torch::Tensor t = safetensors_tensor(file, file.at("w"));
  EXPECT_TRUE(torch::equal(t, torch::tensor({1.5f, -2.f, 0.f, 7.f}).reshape({2, 2})));
}

TEST(Safetensors, Fp8IsRecognisedButNotComputable) {
  TempDir dir;
  const std::string data(4, '\x38');
  const auto path = dir / "fp8.safetensors";
  safetensors_write(path, {{"w8", DType::F8_E4M3, {4}, std::as_bytes(std::span(data.data(), data.size()))}});
  const SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_EQ(file.at("w8").dtype, DType::F8_E4M3);
  EXPECT_FALSE(dtype_computable(DType::F8_E4M3));
  try {
    safetensors_tensor(file, file.at("w8"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
    const std::string m = e.what();
    EXPECT_NE(m.find(path.string()), std::string::npos);
    EXPECT_NE(m.find("w8"), std::string::npos);
    EXPECT_NE(m.find("F8_E4M3"), std::string::npos);
  }
}

TEST(Safetensors, WriterRejectsWrongSizeAndLeavesNoFile) {
  TempDir dir;
  const std::vector<float> values = {1.f, 2.f, 3.f};
  EXPECT_THROW(safetensors_write(dir / "x.safetensors", {{"w", DType::F32, {2, 2}, std::as_bytes(std::span(values))}}),
               Error);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(SafetensorsMalformed, ShorterThanEightBytes) {
  TempDir dir;
  const auto path = dir / "short.safetensors";
  test::bytes_write(path, "\x02\x00\x00");
  expect_format_error(path, "", "shorter than");
}

TEST(SafetensorsMalformed, HeaderLengthBeyondFile) {
  TempDir dir;
  const auto path = dir / "bad.safetensors";
  test::bytes_write(path, u64_le(1000) + "{}");
  expect_format_error(path, "", "past the end");
}

TEST(SafetensorsMalformed, HeaderLengthOverLimit) {
  TempDir dir;
  const auto path = dir / "bad.safetensors";
  test::bytes_write(path, u64_le(100'000'001) + "{}");
  expect_format_error(path, "", "exceeds the limit");
}

TEST(SafetensorsMalformed, HeaderNotStartingWithBrace) {
  TempDir dir;
  expect_format_error(raw_write(dir, " {}", 0), "", "'{'");
}

TEST(SafetensorsMalformed, HeaderNotAnObject) {
  TempDir dir;
  expect_format_error(raw_write(dir, "[1, 2]", 0), "", "'{'");
}

TEST(SafetensorsMalformed, InvalidJson) {
  TempDir dir;
  expect_format_error(raw_write(dir, R"({"w": {"dtype": "F32",)", 0), "", "header: invalid JSON");
}

TEST(SafetensorsMalformed, EntryNotAnObject) {
  TempDir dir;
  expect_format_error(raw_write(dir, R"({"w": [1, 2]})", 0), "w", "not an object");
}

TEST(SafetensorsMalformed, MissingDtype) {
  TempDir dir;
  expect_format_error(raw_write(dir, R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", 4), "w", "dtype");
}

TEST(SafetensorsMalformed, MissingShape) {
  TempDir dir;
  expect_format_error(raw_write(dir, R"({"w": {"dtype": "F32", "data_offsets": [0, 4]}})", 4), "w", "shape");
}

TEST(SafetensorsMalformed, MissingDataOffsets) {
  TempDir dir;
  expect_format_error(raw_write(dir, R"({"w": {"dtype": "F32", "shape": [1]}})", 4), "w", "data_offsets");
}

TEST(SafetensorsMalformed, DtypeNotAString) {
  TempDir dir;
  expect_format_error(raw_write(dir, R"({"w": {"dtype": 7, "shape": [1], "data_offsets": [0, 4]}})", 4), "w",
                      "\"dtype\" is not a string");
}

TEST(SafetensorsMalformed, ShapeNotAnArrayOfIntegers) {
  TempDir dir;
  expect_format_error(raw_write(dir, R"({"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})", 4), "w",
                      "not an integer");
}

TEST(SafetensorsMalformed, DataOffsetsNotAPair) {
  TempDir dir;
  expect_format_error(raw_write(dir, R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4]}})", 4), "w",
                      "data_offsets");
}

TEST(SafetensorsMalformed, UnknownDtype) {
  TempDir dir;
  expect_format_error(raw_write(dir, R"({"w": {"dtype": "F12", "shape": [1], "data_offsets": [0, 4]}})", 4), "w",
                      "unknown dtype \"F12\"");
}

TEST(SafetensorsMalformed, NegativeDimension) {
  TempDir dir;
  expect_format_error(raw_write(dir, R"({"w": {"dtype": "F32", "shape": [-1, 2], "data_offsets": [0, 8]}})", 8), "w",
                      "negative dimension");
}

TEST(SafetensorsMalformed, ByteRangeNotShapeTimesElementSize) {
  TempDir dir;
  expect_format_error(raw_write(dir, R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", 8), "w",
                      "needs 12");
}

TEST(SafetensorsMalformed, EndBeforeBegin) {
  TempDir dir;
  expect_format_error(raw_write(dir, R"({"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}})", 8), "w",
                      "before begin");
}

TEST(SafetensorsMalformed, RangeOutsideBuffer) {
  TempDir dir;
  expect_format_error(raw_write(dir, R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", 8), "w",
                      "outside");
}

TEST(SafetensorsMalformed, OverlappingRanges) {
  TempDir dir;
  const std::string header = R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                             R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})";
  expect_format_error(raw_write(dir, header, 12), "b", "overlaps tensor \"a\"");
}

TEST(SafetensorsMalformed, HoleBetweenTensors) {
  TempDir dir;
  const std::string header = R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
                             R"( "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}})";
  expect_format_error(raw_write(dir, header, 12), "b", "holes");
}

TEST(SafetensorsMalformed, UnusedTailAfterLastTensor) {
  TempDir dir;
  expect_format_error(raw_write(dir, R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", 8), "",
                      "4 unused bytes at the end");
}

TEST(SafetensorsMalformed, DuplicateKeys) {
  TempDir dir;
  const std::string header = R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
                             R"( "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})";
  expect_format_error(raw_write(dir, header, 8), "w", "duplicate key");
}

TEST(SafetensorsMalformed, MetadataNotAnObject) {
  TempDir dir;
  expect_format_error(raw_write(dir, R"({"__metadata__": "pt"})", 0), "", "__metadata__");
}

TEST(SafetensorsMalformed, MetadataValueNotAString) {
  TempDir dir;
  expect_format_error(raw_write(dir, R"({"__metadata__": {"format": "pt", "step": 5}})", 0), "",
                      "__metadata__ value of \"step\" is not a string");
}

TEST(SafetensorsMalformed, MissingFileIsAnIoError) {
  TempDir dir;
  try {
    SafetensorsFile::open(dir / "absent.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Io);
    EXPECT_NE(std::string(e.what()).find("absent.safetensors"), std::string::npos);
  }
}

}  // namespace
}  // namespace qs
