/**
 * The output's surroundings: its parent folder must exist and be writable (errors name the real cause),
 * and one writer at a time holds the output's lock, a flock on `.<name>.mtpkit-lock` beside it.
 */
import { constants as FS, promises as fsp } from 'fs';
import * as path from 'path';
import { EXIT_BUSY, InputError, MtpkitError } from '../errors';
import { currentOwner, readLockOwner, tryLock, type HeldLock } from '../native/file-lock';

const CAUSES: Record<string, string> = {
  EROFS: 'read-only file system (EROFS)',
  EACCES: 'permission denied (EACCES): this user may not write there',
  EPERM: 'operation not permitted (EPERM)',
  ENOSPC: 'no space left on the device (ENOSPC)',
  EDQUOT: 'disk quota exceeded (EDQUOT)',
  ENOTDIR: 'a part of the path is a file, not a folder (ENOTDIR)',
};

/** An error about writing `p` that says what the system said, by name. */
export function writeError(p: string, e: unknown): MtpkitError {
  const err = e as NodeJS.ErrnoException;
  const cause = (err.code && CAUSES[err.code]) ?? err.message;
  return new InputError(`cannot write here: ${cause}`, { file: p });
}

async function kindOf(p: string): Promise<'dir' | 'other' | 'none'> {
  try {
    return (await fsp.stat(p)).isDirectory() ? 'dir' : 'other';
  } catch {
    return 'none';
  }
}

/**
 * Creates the output's parent folders one level at a time (Node's recursive mkdir reports ENOENT when
 * the real cause higher up is EROFS or EACCES) and checks the parent is writable.
 */
export async function prepareOutputParent(out: string): Promise<string> {
  const parent = path.dirname(path.resolve(out));
  const missing: string[] = [];
  for (let d = parent; ; d = path.dirname(d)) {
    const k = await kindOf(d);
    if (k === 'dir') break;
    if (k === 'other') throw new InputError('is not a folder, so the output cannot be created inside it', { file: d });
    missing.unshift(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      await fsp.mkdir(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError(d, e);
    }
  }
  try {
    await fsp.access(parent, FS.W_OK);
  } catch (e) {
    throw writeError(parent, e);
  }
  return parent;
}

export function outputLockPath(out: string): string {
  const abs = path.resolve(out);
  return path.join(path.dirname(abs), `.${path.basename(abs)}.mtpkit-lock`);
}

function commandLine(): string {
  const [, script, ...args] = process.argv;
  return [script && /main\.[jt]s$/.test(script) ? 'mtpkit' : path.basename(script ?? 'node'), ...args].join(' ');
}

/** Takes the output's lock or says who holds it. A dead holder's lock is free (the kernel dropped it). */
export async function lockOutput(out: string, note?: (message: string) => void): Promise<HeldLock> {
  const file = outputLockPath(out);
  let held: HeldLock | undefined;
  try {
    held = await tryLock(file, { owner: currentOwner(commandLine()), removeOnRelease: true });
  } catch (e) {
    throw (e as NodeJS.ErrnoException).code ? writeError(file, e) : e;
  }
  if (held) {
    if (!held.locked) note?.(`the file system of ${path.dirname(file)} has no file locks: this output is not protected against a concurrent convert`);
    return held;
  }
  const o = await readLockOwner(file);
  const who = o ? `pid ${o.pid} on host ${o.host}, started ${o.started}${o.command ? `: ${o.command}` : ''}` : `see ${file}`;
  // Refused at once, not waited for: when the holder finishes, the output exists, which this run would
  // refuse without --force and redo with it, so a wait rarely helps. A script that wants one retries on
  // EXIT_BUSY (e.g. a restarted CI job whose killed predecessor is still stopping, then --resume).
  throw new MtpkitError(
    `another mtpkit process is writing this output (${who}); wait for it to finish or stop it ` +
      `(its lock is released as soon as that process ends, even if it is killed). Exit ${EXIT_BUSY}: nothing was written, retry later`,
    { file: out },
    EXIT_BUSY,
  );
}
