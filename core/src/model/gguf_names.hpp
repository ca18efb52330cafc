// llama.cpp's names for the tensors of a llama model (blk.N.attn_q.weight, token_embd.weight) against
// Hugging Face's, in one table read both ways: the GGUF exporter names what it writes, the GGUF reader
// names what it finds.
#pragma once
#include <string>

namespace qs {

// llama.cpp's name of an HF tensor, or empty for one the llama architecture does not have.
std::string gguf_name_from_hf(const std::string& hf);
// The HF name of a llama.cpp tensor, or empty for one Quantscope's Llama does not have.
std::string gguf_name_to_hf(const std::string& gguf);

}  // namespace qs
