/**
 * Before the hidden folder becomes the artifact, everything that is not one of the artifact's own files
 * is deleted (a killed writer's temp file, the resume manifest, anything else that got there), so the
 * rename can only ever move the artifact's own files into place.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';

/** Deletes every entry under `dir` that is not in `files` (relative, `/`-separated); returns what went. */
export async function keepOnlyFiles(dir: string, files: readonly string[]): Promise<string[]> {
  const keep = new Set(files);
  const removed: string[] = [];
  const walk = async (abs: string, rel: string): Promise<boolean> => {
    let empty = true;
    for (const d of await fsp.readdir(abs, { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      const a = path.join(abs, d.name);
      if (d.isDirectory() && [...keep].some((k) => k.startsWith(`${r}/`))) {
        if (await walk(a, r)) await fsp.rmdir(a);
        else empty = false;
      } else if (keep.has(r) && !d.isDirectory()) {
        empty = false;
      } else {
        await fsp.rm(a, { recursive: true, force: true });
        removed.push(r);
      }
    }
    return empty;
  };
  await walk(dir, '');
  return removed;
}
