/** Scratch space for benches: a temp folder under os.tmpdir(), free-space checks, file sizes. */
import { createHash } from 'crypto';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';

export async function makeScratchDir(prefix: string): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), `mtpkit-bench-${prefix}-`));
}

export async function freeBytes(dir: string): Promise<number> {
  const s = await fsp.statfs(dir);
  return s.bavail * s.bsize;
}

/** Refuses to start a run that would fill the disk (`needed` bytes plus 1 GB of slack). */
export async function requireFreeSpace(dir: string, needed: number, what: string): Promise<void> {
  const free = await freeBytes(dir);
  if (free < needed + 1e9) {
    throw new Error(`${what} needs about ${(needed / 1e9).toFixed(1)} GB in ${dir} (+1 GB slack); only ${(free / 1e9).toFixed(1)} GB free`);
  }
}

/** Total size of the regular files directly inside `dir`. */
export async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    if (e.isFile()) total += (await fsp.stat(path.join(dir, e.name))).size;
  }
  return total;
}

export async function removeDir(dir: string): Promise<void> {
  await fsp.rm(dir, { recursive: true, force: true });
}

/**
 * A folder that survives bench runs (`MTPKIT_BENCH_CACHE`, else mtpkit-bench-cache under os.tmpdir()),
 * named by a content key: the sha256 of everything that decides the folder's bytes, so a stale entry is
 * never reused. `make` fills a temp sibling that is renamed into place only when complete.
 */
export async function cachedDir(what: string, keyParts: unknown, make: (dir: string) => Promise<void>): Promise<{ dir: string; hit: boolean }> {
  const key = createHash('sha256').update(JSON.stringify(keyParts)).digest('hex').slice(0, 16);
  const root = process.env.MTPKIT_BENCH_CACHE || path.join(os.tmpdir(), 'mtpkit-bench-cache');
  const dir = path.join(root, `${what}-${key}`);
  if (await fsp.stat(path.join(dir, '.complete')).then(() => true, () => false)) return { dir, hit: true };
  await fsp.mkdir(root, { recursive: true });
  const tmp = `${dir}.partial-${process.pid}`;
  await removeDir(tmp);
  await fsp.mkdir(tmp, { recursive: true });
  await make(tmp);
  await fsp.writeFile(path.join(tmp, '.complete'), JSON.stringify(keyParts) + '\n');
  await removeDir(dir);
  await fsp.rename(tmp, dir);
  return { dir, hit: false };
}
