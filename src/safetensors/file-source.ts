/** A local file as a positional ByteSource (no shared file position, so reads may run concurrently). */
import { promises as fsp } from 'fs';
import { MtpkitError } from '../errors';
import { ByteSource } from './types';

/** fs read() rejects lengths above 2^31-1; stay well below it. */
const MAX_READ_CHUNK = 1 << 30;

export class FileSource implements ByteSource {
  private closed = false;

  private constructor(
    readonly label: string,
    private readonly handle: fsp.FileHandle,
    private readonly fileSize: number,
  ) {}

  static async open(path: string): Promise<FileSource> {
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(path, 'r');
    } catch (e) {
      throw new MtpkitError(`cannot open: ${(e as Error).message}`, { file: path });
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw new MtpkitError('not a regular file', { file: path });
      return new FileSource(path, handle, st.size);
    } catch (e) {
      await handle.close().catch(() => undefined);
      throw e instanceof MtpkitError ? e : new MtpkitError(`cannot stat: ${(e as Error).message}`, { file: path });
    }
  }

  async size(): Promise<number> {
    return this.fileSize;
  }

  async read(position: number, length: number): Promise<Buffer> {
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new MtpkitError(`invalid read of ${length} bytes at ${position}`, { file: this.label });
    }
    const buf = Buffer.allocUnsafe(length);
    await this.readInto(position, buf);
    return buf;
  }

  async readInto(position: number, buf: Buffer): Promise<void> {
    const length = buf.length;
    if (this.closed) throw new MtpkitError('read after close', { file: this.label });
    if (!Number.isSafeInteger(position) || position < 0) {
      throw new MtpkitError(`invalid read of ${length} bytes at ${position}`, { file: this.label });
    }
    let done = 0;
    while (done < length) {
      const want = Math.min(length - done, MAX_READ_CHUNK);
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.handle.read(buf, done, want, position + done));
      } catch (e) {
        throw new MtpkitError(`read of ${length} bytes at ${position} failed: ${(e as Error).message}`, { file: this.label });
      }
      if (bytesRead === 0) {
        throw new MtpkitError(`file truncated: wanted ${length} bytes at ${position}, got ${done}`, { file: this.label });
      }
      done += bytesRead;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}
