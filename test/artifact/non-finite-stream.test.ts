/**
 * The streaming NaN / Inf scan validate runs while it hashes a shard, against the plain TS loop over each
 * whole tensor: tensors at odd offsets, chunks of every size (elements cut across chunk ends), non-float
 * tensors ignored.
 */
import { NonFiniteStreamScan, type NonFiniteFinding } from '../../src/artifact/non-finite-stream';
import { firstNonFiniteReference, nonFiniteKind } from '../../src/numeric/non-finite';
import type { FloatDType } from '../../src/numeric/float-bits';
import type { DType, TensorInfo } from '../../src/safetensors/types';

let seed = 99;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const WIDTH: Record<string, number> = { F32: 4, F16: 2, BF16: 2, U32: 4, U8: 1 };
const SPECIAL: Record<FloatDType, number[]> = { F32: [0x7fc00000, 0x7f800000, 0xff800000], F16: [0x7e00, 0x7c00, 0xfc00], BF16: [0x7fc0, 0x7f80, 0xff80] };

/** A fake shard: random bytes (so integer tensors hold all-ones exponents too), float tensors made finite, specials planted. */
function shard(specs: { dtype: DType; count: number; plant: number[] }[], lead: number) {
  const tensors: TensorInfo[] = [];
  let off = lead;
  for (const [k, s] of specs.entries()) {
    tensors.push({ name: `t${k}`, dtype: s.dtype, shape: [s.count], byteLength: s.count * WIDTH[s.dtype], offset: off, shard: 'x' });
    off += s.count * WIDTH[s.dtype];
  }
  const file = Buffer.alloc(off);
  for (let i = 0; i < off; i++) file[i] = Math.floor(rand() * 256);
  for (const [k, s] of specs.entries()) {
    const t = tensors[k];
    if (s.dtype !== 'F32' && s.dtype !== 'F16' && s.dtype !== 'BF16') continue;
    for (let i = 0; i < s.count; i++) {
      const p = t.offset + i * WIDTH[s.dtype];
      if (s.dtype === 'F32') file[p + 2] &= 0x7f;
      else if (s.dtype === 'BF16') file[p] &= 0x7f;
      else file[p + 1] &= 0xfb;
    }
    for (const i of s.plant) {
      const v = SPECIAL[s.dtype][Math.floor(rand() * 3)];
      if (s.dtype === 'F32') file.writeUInt32LE(v, t.offset + 4 * i);
      else file.writeUInt16LE(v, t.offset + 2 * i);
    }
  }
  return { file, tensors };
}

/** What the plain loop over each whole tensor finds. */
function expected(file: Buffer, tensors: TensorInfo[]): NonFiniteFinding[] {
  const out: NonFiniteFinding[] = [];
  for (const t of tensors) {
    if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') continue;
    const data = file.subarray(t.offset, t.offset + t.byteLength);
    const i = firstNonFiniteReference(data, t.dtype);
    if (i >= 0) out.push({ tensor: t.name, dtype: t.dtype, shape: t.shape, index: i, kind: nonFiniteKind(data, i, t.dtype) });
  }
  return out;
}

async function stream(file: Buffer, tensors: TensorInfo[], chunkSize: () => number): Promise<NonFiniteFinding[]> {
  const scan = new NonFiniteStreamScan(tensors, 2);
  for (let pos = 0; pos < file.length; ) {
    const n = Math.min(file.length - pos, Math.max(1, chunkSize()));
    await scan.feed(file.subarray(pos, pos + n), pos);
    pos += n;
  }
  return scan.findings();
}

describe('streaming scan = plain loop per tensor', () => {
  const specs = [
    { dtype: 'BF16' as DType, count: 301, plant: [300] },
    { dtype: 'U32' as DType, count: 97, plant: [] },
    { dtype: 'F32' as DType, count: 513, plant: [1, 400] },
    { dtype: 'F16' as DType, count: 77, plant: [] },
    { dtype: 'U8' as DType, count: 5, plant: [] },
    { dtype: 'F16' as DType, count: 129, plant: [128, 3] },
    { dtype: 'BF16' as DType, count: 400_000, plant: [399_999] }, // large enough for the threaded native path
    { dtype: 'F32' as DType, count: 9, plant: [] },
    { dtype: 'BF16' as DType, count: 3, plant: [0] },
  ];
  for (const lead of [8, 13]) {
    const { file, tensors } = shard(specs, lead);
    const want = expected(file, tensors);
    test(`header of ${lead} bytes: the findings are the plain loop's`, async () => {
      expect(want.map((f) => f.tensor)).toEqual(['t0', 't2', 't5', 't6', 't8']);
      expect(want.find((f) => f.tensor === 't5')!.index).toBe(3);
      expect(await stream(file, tensors, () => file.length)).toEqual(want);
      for (const size of [4093, 65536, 1 << 20]) expect(await stream(file, tensors, () => size)).toEqual(want);
      expect(await stream(file, tensors, () => Math.floor(rand() * 90000))).toEqual(want);
    });
  }

  test('tiny chunks: every element cut at every byte', async () => {
    const { file, tensors } = shard(specs.filter((s) => s.count < 1000), 13);
    const want = expected(file, tensors);
    expect(want.length).toBe(4);
    for (const size of [1, 2, 3, 5, 7]) expect(await stream(file, tensors, () => size)).toEqual(want);
    expect(await stream(file, tensors, () => Math.floor(rand() * 12))).toEqual(want);
  });

  test('an all-finite shard has no findings; integer tensors are not read as floats', async () => {
    const { file, tensors } = shard([{ dtype: 'U32', count: 1000, plant: [] }, { dtype: 'BF16', count: 1000, plant: [] }], 8);
    expect(expected(file, tensors)).toEqual([]);
    expect(await stream(file, tensors, () => 333)).toEqual([]);
  });
});

test('E8M0 scale tensors (U8 named by the caller): the first 0xFF, as a plain indexOf finds it; other U8 tensors are not judged', async () => {
  const { file, tensors } = shard([{ dtype: 'BF16', count: 50, plant: [] }, { dtype: 'U8', count: 3000, plant: [] }, { dtype: 'U8', count: 100, plant: [] }], 11);
  const [, scales, other] = tensors;
  // Random bytes: clear every 0xFF, then plant two at known places.
  for (let i = scales.offset; i < scales.offset + 3000; i++) if (file[i] === 0xff) file[i] = 0;
  file[scales.offset + 1234] = 0xff;
  file[scales.offset + 2999] = 0xff;
  file[other.offset + 5] = 0xff;
  const want = file.subarray(scales.offset, scales.offset + 3000).indexOf(0xff);
  expect(want).toBe(1234);
  for (const size of [1, 3, 7, 1000, file.length]) {
    const scan = new NonFiniteStreamScan(tensors, 1, new Set([scales.name]));
    for (let pos = 0; pos < file.length; pos += size) await scan.feed(file.subarray(pos, Math.min(file.length, pos + size)), pos);
    expect(scan.findings()).toEqual([{ tensor: scales.name, dtype: 'E8M0', shape: [3000], index: 1234, kind: 'E8M0 0xFF' }]);
  }
});
