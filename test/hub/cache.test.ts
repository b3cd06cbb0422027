/** Whole-file downloads into the HF cache: layout, reuse, resume, retries, verification, offline, pinning. */
import { createHash } from 'crypto';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { snapshotDownload } from '@huggingface/hub';
import { InputError } from '../../src/errors';
import { RepoCache } from '../../src/hub/cache';
import { gitBlobSha1 } from '../../src/hub/content-hash';
import { HubRepo, ProgressEvent } from '../../src/hub/hub-repo';
import { makeSampleCheckpoint, SHARD1, SHARD2 } from '../support/hub-server/fixtures';
import { Harness, listTree, REPO, startHarness, TOKEN } from '../support/hub-server/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h.close());
beforeEach(() => h.server.reset());

async function sourceBytes(rel: string): Promise<Buffer> {
  return fsp.readFile(path.join(h.dir, rel));
}
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const shardKey = (p: string) => new RegExp(`${REPO}/${p.replace(/\./g, '\\.')}$`);

test('whole files land in the standard HF cache layout (sha256 / git-sha1 blobs, relative snapshot links, refs/main)', async () => {
  const cacheDir = await h.newCacheDir();
  const repo = await HubRepo.open(REPO, h.config(cacheDir));
  expect(repo.commit).toBe(h.commit);
  const shardPath = await repo.ensureFile(SHARD1);
  const configPath = await repo.ensureFile('config.json');
  const nestedPath = await repo.ensureFile('extra/notes.txt');

  const root = path.join(cacheDir, 'models--org--model');
  const shard = await sourceBytes(SHARD1);
  const config = await sourceBytes('config.json');
  const nested = await sourceBytes('extra/notes.txt');
  // Blob names computed independently from the source bytes.
  const ids = [sha256(shard), gitBlobSha1(config), gitBlobSha1(nested)];
  expect(gitBlobSha1(config)).toBe(createHash('sha1').update(Buffer.concat([Buffer.from(`blob ${config.length}\0`), config])).digest('hex'));
  expect((await listTree(path.join(root, 'blobs'))).sort()).toEqual([...ids].sort());
  expect(await fsp.readFile(path.join(root, 'refs', 'main'), 'utf8')).toBe(h.commit);

  expect(shardPath).toBe(path.join(root, 'snapshots', h.commit, SHARD1));
  expect(await fsp.readlink(shardPath)).toBe(`../../blobs/${ids[0]}`);
  expect(await fsp.readlink(configPath)).toBe(`../../blobs/${ids[1]}`);
  expect(await fsp.readlink(nestedPath)).toBe(`../../../blobs/${ids[2]}`);
  expect((await fsp.readFile(shardPath)).equals(shard)).toBe(true);
  expect((await fsp.readFile(nestedPath)).equals(nested)).toBe(true);
  expect(h.server.bytesServed(shardKey(SHARD1))).toBe(shard.length);
});

test('a second run over the same cache serves 0 file bytes', async () => {
  const cacheDir = await h.newCacheDir();
  const first = await HubRepo.open(REPO, h.config(cacheDir));
  for (const f of first.files) await first.ensureFile(f.path);
  await first.readRange(SHARD2, 100, 200);
  h.server.resetStats();

  const second = await HubRepo.open(REPO, h.config(cacheDir));
  for (const f of second.files) await second.ensureFile(f.path);
  const bytes = await second.readRange(SHARD2, 100, 200);
  expect(bytes.equals((await sourceBytes(SHARD2)).subarray(100, 200))).toBe(true);
  expect(h.server.bytesServed()).toBe(0);
  expect(second.bytesFetched).toBe(0);
  // Pinned to a sha with a saved listing: no request at all.
  h.server.resetStats();
  const third = await HubRepo.open(`${REPO}@${h.commit}`, h.config(cacheDir));
  await third.ensureFile(SHARD2);
  expect(h.server.requests).toHaveLength(0);
});

test('a cache filled by @huggingface/hub snapshotDownload is reused, online and offline', async () => {
  const cacheDir = await h.newCacheDir();
  const quiet = jest.spyOn(console, 'debug').mockImplementation(() => undefined);
  await snapshotDownload({ repo: REPO, cacheDir, hubUrl: h.server.url, accessToken: TOKEN });
  quiet.mockRestore();
  h.server.resetStats();
  const online = await HubRepo.open(REPO, h.config(cacheDir));
  for (const f of online.files) await online.ensureFile(f.path);
  expect(h.server.bytesServed()).toBe(0);

  // Offline with no listing of ours (delete it): derived from the other client's snapshot.
  await fsp.rm(path.join(cacheDir, 'models--org--model', 'mtpkit-trees'), { recursive: true });
  h.server.resetStats();
  const offline = await HubRepo.open(REPO, h.config(cacheDir, { offline: true }));
  expect(offline.commit).toBe(h.commit);
  expect(offline.files.map((f) => f.path).sort()).toEqual(online.files.map((f) => f.path).sort());
  const p = await offline.ensureFile(SHARD1);
  expect((await fsp.readFile(p)).equals(await sourceBytes(SHARD1))).toBe(true);
  expect(h.server.requests).toHaveLength(0);
});

test('a download cut mid-way resumes from where it stopped (no second full transfer)', async () => {
  const size = (await sourceBytes(SHARD2)).length;
  h.server.faults.cut.push({ match: shardKey(SHARD2), afterBytes: 40_000, times: 1 });
  const cacheDir = await h.newCacheDir();
  const repo = await HubRepo.open(REPO, h.config(cacheDir));
  const p = await repo.ensureFile(SHARD2);
  expect((await fsp.readFile(p)).equals(await sourceBytes(SHARD2))).toBe(true);
  const served = h.server.bytesServed(shardKey(SHARD2));
  expect(served).toBeGreaterThanOrEqual(size);
  expect(served).toBeLessThan(size + 20_000); // at most what was in flight when the connection died
  const resumed = h.server.requests.filter((r) => r.path.startsWith('/cdn/') && r.range && !r.range.startsWith('bytes=0-'));
  expect(resumed).toHaveLength(1);
});

test('a partial download left by an earlier run is continued with a Range request', async () => {
  const data = await sourceBytes(SHARD1);
  const cacheDir = await h.newCacheDir();
  const cache = new RepoCache(cacheDir, REPO);
  await fsp.mkdir(cache.blobsDir, { recursive: true });
  await fsp.writeFile(cache.incompletePath(sha256(data)), data.subarray(0, 30_000));
  const repo = await HubRepo.open(REPO, h.config(cacheDir));
  const p = await repo.ensureFile(SHARD1);
  expect((await fsp.readFile(p)).equals(data)).toBe(true);
  expect(h.server.bytesServed(shardKey(SHARD1))).toBe(data.length - 30_000);
  expect(h.server.requests.some((r) => r.range === `bytes=30000-${data.length - 1}`)).toBe(true);
  expect(await listTree(cache.blobsDir)).toEqual([sha256(data)]);
});

test('a damaged partial download from an earlier run is discarded and fetched again', async () => {
  const data = await sourceBytes(SHARD1);
  const cacheDir = await h.newCacheDir();
  const cache = new RepoCache(cacheDir, REPO);
  await fsp.mkdir(cache.blobsDir, { recursive: true });
  await fsp.writeFile(cache.incompletePath(sha256(data)), Buffer.alloc(20_000, 7));
  const repo = await HubRepo.open(REPO, h.config(cacheDir));
  expect((await fsp.readFile(await repo.ensureFile(SHARD1))).equals(data)).toBe(true);
  expect(h.server.bytesServed(shardKey(SHARD1))).toBe(data.length - 20_000 + data.length);
});

test('5xx answers are retried with backoff; too many of them fail clearly', async () => {
  const cacheDir = await h.newCacheDir();
  h.server.faults.fail.push({ match: /^GET \/api\/models\/org\/model\/revision/, status: 503, times: 1 });
  h.server.faults.fail.push({ match: /^GET \/cdn\/.*model-00001/, status: 500, times: 2 });
  const repo = await HubRepo.open(REPO, h.config(cacheDir));
  const p = await repo.ensureFile(SHARD1);
  expect((await fsp.readFile(p)).equals(await sourceBytes(SHARD1))).toBe(true);
  expect(h.server.requests.filter((r) => r.status >= 500)).toHaveLength(3);

  h.server.faults.fail.push({ match: /^GET \/cdn\/.*model-00002/, status: 502, times: 10 });
  const limited = await HubRepo.open(REPO, h.config(cacheDir, { maxAttempts: 3 }));
  await expect(limited.ensureFile(SHARD2)).rejects.toThrow(/model-00002-of-00002\.safetensors.*HTTP 502/);
  expect(h.server.faults.fail[2].times).toBe(7);
  expect(await listTree(path.join(cacheDir, 'models--org--model', 'blobs'))).not.toContain(sha256(await sourceBytes(SHARD2)));
});

test('a flipped byte is rejected: clear error, nothing in blobs/, no snapshot link, no leftover partial', async () => {
  const cacheDir = await h.newCacheDir();
  h.server.faults.flip.push({ file: `${REPO}/${SHARD1}`, offset: 12_345 });
  const repo = await HubRepo.open(REPO, h.config(cacheDir));
  await expect(repo.ensureFile(SHARD1)).rejects.toThrow(/model-00001-of-00002\.safetensors.*does not match the expected sha256/);
  const root = path.join(cacheDir, 'models--org--model');
  expect(await listTree(path.join(root, 'blobs'))).toEqual([]);
  expect(await listTree(path.join(root, 'snapshots'))).toEqual([]);
  expect(repo.isWholeCached(SHARD1)).toBe(false);

  // A regular file is checked against its git blob id.
  h.server.faults.flip.push({ file: `${REPO}/config.json`, offset: 3 });
  await expect(repo.ensureFile('config.json')).rejects.toThrow(/config\.json.*git blob sha1/);

  h.server.faults.flip.length = 0;
  expect((await fsp.readFile(await repo.ensureFile(SHARD1))).equals(await sourceBytes(SHARD1))).toBe(true);
});

test('offline mode reads only the cache and names the missing repo, revision and file', async () => {
  const cacheDir = await h.newCacheDir();
  const online = await HubRepo.open(REPO, h.config(cacheDir));
  await online.ensureFile('config.json');
  const header = await online.readRange(SHARD2, 0, 8);
  h.server.resetStats();

  const env = { HF_TOKEN: TOKEN, HF_HUB_OFFLINE: '1' };
  const offline = await HubRepo.open(REPO, h.config(cacheDir, { env }));
  expect(offline.config.offline).toBe(true);
  expect(offline.commit).toBe(h.commit);
  expect(await fsp.readFile(await offline.ensureFile('config.json'), 'utf8')).toBe((await sourceBytes('config.json')).toString());
  expect((await offline.readRange(SHARD2, 0, 8)).equals(header)).toBe(true);

  const missing = offline.ensureFile(SHARD1);
  await expect(missing).rejects.toBeInstanceOf(InputError);
  await expect(offline.ensureFile(SHARD1)).rejects.toThrow(/offline.*org\/model@main.*model-00001-of-00002\.safetensors.*not in the cache/);
  await expect(offline.readRange(SHARD2, 8, 100)).rejects.toThrow(/offline.*org\/model@main.*bytes \[8, 100\).*model-00002/);
  await expect(HubRepo.open('org/model@v2', h.config(cacheDir, { env }))).rejects.toThrow(/offline.*org\/model@v2.*not in the cache/);
  await expect(HubRepo.open('org/other', h.config(cacheDir, { env }))).rejects.toThrow(/org\/other@main/);
  expect(h.server.requests).toHaveLength(0);
});

test('the revision is pinned to one commit for the whole run', async () => {
  const cacheDir = await h.newCacheDir();
  const repo = await HubRepo.open(REPO, h.config(cacheDir));
  const oldShard = await sourceBytes(SHARD2);

  // Someone pushes new content to main while we run.
  const { dir: newDir } = await makeSampleCheckpoint('mtpkit-hub-ckpt2-');
  await fsp.writeFile(path.join(newDir, SHARD2), Buffer.concat([oldShard.subarray(0, 1000), Buffer.alloc(oldShard.length - 1000, 1)]));
  const newCommit = await h.server.addRepoFromFolder(REPO, newDir);
  try {
    expect(newCommit).not.toBe(h.commit);
    expect((await repo.readRange(SHARD2, 2000, 3000)).equals(oldShard.subarray(2000, 3000))).toBe(true);
    expect((await fsp.readFile(await repo.ensureFile(SHARD2))).equals(oldShard)).toBe(true);
    expect(h.server.requests.filter((r) => r.path.includes('/resolve/')).every((r) => r.path.includes(`/resolve/${h.commit}/`))).toBe(true);

    const fresh = await HubRepo.open(REPO, h.config(cacheDir));
    expect(fresh.commit).toBe(newCommit);
    expect(await fsp.readFile(path.join(cacheDir, 'models--org--model', 'refs', 'main'), 'utf8')).toBe(newCommit);
    expect((await fresh.readRange(SHARD2, 2000, 2010)).equals(Buffer.alloc(10, 1))).toBe(true);
    const pinned = await HubRepo.open(`${REPO}@${h.commit}`, h.config(cacheDir));
    expect((await pinned.readRange(SHARD2, 2000, 3000)).equals(oldShard.subarray(2000, 3000))).toBe(true);
  } finally {
    await h.server.addRepoFromFolder(REPO, h.dir); // main back to the original tree (new commit id)
    await fsp.rm(newDir, { recursive: true, force: true });
  }
});

test('progress events report growing byte counts up to the file size', async () => {
  const cacheDir = await h.newCacheDir();
  const events: ProgressEvent[] = [];
  const repo = await HubRepo.open(REPO, h.config(cacheDir), { onProgress: (e) => events.push({ ...e }) });
  await repo.ensureFile(SHARD2);
  const size = (await sourceBytes(SHARD2)).length;
  const mine = events.filter((e) => e.path === SHARD2);
  expect(mine.length).toBeGreaterThan(2);
  expect(mine.every((e) => e.bytesTotal === size)).toBe(true);
  for (let i = 1; i < mine.length; i++) expect(mine[i].bytesDone).toBeGreaterThanOrEqual(mine[i - 1].bytesDone);
  expect(mine[mine.length - 1].bytesDone).toBe(size);
});

test('a file missing from the repo is an InputError naming it', async () => {
  const repo = await HubRepo.open(REPO, h.config(await h.newCacheDir()));
  await expect(repo.ensureFile('nope.bin')).rejects.toThrow(/org\/model@main.*'nope\.bin'/);
  await expect(HubRepo.open('org/absent', h.config(await h.newCacheDir()))).rejects.toThrow(/org\/absent@main.*not found/);
  await expect(HubRepo.open('org/model@nobranch', h.config(await h.newCacheDir()))).rejects.toBeInstanceOf(InputError);
});

test('a stalled transfer is abandoned after the idle timeout and resumed', async () => {
  const data = await sourceBytes(SHARD2);
  h.server.faults.cut.push({ match: shardKey(SHARD2), afterBytes: 30_000, times: 1, stall: true });
  const repo = await HubRepo.open(REPO, h.config(await h.newCacheDir(), { idleTimeoutMs: 300 }));
  const started = Date.now();
  expect((await fsp.readFile(await repo.ensureFile(SHARD2))).equals(data)).toBe(true);
  expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  expect(h.server.bytesServed(shardKey(SHARD2))).toBeLessThan(data.length + 20_000);
});

test('concurrent requests for the same file share one transfer', async () => {
  const repo = await HubRepo.open(REPO, h.config(await h.newCacheDir()));
  const [a, b] = await Promise.all([repo.ensureFile(SHARD1), repo.ensureFile(SHARD1)]);
  expect(a).toBe(b);
  expect(h.server.bytesServed(shardKey(SHARD1))).toBe((await sourceBytes(SHARD1)).length);
});

test('cuts that still let the download advance do not use up the attempts', async () => {
  const data = await sourceBytes(SHARD2);
  // Three cuts in a row with maxAttempts 2: each attempt advances, so the download still finishes.
  h.server.faults.cut.push({ match: shardKey(SHARD2), afterBytes: 15_000, times: 3 });
  const repo = await HubRepo.open(REPO, h.config(await h.newCacheDir(), { maxAttempts: 2 }));
  expect((await fsp.readFile(await repo.ensureFile(SHARD2))).equals(data)).toBe(true);
  expect(h.server.requests.filter((r) => r.path.startsWith('/cdn/'))).toHaveLength(4);
});
