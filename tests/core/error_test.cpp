// qs::Error's promise to the CLI and the GUI: a message is one line whatever text a damaged file put
// into it (the GGUF fuzzer found key names with newlines and control bytes in them).
#include <gtest/gtest.h>

#include <string>

#include "quantscope/error.hpp"

TEST(Error, MessagesAreOneLineWhateverTheyQuote) {
  const std::string key = std::string("tokenizer.\n\r\t") + char(0x01) + char(0x7f) + "\xc3\xa9";
  const qs::Error e(qs::ErrorKind::Format, "model.gguf: GGUF: key '" + key + "' has unknown value type 7");
  EXPECT_STREQ(e.what(), "model.gguf: GGUF: key 'tokenizer.\\n\\r\\t\\x01\\x7f\xc3\xa9' has unknown value type 7");
  EXPECT_EQ(e.kind(), qs::ErrorKind::Format);
}

TEST(Error, PrintableMessagesAreUnchanged) {
  const std::string message = "plan.json: layer 'model.layers.0.mlp.up_proj': unknown format 'kmeans9' (UTF-8: é)";
  EXPECT_EQ(qs::Error(qs::ErrorKind::Invalid, message).what(), message);
}
