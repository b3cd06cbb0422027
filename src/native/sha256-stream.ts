/**
 * Streaming sha256 on libuv's thread pool through the addon (native/src/sha256_stream.cc), which calls
 * the OpenSSL node links (SHA-NI / ARMv8 SHA2 when present). Nothing is hashed on the event loop, and
 * bytes already in memory (a buffer being written, a range just read) are hashed without reading them
 * again. Updates are chained in call order, so callers may fire them without awaiting.
 */
import { promises as fsp } from 'fs';
import { MtpkitError } from '../errors';
import { nativeAddon } from './addon';

declare const handleBrand: unique symbol;
type Handle = { readonly [handleBrand]: true };

interface Sha256Addon {
  sha256New(): Handle;
  sha256Update(h: Handle, bytes: Uint8Array): Promise<void>;
  sha256UpdateFromFile(h: Handle, fd: number, position: number, length: number): Promise<number>;
  sha256Digest(h: Handle): string;
}

const addon = (): Sha256Addon => nativeAddon<Sha256Addon>();

/** File pieces hashed per pool task: long enough to amortise the hop, short enough to share the pool with reads. */
export const FILE_PIECE_BYTES = 8 << 20;

export class Sha256Stream {
  private readonly handle = addon().sha256New();
  private chain: Promise<unknown> = Promise.resolve();
  private failed: unknown;
  private done = false;
  /** Bytes hashed so far (counted when queued). */
  size = 0;

  /** Queues `bytes`; the caller must not change them until the returned promise settles. */
  update(bytes: Uint8Array): Promise<void> {
    this.checkOpen();
    this.size += bytes.length;
    return this.enqueue(() => addon().sha256Update(this.handle, bytes));
  }

  /**
   * Queues `length` bytes of an open file from `position`, read and hashed on the pool in pieces
   * (other pool work runs between pieces). Rejects if the file ends early. The fd must stay open until then.
   */
  updateFromFile(fd: number, position: number, length: number, label: string): Promise<void> {
    this.checkOpen();
    this.size += length;
    return this.enqueue(async () => {
      for (let done = 0; done < length; ) {
        const want = Math.min(FILE_PIECE_BYTES, length - done);
        const n = await addon().sha256UpdateFromFile(this.handle, fd, position + done, want);
        if (n < want) throw new MtpkitError(`file ended while hashing: wanted ${length} bytes at ${position}, got ${done + n}`, { file: label });
        done += n;
      }
    });
  }

  /** Hex digest once every queued update is hashed; the stream cannot be used afterwards. */
  async digest(): Promise<string> {
    this.checkOpen();
    this.done = true;
    await this.chain;
    if (this.failed !== undefined) throw this.failed;
    return addon().sha256Digest(this.handle);
  }

  private checkOpen(): void {
    if (this.done) throw new MtpkitError('sha256 stream already finished');
  }

  private enqueue(op: () => Promise<unknown>): Promise<void> {
    const p = this.chain.then(() => {
      if (this.failed !== undefined) throw this.failed;
      return op();
    });
    // A failed update poisons the stream: later updates and digest() report the first error.
    this.chain = p.catch((e) => {
      this.failed ??= e;
    });
    return p.then(() => undefined);
  }
}

/** sha256 and size of a whole file, read and hashed on the pool one piece at a time. */
export async function sha256FileNative(file: string): Promise<{ size: number; sha256: string }> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (e) {
    throw new MtpkitError(`cannot hash: ${(e as Error).message}`, { file });
  }
  try {
    const size = (await fh.stat()).size;
    const s = new Sha256Stream();
    await s.updateFromFile(fh.fd, 0, size, file);
    // A file that grew while being hashed would get a checksum of only part of it.
    const after = (await fh.stat()).size;
    if (after !== size) throw new MtpkitError(`file changed while hashing (${size} bytes hashed, ${after} on disk)`, { file });
    return { size, sha256: await s.digest() };
  } catch (e) {
    throw e instanceof MtpkitError ? e : new MtpkitError(`cannot hash: ${(e as Error).message}`, { file });
  } finally {
    await fh.close();
  }
}
