/**
 * Whole-file download into the cache: bytes go to `blobs/<id>.incomplete`, a later attempt (or run)
 * continues from that file's length with a Range request, the content hash is computed on the way,
 * and only a file of the right size and hash is renamed to `blobs/<id>`.
 */
import { constants as FS, promises as fsp } from 'fs';
import { MtpkitError } from '../errors';
import { ExpectedContent, hashFilePrefix, newContentHasher } from './content-hash';
import { HubConfig } from './hub-config';
import { TransientError, withRetry } from './retry';
import { RemoteFile, streamRange } from './transfer';

export interface WholeDownload {
  file: RemoteFile;
  expected: ExpectedContent;
  incompletePath: string;
  finalPath: string;
  onBytes?: (bytesDone: number, bytesTotal: number) => void;
  /** Called when bytes are about to be requested (tests and logs count transfers). */
  onRequest?: (start: number, end: number) => void;
}

async function sizeOf(p: string): Promise<number> {
  try {
    return (await fsp.stat(p)).size;
  } catch {
    return 0;
  }
}

function label(f: RemoteFile): string {
  return `${f.repo}@${f.commit.slice(0, 12)}: '${f.path}'`;
}

/** Downloads (or finishes downloading) one file; resolves once `finalPath` holds the verified content. */
export async function downloadWholeFile(config: HubConfig, job: WholeDownload, fromScratch = false): Promise<void> {
  const { file, expected } = job;
  const size = expected.size;
  if (fromScratch) await fsp.rm(job.incompletePath, { force: true });
  let done = await sizeOf(job.incompletePath);
  if (done > size) {
    await fsp.rm(job.incompletePath, { force: true });
    done = 0;
  }
  const resumedFrom = done;
  const hasher = newContentHasher(expected.algo, size);
  await hashFilePrefix(hasher, job.incompletePath, done);
  job.onBytes?.(done, size);

  const fh = await fsp.open(job.incompletePath, FS.O_WRONLY | FS.O_CREAT);
  try {
    await withRetry(
      async () => {
        // Drop anything past the bytes already hashed (a write that failed half way).
        await fh.truncate(done);
        if (done >= size) return;
        job.onRequest?.(done, size);
        const start = done;
        await streamRange(config, file, start, size, async (chunk) => {
          await fh.write(chunk, 0, chunk.length, done);
          hasher.update(chunk);
          done += chunk.length;
          job.onBytes?.(done, size);
        });
        if (done < size) throw new TransientError(`${label(file)}: connection ended after ${done} of ${size} bytes`);
      },
      { maxAttempts: config.maxAttempts, baseMs: config.retryBaseMs, progress: () => done, signal: config.signal },
    );
    await fh.sync();
  } finally {
    await fh.close();
  }

  const got = expected.algo === 'size-only' ? expected.hex : hasher.digest('hex');
  if (got !== expected.hex) {
    await fsp.rm(job.incompletePath, { force: true });
    // The kept partial file may have come from an older, damaged attempt: start over once.
    if (resumedFrom > 0 && !fromScratch) return downloadWholeFile(config, job, true);
    const what = expected.algo === 'sha256' ? 'sha256' : 'git blob sha1';
    throw new MtpkitError(
      `${label(file)}: downloaded content does not match the expected ${what} (expected ${expected.hex}, got ${got}); ` +
        'the download was discarded and nothing was added to the cache',
    );
  }
  await fsp.rename(job.incompletePath, job.finalPath);
}
