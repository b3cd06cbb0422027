/**
 * Page-cache state of the bench's input files, so the I/O floor and the conversion start from the same
 * state: `warm` (every input byte cached) or `cold` (the inputs evicted). Eviction is per file
 * (posix_fadvise DONTNEED through `dd iflag=nocache count=0`, GNU coreutils), which leaves the rest of
 * the machine's cache alone; if that fails, `echo 3 > /proc/sys/vm/drop_caches` (root only).
 * On a VM the host may still cache the disk image, so "cold" means "not in this kernel's cache".
 */
import { execFile } from 'child_process';
import { promises as fsp } from 'fs';
import { promisify } from 'util';
import { readFilesSequentially } from './io-floor';

const run = promisify(execFile);

export type CacheMode = 'warm' | 'cold';
export type EvictMethod = 'fadvise' | 'drop_caches' | 'unavailable';

async function fsyncFile(file: string): Promise<void> {
  const fh = await fsp.open(file, 'r');
  try {
    await fh.sync(); // DONTNEED skips dirty pages: write them back first
  } finally {
    await fh.close();
  }
}

export async function evictFiles(files: string[]): Promise<EvictMethod> {
  try {
    for (const f of files) {
      await fsyncFile(f);
      await run('dd', [`if=${f}`, 'iflag=nocache', 'count=0'], { encoding: 'utf8' });
    }
    return 'fadvise';
  } catch {
    try {
      await run('sync', []);
      await fsp.writeFile('/proc/sys/vm/drop_caches', '3\n');
      return 'drop_caches';
    } catch {
      return 'unavailable';
    }
  }
}

/** Bytes of `files` resident in the page cache (util-linux fincore), or undefined when it cannot tell. */
export async function residentBytes(files: string[]): Promise<number | undefined> {
  if (!files.length) return 0;
  try {
    const { stdout } = await run('fincore', ['--bytes', '--noheadings', '--output', 'RES', ...files], { encoding: 'utf8' });
    const sizes = stdout.trim().split(/\s+/).map(Number);
    return sizes.length === files.length && sizes.every(Number.isFinite) ? sizes.reduce((a, b) => a + b, 0) : undefined;
  } catch {
    return undefined;
  }
}

export interface CacheState {
  mode: CacheMode;
  /** How `cold` was reached; `warm` reads the files once (untimed) instead. */
  method: EvictMethod | 'read';
  /** Fraction of the input bytes in the page cache right after preparing (undefined: fincore missing). */
  residentFraction?: number;
}

/** Puts `files` (totalling `totalBytes`) into the requested cache state and reports what was reached. */
export async function prepareCache(files: string[], totalBytes: number, mode: CacheMode): Promise<CacheState> {
  let method: CacheState['method'];
  if (mode === 'warm') {
    await readFilesSequentially(files);
    method = 'read';
  } else {
    method = await evictFiles(files);
  }
  const res = await residentBytes(files);
  return { mode, method, residentFraction: res === undefined ? undefined : res / totalBytes };
}
