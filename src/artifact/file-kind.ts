/**
 * What is at a path that should hold an artifact file, in words a user can act on. A symlink to a
 * regular file is a file (the Hub cache's snapshots are symlinks to blobs); anything else is named.
 */
import { promises as fsp } from 'fs';

/** undefined for a regular file (also through a symlink); else `missing`, `a FIFO (named pipe)`, ... */
export async function notAFile(absPath: string): Promise<string | undefined> {
  const l = await fsp.lstat(absPath).catch(() => undefined);
  if (!l) return 'missing';
  if (l.isSymbolicLink()) {
    const target = await fsp.readlink(absPath).catch(() => '?');
    const st = await fsp.stat(absPath).catch(() => undefined);
    if (!st) return `a broken symbolic link (to '${target}', which does not exist)`;
    const what = kindOf(st);
    return what ? `a symbolic link to ${what} ('${target}')` : undefined;
  }
  return kindOf(l);
}

function kindOf(st: import('fs').Stats): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}
