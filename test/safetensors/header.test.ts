/**
 * Header validation, on files built byte by byte in the test (not with our writer).
 * Every malformed case must raise InputError naming the file and the problem.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { InputError, MtpkitError } from '../../src/errors';
import { FileSource } from '../../src/safetensors/file-source';
import { MAX_HEADER_BYTES, parseHeader } from '../../src/safetensors/header';
import { SafetensorsFile } from '../../src/safetensors/reader';
import { ByteSource } from '../../src/safetensors/types';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-st-header-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let counter = 0;
/** Writes `u64 len | header | data` by hand; `declaredLength` overrides the length field. */
function rawFile(header: string | Buffer, data: Buffer = Buffer.alloc(0), declaredLength?: number): string {
  const h = typeof header === 'string' ? Buffer.from(header, 'utf8') : header;
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(declaredLength ?? h.length));
  const file = path.join(tmp, `case-${++counter}.safetensors`);
  fs.writeFileSync(file, Buffer.concat([prefix, h, data]));
  return file;
}

async function expectInputError(file: string, ...parts: string[]): Promise<void> {
  let err: unknown;
  try {
    const f = await SafetensorsFile.open(file);
    await f.close();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InputError);
  const msg = (err as Error).message;
  expect(msg).toContain(path.basename(file));
  for (const p of parts) expect(msg).toContain(p);
  expect((err as InputError).exitCode).toBe(2);
}

describe('hand-built file is read correctly', () => {
  test('tensors, metadata, data offsets and bytes', async () => {
    // F32 [2] = [1.5, -2], then I8 [3] = [1, 2, 3], then BF16 scalar [] = 0x3f80 (1.0).
    const a = Buffer.alloc(8);
    a.writeFloatLE(1.5, 0);
    a.writeFloatLE(-2, 4);
    const b = Buffer.from([1, 2, 3]);
    const c = Buffer.from([0x80, 0x3f]);
    // JSON order differs from data order on purpose; padding spaces after the JSON are allowed.
    const header =
      '{"b":{"dtype":"I8","shape":[3],"data_offsets":[8,11]},' +
      '"__metadata__":{"format":"pt","note":"hand"},' +
      '"c":{"dtype":"BF16","shape":[],"data_offsets":[11,13]},' +
      '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}   ';
    const file = rawFile(header, Buffer.concat([a, b, c]));
    const f = await SafetensorsFile.open(file);
    try {
      expect(f.metadata).toEqual({ format: 'pt', note: 'hand' });
      expect([...f.tensors.keys()]).toEqual(['a', 'b', 'c']);
      const dataStart = 8 + Buffer.byteLength(header);
      expect(f.tensors.get('b')).toEqual({ name: 'b', dtype: 'I8', shape: [3], byteLength: 3, offset: dataStart + 8, shard: path.basename(file) });
      expect(f.tensors.get('c')!.shape).toEqual([]);
      const ra = await f.readTensor('a');
      expect([ra.readFloatLE(0), ra.readFloatLE(4)]).toEqual([1.5, -2]);
      expect([...(await f.readTensor('b'))]).toEqual([1, 2, 3]);
      expect([...(await f.readTensor('c'))]).toEqual([0x80, 0x3f]);
      expect([...(await f.readRange('b', 1, 3))]).toEqual([2, 3]);
      expect((await f.readRange('a', 4, 4)).length).toBe(0);
      await expect(f.readRange('a', 4, 9)).rejects.toThrow(/outside/);
      await expect(f.readTensor('zzz')).rejects.toThrow(InputError);
    } finally {
      await f.close();
    }
  });

  test('empty header with no data, zero-element tensors, unknown entry keys', async () => {
    const f0 = await SafetensorsFile.open(rawFile('{}'));
    expect(f0.tensors.size).toBe(0);
    expect(f0.metadata).toEqual({});
    await f0.close();
    const header = '{"z":{"dtype":"F16","shape":[0,4],"data_offsets":[0,0],"extra":1},"y":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}';
    const f = await SafetensorsFile.open(rawFile(header, Buffer.from([7, 9])));
    expect(f.tensors.get('z')!.byteLength).toBe(0);
    expect((await f.readTensor('z')).length).toBe(0);
    expect([...(await f.readTensor('y'))]).toEqual([7, 9]);
    await f.close();
  });

  test('a custom shard name is recorded in TensorInfo.shard', async () => {
    const file = rawFile('{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', Buffer.from([5]));
    const f = await SafetensorsFile.open(file, 'sub/shard.safetensors');
    expect(f.tensors.get('t')!.shard).toBe('sub/shard.safetensors');
    await f.close();
  });
});

describe('malformed headers raise InputError naming the file and the problem', () => {
  const t = (name: string, dtype: string, shape: unknown, offsets: unknown) =>
    `${JSON.stringify(name)}:${JSON.stringify({ dtype, shape, data_offsets: offsets })}`;

  test('file shorter than 8 bytes', async () => {
    const file = path.join(tmp, 'tiny.safetensors');
    fs.writeFileSync(file, Buffer.from([1, 2, 3]));
    await expectInputError(file, 'too small');
  });

  test('header length larger than the file', async () => {
    await expectInputError(rawFile('{}', Buffer.alloc(0), 1000), 'header length 1000', 'larger than the file');
  });

  test('header length above the 100 MB cap (file big enough)', async () => {
    // A source that claims 300 MB: only the 8-byte prefix may be read before the error.
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(200 * 1024 * 1024));
    let bytesRead = 0;
    const src: ByteSource = {
      label: '/virtual/huge.safetensors',
      size: async () => 300 * 1024 * 1024,
      read: async (pos, len) => {
        bytesRead += len;
        return prefix.subarray(pos, pos + len);
      },
      close: async () => undefined,
    };
    const err = await SafetensorsFile.fromSource(src, 'huge.safetensors').catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toContain('/virtual/huge.safetensors');
    expect(err.message).toContain(`${MAX_HEADER_BYTES}-byte limit`);
    expect(bytesRead).toBe(8);
    // parseHeader enforces the same cap.
    expect(() => parseHeader(Buffer.alloc(0), 'x.safetensors', 300e6, MAX_HEADER_BYTES + 1)).toThrow(/limit/);
  });

  test('invalid JSON', async () => {
    await expectInputError(rawFile('{"a": '), 'not valid JSON');
  });

  test('JSON that is not an object', async () => {
    await expectInputError(rawFile('[1,2]'), 'not an object');
  });

  test('invalid UTF-8', async () => {
    await expectInputError(rawFile(Buffer.from([0x7b, 0xff, 0x7d])), 'UTF-8');
  });

  test("unknown dtype 'X99'", async () => {
    await expectInputError(rawFile(`{${t('w', 'X99', [1], [0, 1])}}`, Buffer.alloc(1)), "tensor 'w'", 'unknown dtype "X99"');
  });

  test('shape with a negative, fractional or non-number entry, or not an array', async () => {
    for (const shape of [[-1], [1.5], ['2'], 3]) {
      await expectInputError(rawFile(`{${t('w', 'U8', shape, [0, 0])}}`), "tensor 'w'", "field 'shape'");
    }
  });

  test('shape x dtype size differs from end - begin', async () => {
    await expectInputError(rawFile(`{${t('w', 'F32', [2, 3], [0, 20])}}`, Buffer.alloc(20)), "tensor 'w'", 'size mismatch', '24 bytes');
  });

  test('offsets that are not integers, not two numbers, or begin > end', async () => {
    await expectInputError(rawFile(`{${t('w', 'U8', [1], [0.5, 1.5])}}`, Buffer.alloc(2)), "tensor 'w'", "field 'data_offsets'");
    await expectInputError(rawFile(`{${t('w', 'U8', [1], [0])}}`, Buffer.alloc(1)), "tensor 'w'", "field 'data_offsets'");
    await expectInputError(rawFile(`{${t('w', 'U8', [0], [4, 2])}}`, Buffer.alloc(4)), "tensor 'w'", 'begin 4 > end 2');
  });

  test('offsets out of bounds of the file', async () => {
    await expectInputError(rawFile(`{${t('w', 'U8', [8], [0, 8])}}`, Buffer.alloc(4)), "tensor 'w'", 'out of bounds');
  });

  test('overlapping tensors', async () => {
    const h = `{${t('a', 'U8', [4], [0, 4])},${t('b', 'U8', [4], [2, 6])}}`;
    await expectInputError(rawFile(h, Buffer.alloc(6)), "tensor 'b'", "overlaps tensor 'a'");
  });

  test('gap between tensors', async () => {
    const h = `{${t('a', 'U8', [4], [0, 4])},${t('b', 'U8', [2], [6, 8])}}`;
    await expectInputError(rawFile(h, Buffer.alloc(8)), "tensor 'b'", "gap of 2 bytes after tensor 'a'");
  });

  test('gap at the start of the data section', async () => {
    await expectInputError(rawFile(`{${t('a', 'U8', [2], [3, 5])}}`, Buffer.alloc(5)), "tensor 'a'", 'gap of 3 bytes at the start');
  });

  test('trailing bytes after the last tensor', async () => {
    await expectInputError(rawFile(`{${t('a', 'U8', [2], [0, 2])}}`, Buffer.alloc(5)), '3 trailing bytes');
  });

  test('non-string __metadata__ value', async () => {
    await expectInputError(rawFile('{"__metadata__":{"format":"mlx","n":3}}'), "field '__metadata__.n'", 'must be a string');
  });

  test('__metadata__ that is not an object', async () => {
    await expectInputError(rawFile('{"__metadata__":"mlx"}'), "field '__metadata__'");
  });

  test('tensor entry missing a key, or not an object', async () => {
    await expectInputError(rawFile('{"w":{"dtype":"U8","shape":[0]}}'), "tensor 'w'", "missing 'data_offsets'");
    await expectInputError(rawFile('{"w":{"shape":[0],"data_offsets":[0,0]}}'), "tensor 'w'", "missing 'dtype'");
    await expectInputError(rawFile('{"w":[1]}'), "tensor 'w'", 'must be an object');
  });
});

describe('FileSource', () => {
  test('reads exactly, and a read past the end is an I/O error (MtpkitError, not InputError)', async () => {
    const file = path.join(tmp, 'bytes.bin');
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff));
    fs.writeFileSync(file, data);
    const src = await FileSource.open(file);
    expect(await src.size()).toBe(1000);
    expect((await src.read(100, 50)).equals(data.subarray(100, 150))).toBe(true);
    fs.truncateSync(file, 120); // file shrinks under an open reader
    const err = await src.read(100, 50).catch((e) => e);
    expect(err).toBeInstanceOf(MtpkitError);
    expect(err).not.toBeInstanceOf(InputError);
    expect(err.message).toContain('truncated');
    expect(err.message).toContain(file);
    await src.close();
  });

  test('opening a missing file fails with MtpkitError naming it', async () => {
    const missing = path.join(tmp, 'nope.safetensors');
    await expect(FileSource.open(missing)).rejects.toThrow(missing);
  });
});
