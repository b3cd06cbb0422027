/**
 * MLX's packing (ml-explore/mlx mlx/ops.cpp `quantize`, mlx/backend/metal/kernels/quantized.h): each row is one little-endian bit stream; code i takes
 * stream bits [i*b, i*b+b), LSB first; stream bit k is bit k%32 of word k/32. No padding for 3/5/6 bits.
 */

/** Packs `codes` (each < 2^bits) into ceil(n*bits/32) uint32 words. */
export function packCodes(codes: ArrayLike<number>, bits: number): Uint32Array {
  const out = new Uint32Array(Math.ceil((codes.length * bits) / 32));
  packInto(codes, 0, codes.length, bits, out, 0);
  return out;
}

/** Packs codes[from, from+count) starting at stream bit 0 of out[wordOffset]. */
export function packInto(
  codes: ArrayLike<number>,
  from: number,
  count: number,
  bits: number,
  out: Uint32Array,
  wordOffset: number,
): void {
  const mask = (1 << bits) - 1;
  for (let i = 0; i < count; i++) {
    const c = codes[from + i] & mask;
    const bit = i * bits;
    const w = wordOffset + (bit >>> 5);
    const shift = bit & 31;
    out[w] = (out[w] | (c << shift)) >>> 0;
    if (shift + bits > 32) out[w + 1] = (out[w + 1] | (c >>> (32 - shift))) >>> 0;
  }
}

/** Reads `count` codes of `bits` bits starting at stream bit 0 of words[wordOffset]. */
export function unpackCodes(words: Uint32Array, bits: number, count: number, wordOffset = 0): Uint8Array {
  const out = new Uint8Array(count);
  const mask = (1 << bits) - 1;
  for (let i = 0; i < count; i++) {
    const bit = i * bits;
    const w = wordOffset + (bit >>> 5);
    const shift = bit & 31;
    let c = words[w] >>> shift;
    if (shift + bits > 32) c |= words[w + 1] << (32 - shift);
    out[i] = c & mask;
  }
  return out;
}

/** Little-endian uint32 words of a Buffer (copied, so any byte offset works). */
export function wordsOf(buf: Uint8Array): Uint32Array {
  const out = new Uint32Array(buf.byteLength >>> 2);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint32(i * 4, true);
  return out;
}

/** uint32 words -> little-endian bytes. */
export function bytesOfWords(words: Uint32Array): Buffer {
  const out = Buffer.alloc(words.length * 4);
  for (let i = 0; i < words.length; i++) out.writeUInt32LE(words[i], i * 4);
  return out;
}
