/** sha256 + size of artifact files, streamed (never a whole file in memory), for the provenance block. */
import { createHash } from 'crypto';
import { createReadStream, promises as fsp } from 'fs';
import * as path from 'path';
import { MtpkitError } from '../errors';

/** One file's identity. Source files may carry the Hub's LFS oid (sha256) or git blob id instead. */
export interface FileChecksum {
  /** Path relative to the artifact / source folder, `/`-separated. */
  file: string;
  size: number;
  sha256?: string;
  lfs_oid?: string;
  git_sha1?: string;
}

/** sha256 and size of one file. */
export async function sha256File(absPath: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of createReadStream(absPath, { highWaterMark: 4 << 20 })) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  } catch (e) {
    throw new MtpkitError(`cannot read: ${(e as Error).message}`, { file: absPath });
  }
  const st = await fsp.stat(absPath);
  if (st.size !== size) throw new MtpkitError(`file changed while hashing (${size} bytes read, ${st.size} on disk)`, { file: absPath });
  return { size, sha256: hash.digest('hex') };
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
