/**
 * Writer -> reader round trips with random dtypes and shapes, checked both with our reader and with
 * an independent parse of the raw bytes done here; and proof that the reader never reads whole files.
 */
import { createCipheriv } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FileSource } from '../../src/safetensors/file-source';
import { SafetensorsFile } from '../../src/safetensors/reader';
import { DTYPES, DTYPE_BYTES, DType, ByteSource, TensorSpec } from '../../src/safetensors/types';
import { SafetensorsWriter, writeSafetensorsFile } from '../../src/safetensors/writer';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-st-rt-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** mulberry32: small seeded PRNG so failures are reproducible. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomEntries(seed: number, count: number): { spec: TensorSpec; data: Buffer }[] {
  const r = rng(seed);
  const out: { spec: TensorSpec; data: Buffer }[] = [];
  for (let i = 0; i < count; i++) {
    const dtype = DTYPES[Math.floor(r() * DTYPES.length)] as DType;
    const rank = Math.floor(r() * 4); // 0 = scalar []
    const shape = Array.from({ length: rank }, () => Math.floor(r() * 6)); // may contain 0
    let n = DTYPE_BYTES[dtype];
    for (const d of shape) n *= d;
    const data = Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
    out.push({ spec: { name: `layers.${i}.t${Math.floor(r() * 1000)}`, dtype, shape }, data });
  }
  return out;
}

/** Deterministic pseudo-random bytes, fast for megabytes (AES-CTR keystream). */
function pseudoRandomBytes(n: number, seed: number): Buffer {
  const key = Buffer.alloc(16, seed & 0xff);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n));
}

/** Independent parse of a safetensors file (no code under test): header object, data start, file bytes. */
function rawParse(file: string): { header: Record<string, any>; dataStart: number; bytes: Buffer } {
  const bytes = fs.readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  return { header: JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')), dataStart: 8 + n, bytes };
}

describe('round trips', () => {
  test.each([1, 2, 3, 4, 5])('random tensors, seed %i', async (seed) => {
    const entries = randomEntries(seed, 25);
    entries.push({ spec: { name: 'scalar', dtype: 'F32', shape: [] }, data: Buffer.from([0, 0, 0x80, 0x3f]) });
    entries.push({ spec: { name: 'empty', dtype: 'BF16', shape: [3, 0] }, data: Buffer.alloc(0) });
    const file = path.join(tmp, `rt-${seed}.safetensors`);
    await writeSafetensorsFile(file, entries);

    // Our reader.
    const f = await SafetensorsFile.open(file);
    try {
      expect(f.metadata).toEqual({ format: 'mlx' });
      expect(f.tensors.size).toBe(entries.length);
      for (const { spec, data } of entries) {
        const info = f.tensors.get(spec.name)!;
        expect(info.dtype).toBe(spec.dtype);
        expect(info.shape).toEqual(spec.shape);
        expect(info.byteLength).toBe(data.length);
        expect((await f.readTensor(spec.name)).equals(data)).toBe(true);
      }
      // Tensors are laid out in the given order.
      expect([...f.tensors.values()].filter((t) => t.byteLength > 0).map((t) => t.name)).toEqual(
        entries.filter((e) => e.data.length > 0).map((e) => e.spec.name),
      );
    } finally {
      await f.close();
    }

    // Independent check of the bytes on disk.
    const { header, dataStart, bytes } = rawParse(file);
    expect(dataStart % 8).toBe(0);
    expect(header.__metadata__).toEqual({ format: 'mlx' });
    let expectedBegin = 0;
    for (const { spec, data } of entries) {
      const h = header[spec.name];
      expect(h).toEqual({ dtype: spec.dtype, shape: spec.shape, data_offsets: [expectedBegin, expectedBegin + data.length] });
      expect(bytes.subarray(dataStart + h.data_offsets[0], dataStart + h.data_offsets[1]).equals(data)).toBe(true);
      expectedBegin += data.length;
    }
    expect(bytes.length).toBe(dataStart + expectedBegin);
  });

  test('the data start is a multiple of 8 for every header length; padding is spaces', async () => {
    for (let len = 1; len <= 9; len++) {
      const name = 'x'.repeat(len);
      const file = path.join(tmp, `align-${len}.safetensors`);
      await writeSafetensorsFile(file, [{ spec: { name, dtype: 'U8', shape: [1] }, data: Buffer.from([len]) }], {});
      const { header, dataStart, bytes } = rawParse(file);
      expect(dataStart % 8).toBe(0);
      expect(Object.keys(header)).toEqual([name]); // empty metadata is omitted
      const json = bytes.subarray(8, dataStart).toString('utf8');
      expect(json.trimEnd()).toBe(JSON.stringify(header));
      expect(/^ *$/.test(json.slice(json.trimEnd().length))).toBe(true);
      expect(bytes[dataStart]).toBe(len);
    }
  });

  test('chunks that span tensor boundaries, odd sizes, one > 4 MiB chunk', async () => {
    const specs: TensorSpec[] = [
      { name: 'a', dtype: 'F16', shape: [3, 5] },
      { name: 'b', dtype: 'U8', shape: [0] },
      { name: 'c', dtype: 'F32', shape: [1200, 1000] }, // 4.8 MB
      { name: 'd', dtype: 'I64', shape: [7] },
    ];
    const sizes = [30, 0, 4_800_000, 56];
    const all = pseudoRandomBytes(sizes.reduce((x, y) => x + y), 42);
    const file = path.join(tmp, 'chunks.safetensors');
    const w = await SafetensorsWriter.create(file, specs);
    expect(w.totalBytes).toBe(w.headerBytes + all.length);
    // Irregular chunk sizes, including one larger than the write buffer.
    const cuts = [0, 1, 17, 40, 1000, 4_500_000 + 40, all.length - 3, all.length];
    for (let i = 1; i < cuts.length; i++) await w.write(all.subarray(cuts[i - 1], cuts[i]));
    await w.finish();
    expect(fs.statSync(file).size).toBe(w.totalBytes);
    const f = await SafetensorsFile.open(file);
    let pos = 0;
    for (let i = 0; i < specs.length; i++) {
      expect((await f.readTensor(specs[i].name)).equals(all.subarray(pos, pos + sizes[i]))).toBe(true);
      pos += sizes[i];
    }
    expect((await f.readRange('c', 1000, 1010)).equals(all.subarray(30 + 1000, 30 + 1010))).toBe(true);
    await f.close();
  });
});

describe('the reader reads headers and single tensors only', () => {
  class CountingSource implements ByteSource {
    bytes = 0;
    reads: [number, number][] = [];
    constructor(private readonly inner: ByteSource) {}
    get label() {
      return this.inner.label;
    }
    size() {
      return this.inner.size();
    }
    read(position: number, length: number) {
      this.bytes += length;
      this.reads.push([position, length]);
      return this.inner.read(position, length);
    }
    close() {
      return this.inner.close();
    }
  }

  test('open reads 8 + N bytes; readTensor reads exactly that tensor', async () => {
    const entries = ['a', 'b', 'c', 'd'].map((name, i) => ({
      spec: { name, dtype: 'F32' as DType, shape: [256, 64] },
      data: Buffer.alloc(256 * 64 * 4, i + 1),
    }));
    const file = path.join(tmp, 'counting.safetensors');
    await writeSafetensorsFile(file, entries);
    const fileSize = fs.statSync(file).size;
    const src = new CountingSource(await FileSource.open(file));
    const f = await SafetensorsFile.fromSource(src, 'counting.safetensors');
    expect(src.bytes).toBe(f.dataStart); // 8-byte prefix + header only
    expect(src.reads).toEqual([[0, 8], [8, f.dataStart - 8]]);
    expect(src.bytes).toBeLessThan(fileSize / 100);

    src.bytes = 0;
    const c = await f.readTensor('c');
    expect(c.equals(entries[2].data)).toBe(true);
    expect(src.bytes).toBe(256 * 64 * 4);
    expect(src.reads[src.reads.length - 1][0]).toBe(f.tensors.get('c')!.offset);

    src.bytes = 0;
    await f.readRange('d', 100, 164);
    expect(src.bytes).toBe(64);
    await f.close();
  });
});
