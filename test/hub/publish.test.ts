/** Publishing an artifact folder: round trip, no re-upload of LFS objects, re-run after failure, refusal. */
import { createHash } from 'crypto';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { InputError } from '../../src/errors';
import { HubRepo } from '../../src/hub/hub-repo';
import { listArtifactFiles, publishArtifact } from '../../src/hub/publish';
import { Harness, startHarness } from '../support/hub-server/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h.close());
beforeEach(() => h.server.reset());

async function lfsBytesOf(dir: string): Promise<number> {
  return (await listArtifactFiles(dir)).filter((f) => f.rel.endsWith('.safetensors')).reduce((n, f) => n + f.size, 0);
}

/** Every file of `dir`, fetched back from `repo@rev`, is byte-identical. */
async function expectSameContent(repoId: string, rev: string, dir: string): Promise<void> {
  const repo = await HubRepo.open(`${repoId}@${rev}`, h.config(await h.newCacheDir()));
  const local = await listArtifactFiles(dir);
  expect(repo.files.map((f) => f.path).filter((p) => p !== '.gitattributes').sort()).toEqual(local.map((f) => f.rel).sort());
  for (const f of local) {
    const fetched = await fsp.readFile(await repo.ensureFile(f.rel));
    expect([f.rel, fetched.equals(await fsp.readFile(f.abs))]).toEqual([f.rel, true]);
  }
  // Shards went through LFS (sha256-named blobs), small files as regular files.
  expect(repo.files.find((f) => f.path.endsWith('.safetensors'))!.lfs).toBeDefined();
  expect(repo.files.find((f) => f.path === 'config.json')!.lfs).toBeUndefined();
}

test('round trip: publish a folder, fetch it back byte for byte; publishing it again uploads no LFS bytes', async () => {
  const config = h.config(await h.newCacheDir());
  const first = await publishArtifact(h.dir, { repo: 'me/artifact', config, private: true, commitTitle: 'mtpkit test' });
  expect(first).toMatchObject({ repo: 'me/artifact', branch: 'main', createdRepo: true, files: 5 });
  expect(first.commit).toMatch(/^[0-9a-f]{40}$/);
  expect(h.server.store.repos.get('me/artifact')!.private).toBe(true);
  expect(h.server.lfsBytesReceived).toBe(await lfsBytesOf(h.dir));
  await expectSameContent('me/artifact', 'main', h.dir);

  h.server.resetStats();
  const second = await publishArtifact(h.dir, { repo: 'me/artifact', config });
  expect(second.createdRepo).toBe(false);
  expect(h.server.lfsBytesReceived).toBe(0);
  expect(h.server.requests.filter((r) => r.method === 'PUT')).toHaveLength(0);
  expect(h.server.commitOf('me/artifact', 'main')).toBe(second.commit);
});

test('a re-run after a failed commit completes without uploading the LFS objects again', async () => {
  const config = h.config(await h.newCacheDir(), { maxAttempts: 1 });
  h.server.faults.fail.push({ match: /^POST \/api\/models\/me\/rerun\/commit\//, status: 500, times: 1 });
  await expect(publishArtifact(h.dir, { repo: 'me/rerun', config })).rejects.toThrow(/me\/rerun@main.*HTTP 500/);
  expect(h.server.lfsBytesReceived).toBe(await lfsBytesOf(h.dir));

  h.server.resetStats();
  const done = await publishArtifact(h.dir, { repo: 'me/rerun', config });
  expect(done.createdRepo).toBe(false);
  expect(h.server.lfsBytesReceived).toBe(0);
  await expectSameContent('me/rerun', 'main', h.dir);
});

test('a failed LFS upload is retried; a re-run sends only the object that was missing', async () => {
  const shards = (await listArtifactFiles(h.dir)).filter((f) => f.rel.endsWith('.safetensors'));
  // Transient: retried inside one publish.
  h.server.faults.fail.push({ match: /^PUT \/lfs-upload\//, status: 503, times: 1 });
  await publishArtifact(h.dir, { repo: 'me/putretry', config: h.config(await h.newCacheDir()) });
  await expectSameContent('me/putretry', 'main', h.dir);

  expect(h.server.faults.fail[0].times).toBe(0);

  // Permanent failure of one object: the other one is stored, and the re-run uploads just the missing one.
  h.server.faults.fail.length = 0;
  h.server.resetStats();
  const config = h.config(await h.newCacheDir(), { maxAttempts: 1 });
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'mtpkit-pub-'));
  try {
    for (const f of shards) await fsp.writeFile(path.join(dir, f.rel), Buffer.concat([await fsp.readFile(f.abs), Buffer.from('x')]));
    await fsp.writeFile(path.join(dir, 'config.json'), '{}');
    const failing = createHash('sha256').update(await fsp.readFile(path.join(dir, shards[0].rel))).digest('hex');
    // Answered late, so the library does not abort the other upload before it is done.
    h.server.faults.fail.push({ match: new RegExp(`^PUT /lfs-upload/me/partial/${failing}`), status: 500, times: 1, delayMs: 300 });
    await expect(publishArtifact(dir, { repo: 'me/partial', config })).rejects.toThrow(/me\/partial@main.*HTTP 500/);
    expect(h.server.requests.filter((r) => r.method === 'PUT')).toHaveLength(2);
    const firstRun = h.server.lfsBytesReceived;
    expect(firstRun).toBeGreaterThan(0);
    h.server.resetStats();
    await publishArtifact(dir, { repo: 'me/partial', config });
    expect(h.server.requests.filter((r) => r.method === 'PUT').map((r) => r.path)).toEqual([`/lfs-upload/me/partial/${failing}`]);
    expect(firstRun + h.server.lfsBytesReceived).toBe(await lfsBytesOf(dir));
    await expectSameContent('me/partial', 'main', dir);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test('publishing to a branch creates it and leaves main alone', async () => {
  const config = h.config(await h.newCacheDir());
  await publishArtifact(h.dir, { repo: 'me/branchy', config });
  const mainBefore = h.server.commitOf('me/branchy', 'main');
  const res = await publishArtifact(path.join(h.dir, 'extra'), { repo: 'me/branchy', config, revision: 'mlx-4bit' });
  expect(res.branch).toBe('mlx-4bit');
  expect(h.server.commitOf('me/branchy', 'main')).toBe(mainBefore);
  expect(h.server.commitOf('me/branchy', 'mlx-4bit')).toBe(res.commit);
  const onBranch = await HubRepo.open('me/branchy@mlx-4bit', h.config(await h.newCacheDir()));
  expect(await fsp.readFile(await onBranch.ensureFile('notes.txt'), 'utf8')).toBe('a nested regular file\n');
  // Branch made from main: main's files are there too.
  expect(onBranch.has('config.json')).toBe(true);
});

test('an artifact that fails validation is refused unless forced; no token or offline is refused', async () => {
  const config = h.config(await h.newCacheDir());
  const validate = async () => ['missing mtp.* tensors', 'config.json: quantization missing'];
  const err = await publishArtifact(h.dir, { repo: 'me/invalid', config, validate }).catch((e) => e);
  expect(err).toBeInstanceOf(InputError);
  expect(err.message).toMatch(/refusing to publish.*--force[\s\S]*missing mtp\.\* tensors[\s\S]*quantization missing/);
  expect(h.server.requests).toHaveLength(0);

  const forced = await publishArtifact(h.dir, { repo: 'me/invalid', config, validate, force: true });
  expect(forced.createdRepo).toBe(true);
  expect(await publishArtifact(h.dir, { repo: 'me/valid', config, validate: async () => [] })).toMatchObject({ createdRepo: true });

  await expect(publishArtifact(h.dir, { repo: 'me/x', config: h.config(await h.newCacheDir(), { env: {} }) })).rejects.toThrow(/needs a token/);
  await expect(publishArtifact(h.dir, { repo: 'me/x', config: h.config(await h.newCacheDir(), { offline: true }) })).rejects.toThrow(/offline/);
  await expect(publishArtifact(h.dir, { repo: 'bad', config })).rejects.toThrow(InputError);
  await expect(publishArtifact(path.join(h.dir, 'nope'), { repo: 'me/x', config })).rejects.toThrow(/not a folder/);
});
