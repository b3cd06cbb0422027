/** Range-only reads: shard headers, selected tensors, the whole-shard fallback, the range cache. */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { InputError } from '../../src/errors';
import { RepoCache, RepoFile } from '../../src/hub/cache';
import { cacheProbe, executeFetch, planFetch } from '../../src/hub/fetch-plan';
import { HubRepo } from '../../src/hub/hub-repo';
import { openRemoteCheckpointHeaders } from '../../src/source/remote-checkpoint';
import { SafetensorsFile } from '../../src/safetensors/reader';
import { SHARD1, SHARD2 } from '../support/hub-server/fixtures';
import { Harness, REPO, startHarness } from '../support/hub-server/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h.close());
beforeEach(() => h.server.reset());

const shardKey = (p: string) => new RegExp(`${REPO}/${p.replace(/\./g, '\\.')}$`);

/** Header size (8 + N) read straight from the local file: the independent reference. */
async function localHeaderBytes(shard: string): Promise<number> {
  const buf = await fsp.readFile(path.join(h.dir, shard));
  return 8 + Number(buf.readBigUInt64LE(0));
}

test('shard headers are read by range requests only (bytes served = the header sizes)', async () => {
  const repo = await HubRepo.open(REPO, h.config(await h.newCacheDir()));
  const ckpt = await openRemoteCheckpointHeaders(repo);
  expect(ckpt.shards).toEqual([SHARD1, SHARD2]);
  expect((ckpt.config as { model_type: string }).model_type).toBe('qwen3_next');

  const expected = (await localHeaderBytes(SHARD1)) + (await localHeaderBytes(SHARD2));
  expect(ckpt.headerBytes).toBe(expected);
  expect(h.server.bytesServed(/\.safetensors$/)).toBe(expected);
  // Same tensors as our local reader finds in the same files.
  for (const shard of [SHARD1, SHARD2]) {
    const local = await SafetensorsFile.open(path.join(h.dir, shard));
    const remote = ckpt.headers.get(shard)!;
    expect(remote.tensors.map((t) => [t.name, t.dtype, t.shape, t.offset, t.byteLength, t.shard]).sort()).toEqual(
      [...local.tensors.values()].map((t) => [t.name, t.dtype, t.shape, t.offset, t.byteLength, shard]).sort(),
    );
    await local.close();
  }
  expect(ckpt.tensors.get('mtp.fc.weight')!.shard).toBe(SHARD2);

  // The headers are now in the range cache: a second open serves no shard bytes.
  h.server.resetStats();
  await openRemoteCheckpointHeaders(await HubRepo.open(REPO, h.config(repo.config.cacheDir)));
  expect(h.server.bytesServed(/\.safetensors$/)).toBe(0);
});

test('only the selected tensors are fetched, then read back through a remote ByteSource', async () => {
  const repo = await HubRepo.open(REPO, h.config(await h.newCacheDir()));
  const ckpt = await openRemoteCheckpointHeaders(repo);
  const mtp = [...ckpt.tensors.values()].filter((t) => t.name.startsWith('mtp.'));
  expect(mtp).toHaveLength(2);
  const plan = planFetch(
    repo.files,
    { smallFiles: ['config.json'], tensorRanges: mtp.map((t) => ({ shard: t.shard, start: t.offset, end: t.offset + t.byteLength })) },
    { gapBytes: 0, cached: cacheProbe(repo) },
  );
  const wanted = mtp.reduce((n, t) => n + t.byteLength, 0);
  expect(plan.shards).toEqual([expect.objectContaining({ path: SHARD2, mode: 'ranges', neededBytes: wanted, rangeBytes: wanted })]);
  expect(plan.ranges).toHaveLength(2); // lm_head sits between them
  expect(plan.wholeFiles).toEqual([{ path: 'config.json', size: expect.any(Number), cached: true }]);
  expect(plan.bytesToFetch).toBe(wanted);

  h.server.resetStats();
  const { bytesFetched } = await executeFetch(repo, plan);
  expect(bytesFetched).toBe(wanted);
  expect(h.server.bytesServed(shardKey(SHARD2))).toBe(wanted);
  expect(h.server.bytesServed(shardKey(SHARD1))).toBe(0);
  expect(repo.isWholeCached(SHARD2)).toBe(false);

  h.server.resetStats();
  const file = await SafetensorsFile.fromSource(repo.byteSource(SHARD2), SHARD2);
  for (const t of mtp) expect((await file.readTensor(t.name)).equals(h.tensors.get(t.name)!.data)).toBe(true);
  expect(h.server.requests).toHaveLength(0);
  // A tensor we did not plan for is fetched on demand (and only its bytes).
  const lm = await file.readTensor('lm_head.weight');
  expect(lm.equals(h.tensors.get('lm_head.weight')!.data)).toBe(true);
  expect(h.server.bytesServed()).toBe(lm.length);
});

test('above the fraction, the whole shard is fetched (and verified) instead of ranges', async () => {
  const repo = await HubRepo.open(REPO, h.config(await h.newCacheDir()));
  const ckpt = await openRemoteCheckpointHeaders(repo);
  const pick = ['mtp.fc.weight', 'lm_head.weight'].map((n) => ckpt.tensors.get(n)!);
  const plan = planFetch(repo.files, { smallFiles: [], tensorRanges: pick.map((t) => ({ shard: t.shard, start: t.offset, end: t.offset + t.byteLength })) });
  const size = repo.file(SHARD2).size;
  expect(plan.shards[0].mode).toBe('whole');
  expect(plan.wholeFiles).toEqual([{ path: SHARD2, size, cached: false }]);
  expect(plan.ranges).toEqual([]);
  h.server.resetStats();
  await executeFetch(repo, plan);
  expect(h.server.bytesServed(shardKey(SHARD2))).toBe(size);
  expect(repo.isWholeCached(SHARD2)).toBe(true);
  // Range reads now come from the whole blob.
  h.server.resetStats();
  const t = pick[1];
  expect((await repo.readRange(SHARD2, t.offset, t.offset + t.byteLength)).equals(h.tensors.get(t.name)!.data)).toBe(true);
  expect(h.server.requests).toHaveLength(0);
});

test('planFetch: merging by gap, the fraction threshold, totals, cached parts, bad input', () => {
  const files: RepoFile[] = [
    { path: 'a.safetensors', size: 1000, oid: 'x'.repeat(40) },
    { path: 'b.safetensors', size: 1000, oid: 'y'.repeat(40) },
    { path: 'config.json', size: 50, oid: 'z'.repeat(40) },
  ];
  const needs = {
    smallFiles: ['config.json'],
    tensorRanges: [
      { shard: 'a.safetensors', start: 100, end: 150 },
      { shard: 'a.safetensors', start: 160, end: 200 }, // 10-byte gap
      { shard: 'a.safetensors', start: 120, end: 140 }, // overlap
      { shard: 'a.safetensors', start: 600, end: 700 },
      { shard: 'b.safetensors', start: 0, end: 300 },
      { shard: 'b.safetensors', start: 400, end: 601 }, // 501 bytes > half of b
    ],
  };
  const p0 = planFetch(files, needs, { gapBytes: 0 });
  expect(p0.ranges).toEqual([
    { path: 'a.safetensors', start: 100, end: 150, cached: false },
    { path: 'a.safetensors', start: 160, end: 200, cached: false },
    { path: 'a.safetensors', start: 600, end: 700, cached: false },
  ]);
  expect(p0.shards.find((s) => s.path === 'a.safetensors')).toEqual({ path: 'a.safetensors', size: 1000, neededBytes: 190, rangeBytes: 190, mode: 'ranges' });
  expect(p0.wholeFiles.map((f) => f.path).sort()).toEqual(['b.safetensors', 'config.json']);
  expect(p0.bytesToFetch).toBe(190 + 1000 + 50);

  const p10 = planFetch(files, needs, { gapBytes: 10 });
  expect(p10.ranges.map((r) => [r.start, r.end])).toEqual([[100, 200], [600, 700]]);
  expect(p10.bytesRanges).toBe(200);
  // The threshold applies to merged bytes: a 400-byte gap merge (600 > 500) flips shard a to whole.
  const p400 = planFetch(files, needs, { gapBytes: 400 });
  expect(p400.shards.find((s) => s.path === 'a.safetensors')!.mode).toBe('whole');
  expect(planFetch(files, needs, { gapBytes: 0, wholeShardFraction: 0.6 }).shards.find((s) => s.path === 'b.safetensors')!.mode).toBe('ranges');

  const cached = planFetch(files, needs, {
    gapBytes: 0,
    cached: { whole: (p) => p === 'config.json', range: (p, s) => p === 'a.safetensors' && s === 600 },
  });
  expect(cached.bytesToFetch).toBe(90 + 1000);

  expect(() => planFetch(files, { smallFiles: ['missing.json'], tensorRanges: [] })).toThrow(InputError);
  expect(() => planFetch(files, { smallFiles: [], tensorRanges: [{ shard: 'a.safetensors', start: 900, end: 1001 }] })).toThrow(/outside the file's 1000 bytes/);
});

test('long ranges are split into bounded requests; pieces are stitched back on read', async () => {
  const repo = await HubRepo.open(REPO, h.config(await h.newCacheDir(), { concurrency: 2 }), { maxRangeRequestBytes: 4096 });
  const src = await fsp.readFile(path.join(h.dir, SHARD1));
  await repo.fetchRanges(SHARD1, [{ start: 1000, end: 11_000 }]);
  const gets = h.server.requests.filter((r) => r.path.startsWith('/cdn/'));
  expect(gets.map((r) => r.range)).toEqual(expect.arrayContaining(['bytes=1000-5095', 'bytes=5096-9191', 'bytes=9192-10999']));
  expect(h.server.bytesServed()).toBe(10_000);
  h.server.resetStats();
  expect((await repo.readRange(SHARD1, 1500, 10_500)).equals(src.subarray(1500, 10_500))).toBe(true);
  expect(h.server.requests).toHaveLength(0);
  // Overlapping request: only the missing tail is fetched.
  await repo.fetchRanges(SHARD1, [{ start: 9000, end: 12_000 }]);
  expect(h.server.bytesServed()).toBe(1000);
});

test('a damaged range file is dropped and fetched again; a cut range is resumed', async () => {
  const cacheDir = await h.newCacheDir();
  const repo = await HubRepo.open(REPO, h.config(cacheDir));
  const src = await fsp.readFile(path.join(h.dir, SHARD2));
  await repo.readRange(SHARD2, 500, 2500);
  const id = repo.files.find((f) => f.path === SHARD2)!.lfs!.oid;
  const rangeFile = path.join(new RepoCache(cacheDir, REPO).rangesDir, id, '500-2500.bin');
  await fsp.truncate(rangeFile, 100);
  h.server.resetStats();
  expect((await repo.readRange(SHARD2, 500, 2500)).equals(src.subarray(500, 2500))).toBe(true);
  expect(h.server.bytesServed()).toBe(2000);
  expect((await fsp.stat(rangeFile)).size).toBe(2000);

  h.server.resetStats();
  h.server.faults.cut.push({ match: shardKey(SHARD2), afterBytes: 20_000, times: 1 });
  await repo.fetchRanges(SHARD2, [{ start: 3000, end: 60_000 }]);
  expect(h.server.bytesServed()).toBeLessThan(57_000 + 20_000);
  expect((await repo.readRange(SHARD2, 3000, 60_000)).equals(src.subarray(3000, 60_000))).toBe(true);
  // Nothing partial sits in blobs/.
  expect(repo.isWholeCached(SHARD2)).toBe(false);
  expect(await fsp.readdir(path.join(cacheDir, 'models--org--model', 'blobs')).catch(() => [])).not.toContain(id);
});

test('a range outside the file is an InputError', async () => {
  const repo = await HubRepo.open(REPO, h.config(await h.newCacheDir()));
  const size = repo.file(SHARD1).size;
  await expect(repo.readRange(SHARD1, size - 4, size + 4)).rejects.toBeInstanceOf(InputError);
  await expect(repo.byteSource(SHARD1).read(size, 1)).rejects.toThrow(/outside the file/);
  expect(await repo.byteSource(SHARD1).size()).toBe(size);
});

test('range requests run in parallel up to the configured concurrency, not beyond', async () => {
  const repo = await HubRepo.open(REPO, h.config(await h.newCacheDir(), { concurrency: 2 }), { maxRangeRequestBytes: 2000 });
  h.server.faults.delay.push({ match: /^GET \/cdn\//, ms: 80 });
  await repo.fetchRanges(SHARD1, [{ start: 0, end: 12_000 }]);
  expect(h.server.requests.filter((r) => r.path.startsWith('/cdn/'))).toHaveLength(6);
  expect(h.server.peakCdnInFlight).toBe(2);
});

test('a server that ignores Range still yields the right bytes (ranges and resumed downloads)', async () => {
  h.server.faults.ignoreRange = true;
  const cacheDir = await h.newCacheDir();
  const repo = await HubRepo.open(REPO, h.config(cacheDir));
  const src = await fsp.readFile(path.join(h.dir, SHARD1));
  expect((await repo.readRange(SHARD1, 1000, 3000)).equals(src.subarray(1000, 3000))).toBe(true);
  await repo.fetchRanges(SHARD1, [{ start: 20_000, end: 21_000 }]);
  expect((await repo.readRange(SHARD1, 20_000, 21_000)).equals(src.subarray(20_000, 21_000))).toBe(true);
  expect(h.server.requests.filter((r) => r.path.startsWith('/cdn/')).every((r) => r.status === 200)).toBe(true);
  const cache = new RepoCache(cacheDir, REPO);
  const id = repo.file(SHARD1).lfs!.oid;
  await fsp.mkdir(cache.blobsDir, { recursive: true });
  await fsp.writeFile(cache.incompletePath(id), src.subarray(0, 5000));
  expect((await fsp.readFile(await repo.ensureFile(SHARD1))).equals(src)).toBe(true);
});
