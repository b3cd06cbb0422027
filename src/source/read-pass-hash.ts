/**
 * The sha256 of an input file computed from the converter's own reads when they walk the file in
 * order, instead of reading the file a second time for its checksum. A cursor marks how far the file
 * is hashed; each read, in the order reads are issued, hashes what it brings beyond the cursor, and
 * bytes nobody read (the header, dropped tensors, a read that failed or came out of order) are read
 * from the file and hashed when the cursor has to pass them, the rest at the end. So every byte of
 * the file is hashed exactly once and in order, whatever the reads do: the digest is the file's
 * sha256 in every case, and the read order only decides how many bytes are read twice.
 */
import { promises as fsp } from 'fs';
import { MtpkitError } from '../errors';
import { Sha256Stream } from '../native/sha256-stream';

export interface FileRange {
  start: number;
  end: number;
}

/**
 * Bytes of a file the hasher would take from `reads` (issued in this order) rather than read again:
 * the same cursor walk as ReadPassHash, without reading anything.
 */
export function bytesHashedFromReads(reads: FileRange[]): number {
  let cursor = 0;
  let n = 0;
  for (const r of reads) {
    if (r.end <= cursor) continue;
    n += r.end - Math.max(cursor, r.start);
    cursor = r.end;
  }
  return n;
}

export class ReadPassHash {
  private readonly sha = new Sha256Stream();
  private cursor = 0;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private digestP?: Promise<{ size: number; sha256: string }>;
  /** Bytes hashed from the converter's read buffers, and read from the file for hashing only. */
  fromReads = 0;
  fromFile = 0;

  private constructor(private readonly fh: fsp.FileHandle, readonly size: number, readonly label: string) {}

  static async open(file: string, label: string): Promise<ReadPassHash> {
    const fh = await fsp.open(file, 'r');
    try {
      return new ReadPassHash(fh, (await fh.stat()).size, label);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /**
   * `read` fills `dest` with the file's bytes at `pos`. Resolves once they are read and hashed (so
   * the caller may reuse `dest` afterwards); rejects with the read's error. Calls are served in call order.
   */
  track(pos: number, dest: Uint8Array, read: Promise<void>): Promise<void> {
    if (this.closed) return read; // digest taken (a later pass over the same source): nothing left to hash
    read.catch(() => undefined); // it may fail before the chain reaches it: still reported through `step`
    const step = this.chain.then(async () => {
      await read;
      await this.feed(pos, dest);
    });
    // A failed read leaves the cursor where it was: a later feed or digest() hashes those bytes from the file.
    this.chain = step.catch(() => undefined);
    return step;
  }

  private feed(pos: number, bytes: Uint8Array): Promise<unknown> {
    const end = pos + bytes.length;
    if (end <= this.cursor) return Promise.resolve();
    const pending: Promise<void>[] = [];
    if (pos > this.cursor) pending.push(this.fill(pos));
    pending.push(this.sha.update(bytes.subarray(this.cursor - pos)));
    this.fromReads += end - this.cursor;
    this.cursor = end;
    return Promise.all(pending);
  }

  /** Hashes the file's bytes [cursor, to) read from the file. */
  private fill(to: number): Promise<void> {
    const p = this.sha.updateFromFile(this.fh.fd, this.cursor, to - this.cursor, this.label);
    this.fromFile += to - this.cursor;
    this.cursor = to;
    return p;
  }

  /** The file's size and sha256 once every tracked read is done; closes the file. Same promise on every call. */
  digest(): Promise<{ size: number; sha256: string }> {
    this.digestP ??= this.computeDigest();
    return this.digestP;
  }

  private async computeDigest(): Promise<{ size: number; sha256: string }> {
    try {
      await this.chain;
      // close() may have been called meanwhile (the conversion failed): never read a closed (reused) fd.
      if (this.closed) throw new MtpkitError('input file closed before its checksum was complete', { file: this.label });
      if (this.cursor < this.size) await this.fill(this.size);
      const after = (await this.fh.stat()).size;
      if (after !== this.size) throw new MtpkitError(`file changed while hashing (${this.size} bytes hashed, ${after} on disk)`, { file: this.label });
      return { size: this.size, sha256: await this.sha.digest() };
    } finally {
      await this.close();
    }
  }

  /** Closes the file once the tracked reads (and any hashing queued) are done; digest() does this itself. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.chain;
    await this.sha.digest().catch(() => undefined); // waits for queued file pieces; the stream is done anyway
    await this.fh.close().catch(() => undefined);
  }
}
