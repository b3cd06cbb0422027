/**
 * Determinism: the committed fixtures are exactly what the generator makes from their recorded seeds
 * (so they never drift), the same options always give the same bytes, and a different seed gives
 * different data. Also the value primitives: bf16 rounding and chunk-size independence.
 */
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FIXTURE_SEEDS, generateFixture } from '../fixtures/generator/fixtures';
import { VARIANT_NAMES } from '../fixtures/generator/variants';
import { generateCheckpoint } from '../fixtures/generator/write-checkpoint';
import { f32ToBf16Bits, Rng, tensorChunks } from '../fixtures/generator/values';

const FIXTURES = path.resolve(__dirname, '..', 'fixtures');
let tmp: string;

beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'mtpkit-fixtures-'));
});
afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

async function listFiles(dir: string): Promise<string[]> {
  return (await fsp.readdir(dir)).sort();
}

describe('committed fixtures are reproducible from their recorded seeds', () => {
  test.each([...VARIANT_NAMES])('%s regenerates byte-identical', async (variant) => {
    const out = path.join(tmp, `regen-${variant}`);
    await generateFixture(variant, out);
    const committed = await listFiles(path.join(FIXTURES, variant));
    expect(await listFiles(out)).toEqual(committed);
    for (const f of committed) {
      const a = await fsp.readFile(path.join(FIXTURES, variant, f));
      const b = await fsp.readFile(path.join(out, f));
      expect({ f, same: a.equals(b) }).toEqual({ f, same: true });
    }
  });

  test('seeds are recorded for every variant and distinct', () => {
    const seeds = VARIANT_NAMES.map((v) => FIXTURE_SEEDS[v]);
    expect(new Set(seeds).size).toBe(VARIANT_NAMES.length);
  });
});

describe('generator determinism', () => {
  test('same seed and options -> identical files; another seed -> same headers, different data', async () => {
    const opts = { variant: 'qwen35-moe' as const, shards: 3 };
    const a = await generateCheckpoint(path.join(tmp, 'a'), { ...opts, seed: 7 });
    const b = await generateCheckpoint(path.join(tmp, 'b'), { ...opts, seed: 7 });
    const c = await generateCheckpoint(path.join(tmp, 'c'), { ...opts, seed: 8 });
    expect(a.shards.length).toBe(3);
    expect(b.files).toEqual(a.files);
    for (const f of a.files) {
      const fa = await fsp.readFile(path.join(a.dir, f));
      const fb = await fsp.readFile(path.join(b.dir, f));
      const fc = await fsp.readFile(path.join(c.dir, f));
      expect({ f, same: fa.equals(fb) }).toEqual({ f, same: true });
      if (f.endsWith('.safetensors')) {
        const headerLen = 8 + Number(fa.readBigUInt64LE(0));
        expect(fc.subarray(0, headerLen).equals(fa.subarray(0, headerLen))).toBe(true);
        expect(fc.subarray(headerLen).equals(fa.subarray(headerLen))).toBe(false);
      } else {
        expect(fc.equals(fa)).toBe(true);
      }
    }
  });

  test('a tensor\'s bytes do not depend on the chunk size', () => {
    const kind = { kind: 'normal' as const, mean: 0, std: 0.02 };
    const whole = Buffer.concat([...tensorChunks(3, 'x.weight', kind, 'BF16', 1001, 1 << 20)]);
    for (const chunk of [1, 2, 7, 64, 1000]) {
      const parts = [...tensorChunks(3, 'x.weight', kind, 'BF16', 1001, chunk)];
      expect(parts.every((p) => p.length <= 2 * chunk)).toBe(true);
      expect(Buffer.concat(parts).equals(whole)).toBe(true);
    }
    const f32 = Buffer.concat([...tensorChunks(3, 'x.weight', kind, 'F32', 1001, 10)]);
    expect(f32.length).toBe(4004);
    // BF16 bytes are the F32 values rounded: the same stream in both dtypes.
    let differ = 0;
    for (let i = 0; i < 1001; i++) if (whole.readUInt16LE(2 * i) !== f32ToBf16Bits(f32.readFloatLE(4 * i))) differ++;
    expect(differ).toBe(0);
  });

  test('tensor streams differ by name and by seed', () => {
    const kind = { kind: 'uniform' as const, lo: 0, hi: 1 };
    const a = Buffer.concat([...tensorChunks(1, 'a', kind, 'F32', 64)]);
    expect(Buffer.concat([...tensorChunks(1, 'b', kind, 'F32', 64)]).equals(a)).toBe(false);
    expect(Buffer.concat([...tensorChunks(2, 'a', kind, 'F32', 64)]).equals(a)).toBe(false);
  });
});

describe('value primitives', () => {
  /** Reference bf16 rounding via exact arithmetic on the f32 bit pattern as a BigInt. */
  function refBf16(x: number): number {
    const b = Buffer.alloc(4);
    b.writeFloatLE(x);
    const bits = BigInt(b.readUInt32LE());
    const upper = bits >> 16n;
    const lower = bits & 0xffffn;
    const roundUp = lower > 0x8000n || (lower === 0x8000n && (upper & 1n) === 1n);
    return Number((upper + (roundUp ? 1n : 0n)) & 0xffffn);
  }

  test('f32 -> bf16 rounds to nearest, ties to even', () => {
    expect(f32ToBf16Bits(1)).toBe(0x3f80);
    expect(f32ToBf16Bits(-2)).toBe(0xc000);
    expect(f32ToBf16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie -> even (down)
    expect(f32ToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie -> even (up)
    expect(f32ToBf16Bits(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81); // above the tie
    expect(f32ToBf16Bits(Infinity)).toBe(0x7f80);
    expect(f32ToBf16Bits(NaN) & 0x7fc0).toBe(0x7fc0);
    const rng = new Rng(11);
    const mismatches: number[] = [];
    for (let i = 0; i < 20000; i++) {
      const x = (rng.nextFloat() - 0.5) * 2 ** ((rng.nextU32() % 60) - 30);
      if (f32ToBf16Bits(x) !== refBf16(x)) mismatches.push(x);
    }
    expect(mismatches).toEqual([]);
  });

  test('Rng gives uniform-looking floats and normals with the requested moments', () => {
    const rng = new Rng(5);
    let s = 0;
    const n = 200000;
    const buckets = new Array(10).fill(0);
    let outOfRange = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.nextFloat();
      if (!(u >= 0 && u < 1)) outOfRange++;
      s += u;
      buckets[Math.floor(u * 10)]++;
    }
    expect(outOfRange).toBe(0);
    expect(Math.abs(s / n - 0.5)).toBeLessThan(0.005);
    for (const c of buckets) expect(Math.abs(c / n - 0.1)).toBeLessThan(0.005);
    const v = Buffer.concat([...tensorChunks(9, 'n', { kind: 'normal', mean: 1, std: 0.5 }, 'F32', n)]);
    let m = 0;
    let m2 = 0;
    for (let i = 0; i < n; i++) {
      const x = v.readFloatLE(4 * i);
      m += x;
      m2 += x * x;
    }
    m /= n;
    expect(Math.abs(m - 1)).toBeLessThan(0.01);
    expect(Math.abs(Math.sqrt(m2 / n - m * m) - 0.5)).toBeLessThan(0.01);
  });
});
