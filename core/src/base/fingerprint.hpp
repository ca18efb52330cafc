// 64-bit FNV-1a fingerprints: names experiment cache entries and identifies texts and the files a
// model was read from. Not cryptographic: a collision is caught where it matters by comparing the
// whole description (experiment_cache.hpp).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace qs {

constexpr uint64_t kFingerprintSeed = 14695981039346656037ull;

// Continues the fingerprint `h` over `bytes`.
uint64_t fingerprint_update(uint64_t h, std::string_view bytes);
// 16 hex digits.
std::string fingerprint_hex(uint64_t h);
// fingerprint_hex(fingerprint_update(kFingerprintSeed, text)).
std::string text_fingerprint(std::string_view text);

}  // namespace qs
