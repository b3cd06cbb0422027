/** Writer safety: temporary name until finish, abort leaves nothing, byte counts are enforced. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { InputError, MtpkitError } from '../../src/errors';
import { SafetensorsFile } from '../../src/safetensors/reader';
import { TensorSpec } from '../../src/safetensors/types';
import { SafetensorsWriter, buildHeader, writeSafetensorsFile } from '../../src/safetensors/writer';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-st-writer-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

const specs: TensorSpec[] = [
  { name: 'model.a', dtype: 'BF16', shape: [4, 2] }, // 16 bytes
  { name: 'model.b', dtype: 'U32', shape: [3] }, // 12 bytes
];

test('nothing is visible at the final path before finish; the temp file is removed by the rename', async () => {
  const final = path.join(tmp, 'model.safetensors');
  const w = await SafetensorsWriter.create(final, specs);
  expect(fs.existsSync(final)).toBe(false);
  const names = fs.readdirSync(tmp);
  expect(names).toHaveLength(1);
  expect(names[0]).toMatch(new RegExp(`^model\\.safetensors\\.tmp-${process.pid}-[0-9a-f]+$`));
  expect(path.join(tmp, names[0])).toBe(w.tempPath);
  await w.write(Buffer.alloc(16, 1));
  await w.write(Buffer.alloc(12, 2));
  expect(fs.existsSync(final)).toBe(false);
  await w.finish();
  expect(fs.readdirSync(tmp)).toEqual(['model.safetensors']);
  expect(fs.statSync(final).size).toBe(w.totalBytes);
  const f = await SafetensorsFile.open(final);
  expect([...(await f.readTensor('model.b'))]).toEqual(Array(12).fill(2));
  await f.close();
});

test('finish replaces an existing file only at the end', async () => {
  const final = path.join(tmp, 'x.safetensors');
  fs.writeFileSync(final, 'old');
  const w = await SafetensorsWriter.create(final, specs);
  await w.write(Buffer.alloc(28));
  expect(fs.readFileSync(final, 'utf8')).toBe('old');
  await w.finish();
  expect(fs.statSync(final).size).toBe(w.totalBytes);
});

test('abort leaves nothing behind, also after some data, and twice', async () => {
  const final = path.join(tmp, 'model.safetensors');
  const w = await SafetensorsWriter.create(final, specs);
  await w.write(Buffer.alloc(10));
  await w.abort();
  await w.abort();
  expect(fs.readdirSync(tmp)).toEqual([]);
  await expect(w.write(Buffer.alloc(1))).rejects.toThrow(/aborted/);
});

test('finish with missing data fails naming the short tensor, and removes the temp file', async () => {
  const final = path.join(tmp, 'short.safetensors');
  const w = await SafetensorsWriter.create(final, specs);
  await w.write(Buffer.alloc(16 + 5));
  const err = await w.finish().catch((e) => e);
  expect(err).toBeInstanceOf(MtpkitError);
  expect(err.message).toContain(final);
  expect(err.message).toContain("tensor 'model.b'");
  expect(err.message).toContain('got 21 of 28 bytes');
  expect(fs.readdirSync(tmp)).toEqual([]);
});

test('more data than the tensors hold is refused', async () => {
  const w = await SafetensorsWriter.create(path.join(tmp, 'long.safetensors'), specs);
  await w.write(Buffer.alloc(20));
  await expect(w.write(Buffer.alloc(9))).rejects.toThrow(/too much data/);
  await w.abort();
  expect(fs.readdirSync(tmp)).toEqual([]);
});

test('writes issued without awaiting keep their order', async () => {
  const final = path.join(tmp, 'order.safetensors');
  const w = await SafetensorsWriter.create(final, [{ name: 't', dtype: 'U8', shape: [200] }]);
  const ps: Promise<void>[] = [];
  for (let i = 0; i < 200; i++) ps.push(w.write(Buffer.from([i])));
  ps.push(w.finish());
  await Promise.all(ps);
  const f = await SafetensorsFile.open(final);
  expect([...(await f.readTensor('t'))]).toEqual(Array.from({ length: 200 }, (_, i) => i));
  await f.close();
});

test('the caller may reuse its buffer after write resolves', async () => {
  const final = path.join(tmp, 'reuse.safetensors');
  const w = await SafetensorsWriter.create(final, [{ name: 't', dtype: 'U8', shape: [6] }]);
  const buf = Buffer.from([1, 2, 3]);
  await w.write(buf);
  buf.fill(9);
  await w.write(buf);
  await w.finish();
  const f = await SafetensorsFile.open(final);
  expect([...(await f.readTensor('t'))]).toEqual([1, 2, 3, 9, 9, 9]);
  await f.close();
});

test('invalid specs are InputErrors naming the tensor; nothing is created', async () => {
  const final = path.join(tmp, 'bad.safetensors');
  await expect(SafetensorsWriter.create(final, [...specs, { name: 'model.a', dtype: 'F32', shape: [1] }])).rejects.toThrow(/model\.a.*duplicate/);
  await expect(SafetensorsWriter.create(final, [{ name: 'q', dtype: 'X99' as never, shape: [1] }])).rejects.toThrow(InputError);
  await expect(SafetensorsWriter.create(final, [{ name: 'q', dtype: 'F32', shape: [-1] }])).rejects.toThrow(/tensor 'q'/);
  await expect(writeSafetensorsFile(final, [{ spec: specs[0], data: Buffer.alloc(3) }])).rejects.toThrow(/tensor 'model\.a'.*3 bytes/);
  expect(fs.readdirSync(tmp)).toEqual([]);
});

test('header: metadata default is {"format":"mlx"}, offsets relative to the data start, length padded to 8', () => {
  const { header, dataBytes } = buildHeader(specs, { format: 'mlx' });
  expect(dataBytes).toBe(28);
  expect(header.length % 8).toBe(0);
  const n = Number(header.readBigUInt64LE(0));
  expect(n).toBe(header.length - 8);
  expect(JSON.parse(header.subarray(8).toString())).toEqual({
    __metadata__: { format: 'mlx' },
    'model.a': { dtype: 'BF16', shape: [4, 2], data_offsets: [0, 16] },
    'model.b': { dtype: 'U32', shape: [3], data_offsets: [16, 28] },
  });
});

describe('a bytes sink sees the file exactly as written', () => {
  test('header, small gathered chunks and large direct chunks reach the sink in file order', async () => {
    const { createHash, randomBytes } = await import('crypto');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-sink-'));
    try {
      const sizes = [3, 5 << 20, 1000, (4 << 20) - 1, 7];
      const specs: TensorSpec[] = sizes.map((n, i) => ({ name: `t${i}`, dtype: 'U8', shape: [n] }));
      const hash = createHash('sha256');
      const seen: number[] = [];
      // A slow sink that reads the bytes late: the writer must not refill its buffer before update() settles.
      const sink = {
        update: async (b: Uint8Array) => {
          await new Promise((r) => setTimeout(r, 50));
          hash.update(b);
          seen.push(b.length);
        },
      };
      const final = path.join(dir, 'x.safetensors');
      const w = await SafetensorsWriter.create(final, specs, undefined, { sink });
      for (const n of sizes) await w.write(randomBytes(n));
      await w.finish();
      expect(seen.reduce((a, b) => a + b, 0)).toBe(fs.statSync(final).size);
      expect(hash.digest('hex')).toBe(createHash('sha256').update(fs.readFileSync(final)).digest('hex'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
