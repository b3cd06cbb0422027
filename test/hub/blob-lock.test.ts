/**
 * Issue 10 (safety): a whole-file download holds huggingface_hub's per-blob lock
 * (`<cache>/.locks/models--org--name/<blob id>.lock`). The other party here is util-linux `flock`,
 * which takes flock(2) on the file exactly as Python's filelock (UnixFileLock) does.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import { promises as fsp } from 'fs';
import * as fs from 'fs';
import * as path from 'path';
import { blobId } from '../../src/hub/cache';
import { blobLockPath } from '../../src/hub/blob-lock';
import { HubRepo } from '../../src/hub/hub-repo';
import { Harness, REPO, startHarness } from '../support/hub-server/harness';

const hasFlock = spawnSync('flock', ['--version']).status === 0;
const maybe = hasFlock && process.platform !== 'win32' ? test : test.skip;

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
const holders: ChildProcess[] = [];
afterAll(async () => {
  for (const c of holders) if (c.exitCode === null && c.signalCode === null) process.kill(-c.pid!, 'SIGKILL');
  await h.close();
});

/** flock -n: true when the lock is free (the probe takes and drops it at once). */
const lockFree = (file: string): boolean => spawnSync('flock', ['-n', file, 'true']).status === 0;

async function holdWithFlock(file: string): Promise<ChildProcess> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  // Its own process group, so killing the group ends flock and the command it runs (which inherits the fd).
  const holder = spawn('flock', [file, 'sleep', '600'], { stdio: 'ignore', detached: true });
  holders.push(holder);
  while (lockFree(file)) await new Promise((r) => setTimeout(r, 20));
  return holder;
}

maybe('a download waits while another process holds the blob lock, then proceeds; while downloading it holds the lock itself', async () => {
  const cacheDir = await h.newCacheDir();
  let waitedFor: string | undefined;
  const heldDuringDownload: boolean[] = [];
  let lockFile = '';
  const repo = await HubRepo.open(REPO, h.config(cacheDir), {
    onLockWait: (p) => {
      waitedFor = p;
    },
    onProgress: (e) => {
      if (e.bytesDone > 0 && e.bytesDone < e.bytesTotal) heldDuringDownload.push(!lockFree(lockFile));
    },
  });
  const shard = repo.files.filter((f) => f.path.endsWith('.safetensors')).sort((a, b) => b.size - a.size)[0];
  lockFile = blobLockPath(cacheDir, REPO, blobId(shard));
  expect(path.relative(cacheDir, lockFile)).toBe(path.join('.locks', `models--${REPO.replace('/', '--')}`, `${blobId(shard)}.lock`));

  const holder = await holdWithFlock(lockFile);
  h.server.resetStats();
  const done = repo.ensureFile(shard.path);
  // Wait until the download reports it is waiting for the lock (it must not finish instead).
  const first = await Promise.race([done.then(() => 'finished'), new Promise<string>((r) => {
    const t = setInterval(() => {
      if (waitedFor) {
        clearInterval(t);
        r('waiting');
      }
    }, 10);
  })]);
  expect(first).toBe('waiting');
  expect(waitedFor).toBe(shard.path);
  expect(h.server.requests.filter((r) => r.path.includes(shard.path))).toHaveLength(0);
  expect(fs.existsSync(repo.cache.blobPath(blobId(shard)))).toBe(false);

  process.kill(-holder.pid!, 'SIGKILL'); // a dead holder frees the lock: no stale lock
  const local = await done;
  expect(fs.readFileSync(local).length).toBe(shard.size);
  expect(heldDuringDownload.length).toBeGreaterThan(0);
  expect(heldDuringDownload.every(Boolean)).toBe(true);
  // Released afterwards, and the lock file stays (as huggingface_hub leaves it).
  expect(lockFree(lockFile)).toBe(true);
  expect(fs.existsSync(lockFile)).toBe(true);
}, 60000);
