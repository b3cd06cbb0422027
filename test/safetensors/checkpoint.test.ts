/** Checkpoint folders: index handling and its validation, shard naming styles, single files, readJson. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { InputError } from '../../src/errors';
import { Checkpoint } from '../../src/safetensors/checkpoint';
import { readIndexFile } from '../../src/safetensors/index-file';
import { formatQwen35ShardName } from '../../src/safetensors/shard-names';
import { writeSafetensorsFile } from '../../src/safetensors/writer';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-st-ckpt-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A shard of U8 tensors whose bytes are all `fill` (distinct per tensor). */
async function shard(dir: string, file: string, tensors: [string, number, number][]): Promise<void> {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  await writeSafetensorsFile(
    path.join(dir, file),
    tensors.map(([name, size, fill]) => ({ spec: { name, dtype: 'U8', shape: [size] }, data: Buffer.alloc(size, fill) })),
  );
}

function writeIndex(dir: string, weightMap: Record<string, string>): string {
  const file = path.join(dir, 'model.safetensors.index.json');
  fs.writeFileSync(file, JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
  return file;
}

async function openError(p: string): Promise<InputError> {
  const err = await Checkpoint.open(p).then(
    async (c) => {
      await c.close();
      return undefined;
    },
    (e) => e,
  );
  expect(err).toBeInstanceOf(InputError);
  return err as InputError;
}

test('Qwen3.5-style shards through the index: all tensors known, reads hit the right shard', async () => {
  const s1 = formatQwen35ShardName(1, 2);
  const s2 = formatQwen35ShardName(2, 2);
  expect(s1).toBe('model.safetensors-00001-of-00002.safetensors');
  await shard(tmp, s1, [['a', 3, 1], ['b', 5, 2]]);
  await shard(tmp, s2, [['c', 4, 3]]);
  writeIndex(tmp, { c: s2, a: s1, b: s1 });
  fs.writeFileSync(path.join(tmp, 'config.json'), '{"model_type":"qwen3_5","text_config":{"hidden_size":8}}');
  // A sidecar not named in the index is not part of the checkpoint.
  await shard(tmp, 'mtp.safetensors', [['mtp.fc.weight', 2, 9]]);

  const ck = await Checkpoint.open(tmp);
  try {
    expect(ck.dir).toBe(path.resolve(tmp));
    expect(ck.shards).toEqual([s1, s2]);
    expect([...ck.tensors.keys()]).toEqual(['a', 'b', 'c']);
    expect(ck.tensors.get('c')!.shard).toBe(s2);
    expect(ck.metadataByShard.get(s2)).toEqual({ format: 'mlx' });
    expect([...(await ck.readTensor('b'))]).toEqual([2, 2, 2, 2, 2]);
    expect([...(await ck.readTensor('c'))]).toEqual([3, 3, 3, 3]);
    expect([...(await ck.readRange('a', 1, 3))]).toEqual([1, 1]);
    expect(await ck.readJson('config.json')).toEqual({ model_type: 'qwen3_5', text_config: { hidden_size: 8 } });
    expect(await ck.readJson('generation_config.json')).toBeUndefined();
    await expect(ck.readTensor('mtp.fc.weight')).rejects.toThrow(InputError);
  } finally {
    await ck.close();
  }
});

test('a path to the index file opens its folder', async () => {
  await shard(tmp, 'model-00001-of-00001.safetensors', [['x', 1, 1]]);
  const idx = writeIndex(tmp, { x: 'model-00001-of-00001.safetensors' });
  const ck = await Checkpoint.open(idx);
  expect(ck.shards).toEqual(['model-00001-of-00001.safetensors']);
  await ck.close();
});

test('readJson on invalid JSON is an InputError naming the file', async () => {
  await shard(tmp, 'model.safetensors', [['x', 1, 1]]);
  fs.writeFileSync(path.join(tmp, 'config.json'), '{"a": 1,');
  const ck = await Checkpoint.open(tmp);
  const err: Error = await ck.readJson('config.json').then(() => new Error('no error'), (e) => e);
  expect(err).toBeInstanceOf(InputError);
  expect(err.message).toContain(path.join(tmp, 'config.json'));
  await expect(ck.readJson('../outside.json')).rejects.toThrow(/escapes/);
  await ck.close();
});

test('without an index: model.safetensors alone, even with other files present', async () => {
  await shard(tmp, 'model.safetensors', [['x', 1, 1]]);
  await shard(tmp, 'mtp.safetensors', [['mtp.y', 1, 2]]);
  const ck = await Checkpoint.open(tmp);
  expect(ck.shards).toEqual(['model.safetensors']);
  expect([...ck.tensors.keys()]).toEqual(['x']);
  await ck.close();
});

test('without an index or model.safetensors: every *.safetensors, sorted', async () => {
  await shard(tmp, 'model-00002-of-00002.safetensors', [['y', 2, 2]]);
  await shard(tmp, 'model-00001-of-00002.safetensors', [['x', 1, 1]]);
  await shard(tmp, 'mtp.safetensors', [['mtp.z', 1, 3]]);
  fs.writeFileSync(path.join(tmp, 'notes.txt'), 'ignored');
  const ck = await Checkpoint.open(tmp);
  expect(ck.shards).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'mtp.safetensors']);
  expect([...(await ck.readTensor('mtp.z'))]).toEqual([3]);
  await ck.close();
});

test('a single .safetensors file: just that file, dir is its folder', async () => {
  await shard(tmp, 'model-00001-of-00002.safetensors', [['x', 1, 1]]);
  await shard(tmp, 'model-00002-of-00002.safetensors', [['y', 1, 2]]);
  fs.writeFileSync(path.join(tmp, 'config.json'), '{"k":1}');
  const ck = await Checkpoint.open(path.join(tmp, 'model-00002-of-00002.safetensors'));
  expect(ck.dir).toBe(path.resolve(tmp));
  expect(ck.shards).toEqual(['model-00002-of-00002.safetensors']);
  expect([...ck.tensors.keys()]).toEqual(['y']);
  expect(await ck.readJson('config.json')).toEqual({ k: 1 });
  await ck.close();
});

test('openFiles opens a chosen set, including a sub-folder shard', async () => {
  await shard(tmp, 'model.safetensors', [['x', 1, 1]]);
  await shard(tmp, 'mtp/weights.safetensors', [['mtp.w', 2, 4]]);
  const ck = await Checkpoint.openFiles(tmp, ['model.safetensors', 'mtp/weights.safetensors']);
  expect(ck.tensors.get('mtp.w')!.shard).toBe('mtp/weights.safetensors');
  expect([...(await ck.readTensor('mtp.w'))]).toEqual([4, 4]);
  await ck.close();
});

describe('inconsistent checkpoints raise InputError naming the file and the problem', () => {
  test('missing path, empty folder', async () => {
    expect((await openError(path.join(tmp, 'nope'))).message).toContain('no such file or folder');
    expect((await openError(tmp)).message).toContain('no .safetensors files');
  });

  test('index naming a shard missing on disk', async () => {
    await shard(tmp, 'model-00001-of-00002.safetensors', [['a', 1, 1]]);
    const idx = writeIndex(tmp, { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' });
    const err = await openError(tmp);
    expect(err.message).toContain(idx);
    expect(err.message).toContain("shard 'model-00002-of-00002.safetensors'");
    expect(err.message).toContain('missing');
  });

  test('index naming a tensor absent from the shard header', async () => {
    await shard(tmp, 'model.safetensors', [['a', 1, 1]]);
    const idx = writeIndex(tmp, { a: 'model.safetensors', ghost: 'model.safetensors' });
    const err = await openError(tmp);
    expect(err.message).toContain(idx);
    expect(err.message).toContain("tensor 'ghost'");
    expect(err.message).toContain('does not contain it');
  });

  test('index placing a tensor in the wrong shard', async () => {
    await shard(tmp, 's1.safetensors', [['a', 1, 1]]);
    await shard(tmp, 's2.safetensors', [['b', 1, 1]]);
    writeIndex(tmp, { a: 's2.safetensors', b: 's2.safetensors' });
    const err = await openError(tmp);
    // s1 is not in the index, so only s2 is opened and 'a' is not in it.
    expect(err.message).toContain("tensor 'a'");
    expect(err.message).toContain("'s2.safetensors'");
  });

  test('tensor in a shard header but not in the index', async () => {
    await shard(tmp, 'model.safetensors', [['a', 1, 1], ['extra', 1, 2]]);
    const idx = writeIndex(tmp, { a: 'model.safetensors' });
    const err = await openError(tmp);
    expect(err.message).toContain(idx);
    expect(err.message).toContain("tensor 'extra'");
    expect(err.message).toContain('missing from the index');
  });

  test('duplicate tensor names across shards (with and without index)', async () => {
    await shard(tmp, 'model-00001-of-00002.safetensors', [['dup', 1, 1]]);
    await shard(tmp, 'model-00002-of-00002.safetensors', [['dup', 1, 2]]);
    const e1 = await openError(tmp);
    expect(e1.message).toContain("tensor 'dup'");
    expect(e1.message).toContain("'model-00001-of-00002.safetensors' and 'model-00002-of-00002.safetensors'");
    // With an index listing both shards (through other tensors) the duplicate is still caught.
    await shard(tmp, 'model-00001-of-00002.safetensors', [['dup', 1, 1], ['p', 1, 1]]);
    await shard(tmp, 'model-00002-of-00002.safetensors', [['dup', 1, 2], ['q', 1, 1]]);
    writeIndex(tmp, { dup: 'model-00001-of-00002.safetensors', p: 'model-00001-of-00002.safetensors', q: 'model-00002-of-00002.safetensors' });
    const e2 = await openError(tmp);
    expect(e2.message).toContain("tensor 'dup'");
    expect(e2.message).toContain('duplicate');
  });

  test('../evil.safetensors in the index', async () => {
    const inner = path.join(tmp, 'ckpt');
    await shard(inner, 'model.safetensors', [['a', 1, 1]]);
    await shard(tmp, 'evil.safetensors', [['b', 1, 1]]); // exists, so only the path check can stop it
    const idx = writeIndex(inner, { a: 'model.safetensors', b: '../evil.safetensors' });
    const err = await openError(inner);
    expect(err.message).toContain(idx);
    expect(err.message).toContain("tensor 'b'");
    expect(err.message).toContain('"../evil.safetensors"');
    expect(err.message).toContain('escapes');
  });

  test('absolute path, backslashes and a non-safetensors file in the index', async () => {
    await shard(tmp, 'model.safetensors', [['a', 1, 1]]);
    const abs = path.join(tmp, 'model.safetensors');
    writeIndex(tmp, { a: abs });
    expect((await openError(tmp)).message).toContain('absolute');
    writeIndex(tmp, { a: 'sub\\model.safetensors' });
    expect((await openError(tmp)).message).toContain('backslash');
    writeIndex(tmp, { a: 'model.bin' });
    expect((await openError(tmp)).message).toContain('not a .safetensors file');
  });

  test('index with a non-object weight_map, a non-string entry, invalid JSON', async () => {
    await shard(tmp, 'model.safetensors', [['a', 1, 1]]);
    const file = path.join(tmp, 'model.safetensors.index.json');
    fs.writeFileSync(file, '{"weight_map": ["model.safetensors"]}');
    expect((await openError(tmp)).message).toContain("field 'weight_map'");
    fs.writeFileSync(file, '{"weight_map": {"a": 3}}');
    const e = await openError(tmp);
    expect(e.message).toContain("tensor 'a'");
    expect(e.message).toContain('must be a string');
    fs.writeFileSync(file, '{"weight_map": ');
    expect((await openError(tmp)).message).toContain(file);
    await expect(readIndexFile(path.join(tmp, 'missing'))).rejects.toThrow(/not found/);
  });

  test('a malformed shard header is reported with the shard path', async () => {
    await shard(tmp, 'model.safetensors', [['a', 1, 1]]);
    const bad = path.join(tmp, 'model.safetensors');
    const bytes = fs.readFileSync(bad);
    fs.writeFileSync(bad, bytes.subarray(0, bytes.length - 1)); // truncated data section
    expect((await openError(tmp)).message).toContain(bad);
  });
});
