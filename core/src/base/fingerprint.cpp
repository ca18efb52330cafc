// FNV-1a (see fingerprint.hpp).
#include "base/fingerprint.hpp"

#include <cstdio>

namespace qs {

uint64_t fingerprint_update(uint64_t h, std::string_view bytes) {
  for (const unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string fingerprint_hex(uint64_t h) {
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
  return out;
}

std::string text_fingerprint(std::string_view text) { return fingerprint_hex(fingerprint_update(kFingerprintSeed, text)); }

}  // namespace qs
