// The sentencepiece tokenizer over stories260K's tok512.model, and its errors.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "core/temp_dir.hpp"
#include "quantscope/error.hpp"
#include "quantscope/tokenizer.hpp"

namespace qs {
namespace {

const std::filesystem::path kTok512 = std::filesystem::path(QS_DATA_DIR) / "models" / "stories260K" / "tok512.model";

TEST(Tokenizer, Tok512RoundTrip) {
  if (!std::filesystem::exists(kTok512)) GTEST_SKIP() << "tok512.model not found at " << kTok512;
  const auto tok = Tokenizer::open(kTok512);
  EXPECT_EQ(tok->vocab_size(), 512);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_EQ(tok->piece(1), "<s>");
  const std::string text = "Once upon a time, there was a little girl named Lily.";
  const std::vector<int> ids = tok->encode(text);
  ASSERT_FALSE(ids.empty());
  EXPECT_LT(ids.size(), text.size());  // merges happen: fewer tokens than bytes
  for (int id : ids) EXPECT_GT(id, 2);  // no BOS/EOS added
  EXPECT_EQ(tok->decode(ids), text);
  // Characters outside the vocabulary fall back to bytes and still round-trip.
  const std::string unusual = "naïve ☃";
  EXPECT_EQ(tok->decode(tok->encode(unusual)), unusual);
  EXPECT_THROW(tok->decode({1000}), Error);
}

TEST(Tokenizer, ConcurrentEncodeAgrees) {
  if (!std::filesystem::exists(kTok512)) GTEST_SKIP() << "tok512.model not found at " << kTok512;
  const auto tok = Tokenizer::open(kTok512);
  const std::string text = "The little dog ran to the park and played with a red ball.";
  const std::vector<int> expected = tok->encode(text);
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i)
        if (tok->encode(text) != expected || tok->decode(expected) != text) ++mismatches;
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches, 0);
}

TEST(Tokenizer, MissingFileIsIoAndGarbageIsFormat) {
  test::TempDir dir;
  try {
    Tokenizer::open(dir / "absent.model");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Io);
    EXPECT_NE(std::string(e.what()).find("absent.model"), std::string::npos);
  }
  test::bytes_write(dir / "garbage.model", "this is not a protobuf");
  try {
    Tokenizer::open(dir / "garbage.model");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Format);
    EXPECT_NE(std::string(e.what()).find("garbage.model"), std::string::npos);
  }
}

}  // namespace
}  // namespace qs
