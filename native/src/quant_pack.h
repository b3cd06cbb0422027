// MLX packing of b-bit codes into uint32 words (reference/mlx-format.md §3): one little-endian bit
// stream per row, code i at stream bits [i*b, i*b+b), LSB first. So every 8 consecutive codes fill
// exactly b bytes; groups hold a multiple of 8 codes and start on a word boundary.
#pragma once
#include <cstdint>
#include <cstring>

#include "quant_io.h"

namespace mtpkit {
namespace quant {

// Hosts are little-endian (x86-64, arm64): byte order in memory is the stream order.
inline uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline void store_u32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }

// Repeats the low `bits` bits pattern of mask into every `lane`-bit lane of a u64.
constexpr uint64_t lane_mask(int lane, int bits) {
  uint64_t m = 0;
  for (int i = 0; i < 64; i += lane) m |= ((uint64_t(1) << bits) - 1) << i;
  return m;
}

// 8 codes, one per byte of x (each < 2^B) -> the 8B-bit stream value, by merging neighbours:
// bytes into 16-bit lanes, those into 32-bit lanes, then into one value. At each level the low
// element stays and the high one moves down next to it; masks drop the bits that do not belong.
template <int B>
MTPKIT_QUANT_INLINE uint64_t merge8(uint64_t x) {
  constexpr uint64_t m1 = lane_mask(16, B), m2 = lane_mask(32, 2 * B), m3 = (uint64_t(1) << (4 * B)) - 1;
  x = (x & m1) | ((x >> (8 - B)) & (m1 << B));
  x = (x & m2) | ((x >> (16 - 2 * B)) & (m2 << (2 * B)));
  x = (x & m3) | ((x >> (32 - 4 * B)) & (m3 << (4 * B)));
  return x;
}

// Inverse of merge8: the 8B-bit stream value -> one code per byte.
template <int B>
inline uint64_t split8(uint64_t x) {
  constexpr uint64_t m1 = lane_mask(16, B), m2 = lane_mask(32, 2 * B), m3 = (uint64_t(1) << (4 * B)) - 1;
  x = (x & m3) | (((x >> (4 * B)) & m3) << 32);
  x = (x & m2) | (((x >> (2 * B)) & m2) << 16);
  x = (x & m1) | (((x >> B) & m1) << 8);
  return x;
}

// Packs n codes (one per byte, n a multiple of 8) into n*B/8 bytes.
template <int B>
MTPKIT_QUANT_INLINE void pack_codes(const uint8_t* codes, int n, uint8_t* out) {
  if constexpr (B == 8) {
    std::memcpy(out, codes, size_t(n));
  } else {
    for (int j = 0; j < n / 8; ++j) {
      uint64_t x;
      std::memcpy(&x, codes + 8 * j, 8);
      x = merge8<B>(x);
      std::memcpy(out + B * j, &x, B);  // the low B bytes
    }
  }
}

// Inverse of pack_codes.
template <int B>
inline void unpack_codes(const uint8_t* in, int n, uint8_t* codes) {
  if constexpr (B == 8) {
    std::memcpy(codes, in, size_t(n));
  } else {
    for (int j = 0; j < n / 8; ++j) {
      uint64_t x = 0;
      std::memcpy(&x, in + B * j, B);
      x = split8<B>(x);
      std::memcpy(codes + 8 * j, &x, 8);
    }
  }
}

}  // namespace quant
}  // namespace mtpkit
