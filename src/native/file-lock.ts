/**
 * Advisory file locks by flock(2) (native/src/file_lock.cc), the lock Python's `filelock` takes on
 * POSIX. The kernel releases a flock when its holder dies, even by SIGKILL, so a lock file left behind
 * by a dead process is never "held": the next taker simply gets it (stale locks need no pid guessing).
 * The lock file may carry who holds it (pid, host, start time, command) so a refused caller can say so.
 */
import { constants as FS, promises as fsp } from 'fs';
import * as os from 'os';
import { MtpkitError } from '../errors';
import { nativeAddon } from './addon';

interface FlockAddon {
  tryFlockExclusive(fd: number): boolean;
}

export interface LockOwner {
  pid: number;
  host: string;
  /** ISO time the holder started. */
  started: string;
  command?: string;
}

export interface HeldLock {
  readonly path: string;
  /** False when the file system has no flock (e.g. some FUSE / SMB mounts): the caller runs unlocked. */
  readonly locked: boolean;
  release(): Promise<void>;
}

export interface LockOptions {
  /** Written into the lock file once it is held (our own lock files only: see `removeOnRelease`). */
  owner?: LockOwner;
  /**
   * Delete the file on release. Safe only for lock files that every user re-checks after locking (a
   * taker verifies the path still names the inode it locked), i.e. our own; huggingface_hub never
   * deletes its flock files, so cache locks must keep theirs.
   */
  removeOnRelease?: boolean;
  /** File mode when created (huggingface_hub uses 0o664 so a group sharing a cache can wait on it). */
  mode?: number;
  /** The flock call (tests replace it to play a file system without locks). */
  flock?: (fd: number) => boolean;
}

const errno = os.constants.errno as Record<string, number | undefined>;
/** flock errors that mean "this file system cannot lock", not "something is wrong". */
const UNSUPPORTED = new Set(['ENOLCK', 'EOPNOTSUPP', 'ENOTSUP', 'ENOSYS'].map((n) => errno[n]).filter((n): n is number => n !== undefined));

export function currentOwner(command?: string): LockOwner {
  return { pid: process.pid, host: os.hostname(), started: new Date().toISOString(), command };
}

function lockError(file: string, e: unknown): MtpkitError {
  const err = e as NodeJS.ErrnoException;
  // Keeps the system's code so callers can name the cause (EROFS, EACCES, ...).
  return Object.assign(new MtpkitError(`cannot take the lock: ${err.message}`, { file }), { code: err.code });
}

/** Takes the lock if free; undefined when someone else holds it. */
export async function tryLock(file: string, opts: LockOptions = {}): Promise<HeldLock | undefined> {
  const flock = opts.flock ?? ((fd: number) => nativeAddon<FlockAddon>().tryFlockExclusive(fd));
  for (;;) {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(file, FS.O_RDWR | FS.O_CREAT, opts.mode ?? 0o664);
    } catch (e) {
      throw lockError(file, e);
    }
    let taken: boolean;
    try {
      taken = flock(fh.fd);
    } catch (e) {
      await fh.close();
      const n = (e as { errno?: number }).errno;
      // Refusing to work there at all would be worse than the lock-less behaviour of before.
      if (n !== undefined && UNSUPPORTED.has(n)) return { path: file, locked: false, release: async () => undefined };
      throw lockError(file, e);
    }
    if (!taken) {
      await fh.close();
      return undefined;
    }
    // The previous holder may have deleted the file between our open and our flock: then we locked an
    // orphan inode while a third process may lock the new file. Start over on the file the path names.
    const [mine, named] = await Promise.all([fh.stat(), fsp.stat(file).catch(() => undefined)]);
    if (!named || named.ino !== mine.ino || named.dev !== mine.dev) {
      await fh.close();
      continue;
    }
    if (opts.owner) {
      await fh.truncate(0);
      await fh.write(JSON.stringify(opts.owner) + '\n', 0);
    }
    let released = false;
    return {
      path: file,
      locked: true,
      release: async () => {
        if (released) return;
        released = true;
        // Unlink while still holding it, so nobody takes a file that is about to vanish.
        if (opts.removeOnRelease) await fsp.rm(file, { force: true }).catch(() => undefined);
        await fh.close(); // closing the last descriptor drops the flock
      },
    };
  }
}

/** Waits for the lock, polling (flock is taken non-blocking so no libuv thread ever blocks). */
export async function waitLock(
  file: string,
  opts: LockOptions & { pollMs?: number; onWait?: () => void } = {},
): Promise<HeldLock> {
  let told = false;
  for (;;) {
    const held = await tryLock(file, opts);
    if (held) return held;
    if (!told) opts.onWait?.();
    told = true;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 200));
  }
}

/** Who the lock file says holds it (written by `tryLock` with an owner), if readable. */
export async function readLockOwner(file: string): Promise<LockOwner | undefined> {
  try {
    const v = JSON.parse(await fsp.readFile(file, 'utf8')) as Partial<LockOwner>;
    return typeof v.pid === 'number' && typeof v.host === 'string' && typeof v.started === 'string' ? (v as LockOwner) : undefined;
  } catch {
    return undefined;
  }
}
