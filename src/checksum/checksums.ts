/** sha256 + size of artifact files, streamed (never a whole file in memory), for the provenance block. */
import * as path from 'path';
import { sha256FileOffThread } from './hash-worker';

/** One file's identity. Source files may carry the Hub's LFS oid (sha256) or git blob id instead. */
export interface FileChecksum {
  /** Path relative to the artifact / source folder, `/`-separated. */
  file: string;
  size: number;
  sha256?: string;
  lfs_oid?: string;
  git_sha1?: string;
}

/** sha256 and size of one file (hashed on a worker thread, never in memory whole). */
export function sha256File(absPath: string): Promise<{ size: number; sha256: string }> {
  return sha256FileOffThread(absPath);
}

/** Checksums of `files` (relative to `dir`), in the given order, one file at a time. */
export async function checksumFiles(dir: string, files: string[]): Promise<FileChecksum[]> {
  const out: FileChecksum[] = [];
  for (const file of files) {
    const { size, sha256 } = await sha256File(path.join(dir, file));
    out.push({ file, size, sha256 });
  }
  return out;
}
