/**
 * LocalSource.inputDigests over several shards hashed from the executor's reads: lanes take the shards
 * the executor has not started, nearest first, while the executor's reads hash the others. Every
 * shard's digest must be its sha256 (node's crypto over the file), each shard hashed exactly once (by
 * the read pass or by a lane, never both, never neither), and a lane never takes a started shard.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as sha256Stream from '../../src/native/sha256-stream';
import { seededRng } from '../../src/numeric/prng';
import { buildHeader } from '../../src/safetensors/writer';
import type { InputFileDigest, SourceRead } from '../../src/source/checkpoint-source';
import { LocalSource } from '../../src/source/local-source';
import { ReadPassHash } from '../../src/source/read-pass-hash';

const SHARDS = 5;
const PER_SHARD = 3;
let tmp: string;
/** Tensor names in file order, shard by shard: the order a dense conversion reads them. */
const names: string[] = [];
const shardFiles: string[] = [];

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-lanes-'));
  const rng = seededRng(5);
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < SHARDS; s++) {
    const file = `model-${s + 1}-of-${SHARDS}.safetensors`;
    shardFiles.push(file);
    const specs = Array.from({ length: PER_SHARD }, (_, t) => ({ name: `w.${s}.${t}`, dtype: 'U8' as const, shape: [200_000 + 1000 * t] }));
    const { header, dataBytes } = buildHeader(specs, { format: 'pt' });
    const data = Buffer.alloc(dataBytes);
    for (let i = 0; i < data.length; i++) data[i] = Math.floor(rng() * 256);
    fs.writeFileSync(path.join(tmp, file), Buffer.concat([header, data]));
    for (const t of specs) {
      weightMap[t.name] = file;
      names.push(t.name);
    }
  }
  fs.writeFileSync(path.join(tmp, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const sha256Of = (file: string) => createHash('sha256').update(fs.readFileSync(path.join(tmp, file))).digest('hex');

/**
 * Who hashed which shard: `digested` the read pass (ReadPassHash.digest, after the reads), `fromFile`
 * a lane (the whole file), `tracked` the shards LocalSource routed a read to a read pass for.
 */
function countHashing() {
  const digested: string[] = [];
  const fromFile: string[] = [];
  const tracked = new Set<string>();
  const digest = ReadPassHash.prototype.digest;
  const d = jest.spyOn(ReadPassHash.prototype, 'digest').mockImplementation(function (this: ReadPassHash) {
    digested.push(this.label);
    return digest.call(this);
  });
  const track = ReadPassHash.prototype.track;
  const t = jest.spyOn(ReadPassHash.prototype, 'track').mockImplementation(function (this: ReadPassHash, ...args: Parameters<ReadPassHash['track']>) {
    tracked.add(this.label);
    return track.apply(this, args);
  });
  const whole = sha256Stream.sha256FileNative;
  const f = jest.spyOn(sha256Stream, 'sha256FileNative').mockImplementation((file: string) => {
    fromFile.push(path.basename(file));
    return whole(file);
  });
  return { digested, fromFile, tracked, restore: () => (d.mockRestore(), t.mockRestore(), f.mockRestore()) };
}

/** Every digest is the file's sha256 and size; every shard hashed by exactly one side, never both. */
function expectHashedOnce(src: LocalSource, d: InputFileDigest[], c: ReturnType<typeof countHashing>) {
  expect(d.map((x) => x.path)).toEqual(src.shards);
  for (const x of d) expect({ size: x.size, sha256: x.sha256 }).toEqual({ size: fs.statSync(path.join(tmp, x.path)).size, sha256: sha256Of(x.path) });
  expect([...c.digested, ...c.fromFile].sort()).toEqual([...src.shards].sort());
  // A shard a lane hashed had no read routed to its read pass, before the claim or after.
  expect(c.fromFile.filter((s) => c.tracked.has(s))).toEqual([]);
}

/** Reads every tensor whole, in order, the way the executor does (each buffer reused only once unused). */
async function readAll(src: LocalSource, tensors: string[]): Promise<void> {
  for (const name of tensors) {
    const dest = Buffer.alloc(src.tensors.get(name)!.byteLength);
    await src.readRangeInto(name, 0, dest);
    await src.whenUnused(dest);
  }
}

const readsOf = (src: LocalSource, tensors: string[]): SourceRead[] => tensors.map((tensor) => ({ tensor, start: 0, end: src.tensors.get(tensor)!.byteLength }));

/**
 * A conversion's input hashing in miniature: the read pass planned over `planned`, the executor
 * reading `before`, then the lanes starting (inputDigests) and the executor reading `after` beside
 * them. Checks every digest and that each shard was hashed by one side; returns who hashed what.
 */
async function hashRun(planned: string[], before: string[], after: string[]) {
  const src = await LocalSource.open(tmp);
  const c = countHashing();
  try {
    expect(src.shards).toEqual(shardFiles);
    await src.hashWhileReading(readsOf(src, planned));
    await readAll(src, before);
    const digests = src.inputDigests();
    await readAll(src, after);
    src.endReadPass();
    expectHashedOnce(src, await digests, c);
    return c;
  } finally {
    c.restore();
    await src.close();
  }
}

test('lanes claim the next shards at once, then the executor reads them: every shard hashed once, digests = sha256', async () => {
  // The two lanes claim the second and third shards synchronously, before any read: the executor's
  // reads of them must not reach their read pass (expectHashedOnce), and the first stays with it.
  const c = await hashRun(names, [], names);
  expect(c.tracked.has(shardFiles[0])).toBe(true);
  expect(c.digested).toContain(shardFiles[0]);
  expect(c.fromFile).toEqual(expect.arrayContaining([shardFiles[1], shardFiles[2]]));
});

test('a shard the executor has started is left to the read pass', async () => {
  // The executor has read one tensor of every shard, out of order, before the lanes look.
  const firsts = shardFiles.map((_, s) => `w.${s}.1`).reverse();
  const c = await hashRun(names, firsts, names);
  expect(c.fromFile).toEqual([]);
  expect([...c.digested].sort()).toEqual(shardFiles);
});

test('shards the executor never reads (kept by --resume) are hashed by the lanes or at the end', async () => {
  await hashRun(names, [], names.filter((n) => n.startsWith('w.1.')));
});

// Reads in shuffled and round-robin (MoE-like: experts gathered across shards) orders, the lanes
// looking at any point of them and running beside them.
test.each([1, 2, 3, 4, 5, 6, 7, 8])('read order %i, lanes concurrent with the reads: every shard hashed once', async (seed) => {
  const rng = seededRng(100 + seed);
  const order =
    seed % 2
      ? [...names].map((n) => [rng(), n] as const).sort((a, b) => a[0] - b[0]).map(([, n]) => n)
      : Array.from({ length: PER_SHARD }, (_, t) => Array.from({ length: SHARDS }, (_, s) => `w.${s}.${t}`)).flat();
  const before = Math.floor(rng() * (order.length + 1));
  await hashRun(order, order.slice(0, before), order.slice(before));
});
