/** Content keys for cached bench inputs: a hash of the code that makes them. */
import { createHash } from 'crypto';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { REPO_ROOT } from './llama-cpp-probe';

/**
 * sha256 over every file under `dirs` (relative path + bytes), skipping `exclude` folders: the content
 * key of the code that makes a cached folder.
 */
export async function treeHash(dirs: string[], exclude: string[] = []): Promise<string> {
  const h = createHash('sha256');
  const walk = async (d: string): Promise<void> => {
    if ((await fsp.stat(d)).isFile()) {
      h.update(path.relative(REPO_ROOT, d)).update(await fsp.readFile(d));
      return;
    }
    for (const e of (await fsp.readdir(d, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      if (exclude.includes(path.relative(REPO_ROOT, p))) continue;
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) h.update(path.relative(REPO_ROOT, p)).update(await fsp.readFile(p));
    }
  };
  for (const d of dirs) await walk(path.join(REPO_ROOT, d));
  return h.digest('hex');
}
