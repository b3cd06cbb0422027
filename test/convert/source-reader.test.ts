/**
 * Pooled reads: every loaded source holds exactly its own bytes (checked against the plain fresh-buffer
 * read path), even when the memory was lent before to a larger tensor; a buffer in use is never lent twice.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BufferPool } from '../../src/convert/buffer-pool';
import { adjacentSpan, computeTensor, readSource } from '../../src/convert/compute-tensor';
import { SourceReader } from '../../src/convert/source-reader';
import type { PlannedTensor, SourceRef } from '../../src/plan/types';
import type { DType } from '../../src/safetensors/types';
import { writeSafetensorsFile } from '../../src/safetensors/writer';
import { LocalSource } from '../../src/source/local-source';

let tmp: string;
let src: LocalSource;
const shapes: Record<string, number[]> = { big: [64, 1024], small: [3, 5], mid: [40, 96], odd: [7, 9, 11] };

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-reader-'));
  const entries = Object.entries(shapes).map(([name, shape]) => {
    const n = shape.reduce((a, b) => a * b, 1) * 2;
    return { spec: { name, dtype: 'BF16' as DType, shape }, data: randomBytes(n) };
  });
  await writeSafetensorsFile(path.join(tmp, 'model.safetensors'), entries);
  src = await LocalSource.open(tmp);
});
afterAll(async () => {
  await src.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function planned(refs: SourceRef[], name = 'out'): PlannedTensor {
  return {
    name,
    sources: refs,
    transforms: [],
    dtype: 'BF16',
    shape: refs[0].shape,
    group: 'trunk',
    facts: { module: name, param: 'weight', role: 'other', mtp: false },
    notes: [],
  } as unknown as PlannedTensor;
}
const ref = (tensor: string, slice?: SourceRef['slice']): SourceRef => ({ tensor, dtype: 'BF16', shape: shapes[tensor], slice });
const fresh = async (r: SourceRef) => (await readSource(src, r)).data;

describe('BufferPool', () => {
  test('buffers are exactly the size asked; a lent buffer is not lent again until released', () => {
    const pool = new BufferPool();
    const a = pool.acquire(1000);
    const b = pool.acquire(10);
    expect([a.length, b.length]).toEqual([1000, 10]);
    expect(a.buffer).not.toBe(b.buffer);
    pool.release(a);
    const c = pool.acquire(900);
    expect(c.buffer).toBe(a.buffer); // reused
    expect(c.length).toBe(900);
    expect(pool.owns(b) && pool.owns(c)).toBe(true);
    pool.release(c);
    pool.release(c); // twice: ignored, never two free entries for one buffer
    expect(pool.acquire(5).buffer).toBe(a.buffer);
    expect(pool.acquire(5).buffer).not.toBe(a.buffer);
  });

  test('a spare too small is never lent for a larger request; the smallest spare that fits is', () => {
    const pool = new BufferPool();
    const [s, m, l] = [10, 3000, 5 << 20].map((n) => pool.acquire(n));
    [l, s, m].forEach((b) => pool.release(b));
    const got = pool.acquire(2000);
    expect(got.buffer).toBe(m.buffer);
    const big = pool.acquire(4000);
    expect(big.buffer).toBe(l.buffer);
    expect(big.length).toBe(4000);
  });

  test('only `maxFree` spares are kept, the largest ones', () => {
    const pool = new BufferPool(2);
    const bufs = [10, 3 << 20, 20, 2 << 20].map((n) => pool.acquire(n));
    bufs.forEach((b) => pool.release(b));
    expect(pool.freeBytes).toBe((3 << 20) + (2 << 20));
    pool.release(Buffer.alloc(4)); // not lent by this pool: ignored
    expect(pool.freeBytes).toBe((3 << 20) + (2 << 20));
  });
});

describe('SourceReader', () => {
  test('whole tensors and slices on every axis equal the fresh-buffer reads, through reused memory', async () => {
    const reader = new SourceReader(src);
    const big = await reader.load(planned([ref('big')]));
    expect(big[0].data.equals(await fresh(ref('big')))).toBe(true);
    const bigMemory = big[0].data.buffer;
    // Poison the memory so any byte not overwritten by the next read shows.
    big[0].data.fill(0xee);
    reader.release(big);
    const cases: SourceRef[] = [
      ref('small'),
      ref('mid', { axis: 0, start: 3, end: 17 }),
      ref('mid', { axis: 1, start: 10, end: 50 }),
      ref('odd', { axis: 1, start: 2, end: 7 }),
      ref('odd', { axis: 2, start: 0, end: 11 }),
      ref('odd', { axis: 2, start: 4, end: 4 }),
    ];
    for (const r of cases) {
      const l = await reader.load(planned([r]));
      const want = await fresh(r);
      expect(l[0].data.buffer).toBe(bigMemory); // the same memory every time: reuse really happened
      expect(l[0].data.length).toBe(want.length);
      expect(l[0].data.equals(want)).toBe(true);
      expect(l[0].shape).toEqual((await readSource(src, r)).shape);
      l[0].data.fill(0xee);
      reader.release(l);
    }
  });

  test('sources loaded together (stacked) get separate memory, each with its own bytes', async () => {
    const reader = new SourceReader(src);
    const l = await reader.load(planned([ref('mid'), ref('small'), ref('mid', { axis: 0, start: 0, end: 1 })]));
    expect(new Set(l.map((x) => x.data.buffer)).size).toBe(3);
    expect(l[0].data.equals(await fresh(ref('mid')))).toBe(true);
    expect(l[1].data.equals(await fresh(ref('small')))).toBe(true);
    expect(l[2].data.equals(await fresh(ref('mid', { axis: 0, start: 0, end: 1 })))).toBe(true);
  });

  test('a stack: its sources one after the other in one pooled buffer, so the stacked tensor is that memory, no copy', async () => {
    const reader = new SourceReader(src);
    const refs = [ref('mid'), ref('mid', { axis: 1, start: 0, end: 96 }), ref('mid')];
    const t = { ...planned(refs), transforms: [{ kind: 'stack' }], shape: [3, 40, 96] } as unknown as PlannedTensor;
    const l = await reader.load(t);
    expect(new Set(l.map((x) => x.data.buffer)).size).toBe(1);
    expect(reader.pool.owns(l[0].data)).toBe(true);
    for (let i = 0; i < 3; i++) {
      expect(l[i].data.equals(await fresh(refs[i]))).toBe(true);
      expect(l[i].shape).toEqual([40, 96]);
    }
    const want = Buffer.concat(await Promise.all(refs.map(fresh)));
    const span = adjacentSpan(l.map((x) => x.data))!;
    expect(span.buffer).toBe(l[0].data.buffer);
    expect(span.equals(want)).toBe(true);
    // computeTensor takes the span as the stacked tensor (the random bytes read as U8: no finiteness check).
    const u8 = (r: SourceRef): SourceRef => ({ ...r, dtype: 'U8', shape: [40, 192], slice: undefined });
    const tu8 = { ...t, sources: refs.map(u8), dtype: 'U8', shape: [3, 40, 192] } as unknown as PlannedTensor;
    const lu8 = await reader.load(tu8);
    const r = await computeTensor(src, tu8, { rounding: 'metal' }, lu8);
    expect(r.outputs[0].data.equals(want)).toBe(true);
    expect(r.outputs[0].data.buffer).toBe(lu8[0].data.buffer); // the stack was not copied
    reader.release(lu8);
    // Parts not adjacent (order swapped, or separate memory): no span, the caller concatenates.
    expect(adjacentSpan([l[1].data, l[0].data])).toBeUndefined();
    expect(adjacentSpan([Buffer.alloc(4), Buffer.alloc(4)])).toBeUndefined();
    reader.release(l);
    expect(reader.pool.freeBytes).toBeGreaterThanOrEqual(want.length); // back once, as one buffer
    const again = await reader.load(t);
    expect([l[0].data.buffer, lu8[0].data.buffer]).toContain(again[0].data.buffer);
  });

  test('a dropped tensor reads nothing; a source without readRangeInto falls back to fresh buffers', async () => {
    const reader = new SourceReader(src);
    expect(await reader.load({ ...planned([ref('big')]), quant: { action: 'drop' } } as PlannedTensor)).toEqual([]);
    const plain = { readTensor: (n: string) => src.readTensor(n), readRange: (n: string, s: number, e: number) => src.readRange(n, s, e) };
    const r2 = new SourceReader(plain);
    const l = await r2.load(planned([ref('mid', { axis: 1, start: 1, end: 2 })]));
    expect(r2.pool.owns(l[0].data)).toBe(false);
    expect(l[0].data.equals(await fresh(ref('mid', { axis: 1, start: 1, end: 2 })))).toBe(true);
  });

  test('a read error is reported, and the failed buffer is not lent again', async () => {
    const reader = new SourceReader(src);
    await expect(reader.load(planned([{ tensor: 'nope', dtype: 'BF16', shape: [2] }]))).rejects.toThrow(/nope/);
    expect(reader.pool.freeBytes).toBe(0);
  });
});

describe('SourceReader with a source that still reads the buffer after the read (hashing it)', () => {
  test('a stack shares one buffer: it goes back only once the source is done with it (asked once per buffer, as LocalSource answers)', async () => {
    let unused!: () => void;
    const busy = new Promise<void>((resolve) => (unused = resolve));
    const tracked = new Set<ArrayBufferLike>();
    const hashingSrc = {
      readTensor: (n: string) => src.readTensor(n),
      readRange: (n: string, a: number, b: number) => src.readRange(n, a, b),
      readRangeInto: (n: string, a: number, dest: Buffer) => {
        tracked.add(dest.buffer);
        return src.readRangeInto(n, a, dest);
      },
      // Like LocalSource: the pending use of a buffer is handed out once, then forgotten.
      whenUnused: (d: Uint8Array) => (tracked.delete(d.buffer) ? busy : undefined),
    };
    const reader = new SourceReader(hashingSrc);
    const t = { ...planned([ref('mid'), ref('mid')]), transforms: [{ kind: 'stack' }], shape: [2, 40, 96] } as unknown as PlannedTensor;
    const first = await reader.load(t);
    reader.release(first);
    expect(reader.pool.freeBytes).toBe(0);
    const second = await reader.load(t);
    expect(second[0].data.buffer).not.toBe(first[0].data.buffer);
    unused();
    await busy;
    await new Promise((r) => setImmediate(r));
    expect(reader.pool.freeBytes).toBeGreaterThan(0);
  });


  test('a released buffer goes back to the pool only once whenUnused() settles', async () => {
    let unused!: () => void;
    const busy = new Promise<void>((resolve) => (unused = resolve));
    const hashingSrc = {
      readTensor: (n: string) => src.readTensor(n),
      readRange: (n: string, a: number, b: number) => src.readRange(n, a, b),
      readRangeInto: (n: string, a: number, dest: Buffer) => src.readRangeInto(n, a, dest),
      whenUnused: () => busy,
    };
    const reader = new SourceReader(hashingSrc);
    const first = await reader.load(planned([ref('big')]));
    reader.release(first);
    const second = await reader.load(planned([ref('big')]));
    expect(second[0].data.buffer).not.toBe(first[0].data.buffer); // still being hashed: not lent again
    reader.release(second);
    unused();
    await busy;
    await new Promise((r) => setImmediate(r));
    const third = await reader.load(planned([ref('big')]));
    expect([first[0].data.buffer, second[0].data.buffer]).toContain(third[0].data.buffer);
    expect(third[0].data.equals(await fresh(ref('big')))).toBe(true);
  });
});
