/** Scratch space for benches: a temp folder under os.tmpdir(), free-space checks, file sizes. */
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
