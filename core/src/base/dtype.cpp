// The safetensors dtype table: names, widths and which types Quantscope can compute with.
#include "quantscope/dtype.hpp"

#include <array>

namespace qs {
namespace {

struct DTypeRow {
  DType dtype;
  std::string_view name;
  int bits;
  bool computable;
};

// Signed integers, U8 and BOOL are computable (LibTorch has them); LibTorch 1.13 has no U16/U32/U64.
// The F8/F6/F4 families and complex numbers are recognised so that a reader can name them, but
// nothing converts them.
constexpr std::array<DTypeRow, 22> kDTypes = {{
    {DType::BOOL, "BOOL", 8, true},          {DType::U8, "U8", 8, true},
    {DType::I8, "I8", 8, true},              {DType::I16, "I16", 16, true},
    {DType::U16, "U16", 16, false},          {DType::F16, "F16", 16, true},
    {DType::BF16, "BF16", 16, true},         {DType::I32, "I32", 32, true},
    {DType::U32, "U32", 32, false},          {DType::F32, "F32", 32, true},
    {DType::F64, "F64", 64, true},           {DType::I64, "I64", 64, true},
    {DType::U64, "U64", 64, false},          {DType::C64, "C64", 64, false},
    {DType::F8_E5M2, "F8_E5M2", 8, false},   {DType::F8_E4M3, "F8_E4M3", 8, false},
    {DType::F8_E8M0, "F8_E8M0", 8, false},   {DType::F8_E4M3FNUZ, "F8_E4M3FNUZ", 8, false},
    {DType::F8_E5M2FNUZ, "F8_E5M2FNUZ", 8, false}, {DType::F4, "F4", 4, false},
    {DType::F6_E2M3, "F6_E2M3", 6, false},   {DType::F6_E3M2, "F6_E3M2", 6, false},
}};

const DTypeRow& row(DType dtype) {
  for (const auto& r : kDTypes)
    if (r.dtype == dtype) return r;
  return kDTypes[0];  // unreachable: the table covers the enum
}

}  // namespace

std::string_view dtype_name(DType dtype) { return row(dtype).name; }

std::optional<DType> dtype_parse(std::string_view name) {
  for (const auto& r : kDTypes)
    if (r.name == name) return r.dtype;
  return std::nullopt;
}

int dtype_bits(DType dtype) { return row(dtype).bits; }

bool dtype_computable(DType dtype) { return row(dtype).computable; }

}  // namespace qs
