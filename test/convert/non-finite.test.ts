/**
 * Issue 10 case 8: NaN / Inf anywhere in a float source tensor (kept in float, cast, or quantized; whole,
 * sliced or stacked) is an input error naming the source tensor and the element, before anything is
 * written. The native scan is checked against the plain TS loop.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { firstNonFinite, firstNonFiniteReference } from '../../src/numeric/non-finite';
import type { FloatDType } from '../../src/numeric/float-bits';
import { runConvert } from '../../src/convert/pipeline';
import { InputError } from '../../src/errors';
import { convertOptions } from '../support/convert-options';
import { copyCheckpoint, editTensors } from '../support/checkpoint-surgery';
import { runCli } from '../support/run-cli';

let tmp: string;
let n = 0;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-nonfinite-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const WIDTH: Record<FloatDType, number> = { F32: 4, F16: 2, BF16: 2 };
/** NaN, +Inf, -Inf bit patterns per dtype. */
const SPECIAL: Record<FloatDType, number[]> = {
  F32: [0x7fc00000, 0x7f800000, 0xff800000, 0x7f800001],
  F16: [0x7e00, 0x7c00, 0xfc00, 0x7c01],
  BF16: [0x7fc0, 0x7f80, 0xff80, 0xff81],
};

let seed = 7;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);

/** Finite random values (largest finite exponents included), with `specials` planted at the given indices. */
function buffer(dtype: FloatDType, count: number, planted: [number, number][]): Buffer {
  const b = Buffer.alloc(count * WIDTH[dtype]);
  for (let i = 0; i < count; i++) {
    if (dtype === 'F32') b.writeUInt32LE((Math.floor(rand() * 2 ** 32) & 0xff7fffff) >>> 0, 4 * i); // exponent bit 0 of 8 cleared: finite
    else b.writeUInt16LE(Math.floor(rand() * 0x10000) & (dtype === 'BF16' ? 0xff7f : 0xfbff), 2 * i);
  }
  for (const [i, bits] of planted) {
    if (dtype === 'F32') b.writeUInt32LE(bits >>> 0, 4 * i);
    else b.writeUInt16LE(bits, 2 * i);
  }
  return b;
}

describe('native scan vs the reference loop', () => {
  test.each(['F32', 'F16', 'BF16'] as FloatDType[])('%s: small and large (threaded) buffers', async (dtype) => {
    for (const count of [1, 17, 5000, 1 << 19]) {
      const clean = buffer(dtype, count, []);
      expect(firstNonFiniteReference(clean, dtype)).toBe(-1);
      expect(await firstNonFinite(clean, dtype, 2)).toBe(-1);
      for (const special of SPECIAL[dtype]) {
        // Two planted values, the later one in an earlier-finishing position of another block: the first wins.
        const a = Math.floor(rand() * count);
        const b = Math.min(count - 1, a + Math.floor(rand() * (count - a)));
        const buf = buffer(dtype, count, [[b, special], [a, special]]);
        const want = firstNonFiniteReference(buf, dtype);
        expect(want).toBe(Math.min(a, b));
        expect(await firstNonFinite(buf, dtype, 2)).toBe(want);
        expect(await firstNonFinite(buf, dtype, 1)).toBe(want);
      }
    }
  });

  test('a special value in the last element of a large buffer', async () => {
    const count = (1 << 19) + 3;
    const buf = buffer('BF16', count, [[count - 1, 0xff80]]);
    expect(await firstNonFinite(buf, 'BF16', 2)).toBe(count - 1);
  });
});

/** Plants `bits` at flat element `index` of source tensor `tensor` in a copy of `variant`. */
async function planted(variant: string, tensor: string, index: number, bits: number): Promise<string> {
  const src = copyCheckpoint(variant, path.join(tmp, `${variant}-${n++}`));
  let found = false;
  await editTensors(src, (e) => {
    if (e.spec.name !== tensor) return e;
    found = true;
    const data = Buffer.from(e.data);
    if (e.spec.dtype === 'F32') data.writeUInt32LE(bits >>> 0, 4 * index);
    else data.writeUInt16LE(bits, 2 * index);
    return { ...e, data };
  });
  expect(found).toBe(true);
  return src;
}

async function convertError(src: string, policy: string): Promise<InputError> {
  const out = path.join(tmp, `out-${n++}`);
  const err = await runConvert(convertOptions(src, out, { policy: { spec: policy } })).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(InputError);
  expect(fs.existsSync(out)).toBe(false);
  return err as InputError;
}

/** Row-major flat index of `at` in `shape`. */
const flat = (at: number[], shape: number[]) => at.reduce((a, x, d) => a * shape[d] + x, 0);

describe('conversion refuses non-finite sources, naming tensor and element', () => {
  test('NaN in an f32 GDN norm kept in float (gdn8-speed4)', async () => {
    const t = 'model.language_model.layers.0.linear_attn.norm.weight';
    const err = await convertError(await planted('qwen35-dense', t, 5, 0x7fc00000), 'gdn8-speed4');
    expect(err.place.tensor).toBe(t);
    expect(err.message).toContain('NaN at element 5 (index [5] of F32[32])');
  });

  test('+Inf in an MLP weight under --policy none (exit 2 from the CLI)', async () => {
    const t = 'model.language_model.layers.3.mlp.up_proj.weight';
    const src = await planted('qwen35-dense', t, 1000, 0x7f80);
    const r = await runCli(['convert', src, path.join(tmp, `out-${n++}`), '--policy', 'none']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`tensor '${t}'`);
    expect(r.stderr).toContain(`+Inf at element 1000 (index [${Math.floor(1000 / 64)}, ${1000 % 64}] of BF16[128, 64])`);
  });

  test('-Inf in the up half of a fused gate_up_proj (a sliced source, quantized): the index is the fused tensor\'s', async () => {
    const t = 'model.language_model.layers.0.mlp.experts.gate_up_proj';
    const shape = [4, 128, 64];
    const at = [2, 70, 3];
    const err = await convertError(await planted('qwen36-moe', t, flat(at, shape), 0xff80), 'gdn8-speed4');
    expect(err.place.tensor).toBe(t);
    expect(err.message).toContain(`-Inf at element ${flat(at, shape)} (index [2, 70, 3] of BF16[4, 128, 64])`);
  });

  test('NaN in one per-expert tensor of a stacked MTP expert', async () => {
    const t = 'mtp.layers.0.mlp.experts.3.down_proj.weight';
    const err = await convertError(await planted('qwen35-moe', t, 77, 0x7fc1), 'gdn8-speed4');
    expect(err.place.tensor).toBe(t);
    expect(err.message).toContain('NaN at element 77');
  });
});
