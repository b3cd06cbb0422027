/** Byte-level tensor operations the executor applies to row-major little-endian data. */
import { DTYPE_BYTES, numel, type DType } from '../safetensors/types';
import type { AxisSlice } from '../plan/types';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../numeric/float-bits';
import { MtpkitError } from '../errors';

export interface ByteRange {
  /** Offset inside the tensor's data. */
  start: number;
  end: number;
}

/**
 * Byte ranges (inside the tensor data) that make up a slice along one axis, in output order.
 * Adjacent ranges are merged, so a slice along axis 0 is one range.
 */
export function sliceByteRanges(shape: readonly number[], dtype: DType, slice: AxisSlice): ByteRange[] {
  const { axis, start, end } = slice;
  if (axis < 0 || axis >= shape.length || start < 0 || end > shape[axis] || start > end) {
    throw new MtpkitError(`invalid slice axis ${axis} [${start}, ${end}) of shape [${shape}]`);
  }
  const outer = numel(shape.slice(0, axis));
  const inner = numel(shape.slice(axis + 1)) * DTYPE_BYTES[dtype];
  const ranges: ByteRange[] = [];
  for (let o = 0; o < outer; o++) {
    const s = (o * shape[axis] + start) * inner;
    const e = (o * shape[axis] + end) * inner;
    const last = ranges[ranges.length - 1];
    if (last && last.end === s) last.end = e;
    else if (e > s) ranges.push({ start: s, end: e });
  }
  return ranges;
}

/** Moves axis `from` to position `to` (numpy moveaxis), returning a new buffer. */
export function moveAxis(data: Buffer, shape: readonly number[], dtype: DType, from: number, to: number): Buffer {
  const nd = shape.length;
  const order = [...Array(nd).keys()];
  order.splice(from, 1);
  order.splice(to, 0, from);
  return transpose(data, shape, DTYPE_BYTES[dtype], order);
}

/** out[i_0..i_n] = in[index permuted by order]; order[k] = which input axis becomes output axis k. */
function transpose(data: Buffer, shape: readonly number[], elem: number, order: number[]): Buffer {
  const nd = shape.length;
  const inStrides = new Array<number>(nd);
  let s = 1;
  for (let k = nd - 1; k >= 0; k--) {
    inStrides[k] = s;
    s *= shape[k];
  }
  const outShape = order.map((a) => shape[a]);
  const strideForOut = order.map((a) => inStrides[a]);
  const out = Buffer.allocUnsafe(data.length);
  const idx = new Array<number>(nd).fill(0);
  const total = numel(shape);
  for (let o = 0; o < total; o++) {
    let src = 0;
    for (let k = 0; k < nd; k++) src += idx[k] * strideForOut[k];
    data.copy(out, o * elem, src * elem, src * elem + elem);
    for (let k = nd - 1; k >= 0; k--) {
      if (++idx[k] < outShape[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

/**
 * v + 1 for every element, computed in f32 and rounded to the tensor's own dtype
 * (round-to-nearest-even), as `weight + 1.0` does on an MLX array of that dtype.
 */
export function addOne(data: Buffer, dtype: DType): Buffer {
  const out = Buffer.allocUnsafe(data.length);
  switch (dtype) {
    case 'BF16':
      for (let i = 0; i < data.length; i += 2) out.writeUInt16LE(f32ToBf16(Math.fround(bf16ToF32(data.readUInt16LE(i)) + 1)), i);
      return out;
    case 'F16':
      for (let i = 0; i < data.length; i += 2) out.writeUInt16LE(f32ToF16(Math.fround(f16ToF32(data.readUInt16LE(i)) + 1)), i);
      return out;
    case 'F32':
      for (let i = 0; i < data.length; i += 4) out.writeFloatLE(Math.fround(data.readFloatLE(i) + 1), i);
      return out;
    default:
      throw new MtpkitError(`+1 shift needs a float tensor, got ${dtype}`);
  }
}
