/**
 * The per-blob download lock huggingface_hub takes, at the same path, so mtpkit and Python processes
 * sharing one cache never download the same blob at once (huggingface/huggingface_hub
 * src/huggingface_hub/file_download.py: `<cache>/.locks/<repo folder>/<etag>.lock`, where the etag is
 * the blob's name: the LFS sha256, else the git blob sha1).
 *
 * What interoperates: Python's default lock is `filelock.FileLock`, which on Linux and macOS is
 * flock(2) on that file (UnixFileLock); ours is flock(2) on the same file, so either side waits while
 * the other downloads, both ways, and a crashed holder frees it at once. Like Python we never delete
 * the lock file (deleting it would let a waiter and a newcomer hold two different inodes) and create it
 * group-writable (0o664).
 * What does not: Python's SoftFileLock mode (HF_HUB_USE_SOFT_FILELOCK, or chosen automatically on file
 * systems where flock does not serialise, e.g. some NFS / Lustre) treats the file's mere existence as
 * the lock; we neither see such a lock as held nor release it for them. Windows (msvcrt locking) is
 * not supported.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { waitLock, type HeldLock } from '../native/file-lock';
import { repoFolderName } from './cache';

export function blobLockPath(cacheDir: string, repo: string, id: string): string {
  return path.join(cacheDir, '.locks', repoFolderName(repo), `${id}.lock`);
}

/** Waits for the blob's lock (telling `onWait` once if someone else holds it). */
export async function lockBlob(cacheDir: string, repo: string, id: string, onWait?: () => void): Promise<HeldLock> {
  const file = blobLockPath(cacheDir, repo, id);
  await fsp.mkdir(path.dirname(file), { recursive: true });
  return waitLock(file, { mode: 0o664, onWait });
}
