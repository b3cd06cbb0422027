/**
 * The two content ids the Hub uses: sha256 of the bytes for LFS files, and the git blob id
 * sha1("blob <size>\0" + bytes) for regular files. Both name blobs in the HF cache.
 */
import { createHash, Hash } from 'crypto';
import { createReadStream } from 'fs';

/** `size-only`: a xet file listed without a sha256, whose xet hash we cannot recompute here. */
export type HashAlgo = 'sha256' | 'git-sha1' | 'size-only';

export interface ExpectedContent {
  algo: HashAlgo;
  /** Lower-case hex digest. */
  hex: string;
  size: number;
}

export function newContentHasher(algo: HashAlgo, size: number): Hash {
  if (algo === 'sha256' || algo === 'size-only') return createHash('sha256');
  return createHash('sha1').update(`blob ${size}\0`);
}

export function gitBlobSha1(data: Buffer): string {
  return newContentHasher('git-sha1', data.length).update(data).digest('hex');
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Feeds the first `length` bytes of `file` into `hasher`. */
export async function hashFilePrefix(hasher: Hash, file: string, length: number): Promise<void> {
  if (length === 0) return;
  for await (const chunk of createReadStream(file, { start: 0, end: length - 1 })) hasher.update(chunk as Buffer);
}

/** Both ids of a local file in one pass. */
export async function hashFile(file: string, size: number): Promise<{ sha256: string; gitSha1: string }> {
  const a = newContentHasher('sha256', size);
  const b = newContentHasher('git-sha1', size);
  if (size > 0) {
    for await (const chunk of createReadStream(file)) {
      a.update(chunk as Buffer);
      b.update(chunk as Buffer);
    }
  }
  return { sha256: a.digest('hex'), gitSha1: b.digest('hex') };
}
