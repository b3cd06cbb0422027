/** A checkpoint folder (or single .safetensors file) on disk as a conversion source. */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { Checkpoint } from '../safetensors/checkpoint';
import type { TensorInfo } from '../safetensors/types';
import type { CheckpointSource, FetchEstimate, InputFileDigest, SourceProvenance, SourceRead } from './checkpoint-source';
import { sha256FileNative } from '../native/sha256-stream';
import { bytesHashedFromReads, ReadPassHash, type FileRange } from './read-pass-hash';

export class LocalSource implements CheckpointSource {
  /** Shards hashed from the converter's reads (hashWhileReading), and the end of those reads. */
  private readonly readPass = new Map<string, ReadPassHash>();
  private readPassOver!: () => void;
  private readonly readPassEnded = new Promise<void>((resolve) => (this.readPassOver = resolve));
  /** Buffers still being hashed (by their memory), and the last range queued for hashing. */
  private readonly hashing = new WeakMap<ArrayBufferLike, Promise<void>>();
  private lastHashed: Promise<void> = Promise.resolve();

  private constructor(private readonly ckpt: Checkpoint, readonly label: string) {}

  /**
   * Opens a folder or file. An MLX artifact whose MTP head is a sidecar (config.json
   * `mlx_lm_extra_tensors.mtp_file`, not in the index) is opened with the sidecar, so the head is part
   * of the source.
   */
  static async open(p: string): Promise<LocalSource> {
    const ckpt = await Checkpoint.open(p);
    const extra = (await ckpt.readJson<Record<string, any>>('config.json'))?.mlx_lm_extra_tensors;
    const sidecar = typeof extra?.mtp_file === 'string' ? (extra.mtp_file as string) : undefined;
    if (sidecar && !ckpt.shards.includes(sidecar)) {
      const shards = [...ckpt.shards, sidecar];
      await ckpt.close();
      return new LocalSource(await Checkpoint.openFiles(ckpt.dir, shards), p);
    }
    return new LocalSource(ckpt, p);
  }

  get tensors(): Map<string, TensorInfo> {
    return this.ckpt.tensors;
  }

  /** Shard files, the MTP sidecar included when there is one. */
  get shards(): string[] {
    return this.ckpt.shards;
  }

  get localDir(): string {
    return this.ckpt.dir;
  }

  readJson<T = unknown>(rel: string): Promise<T | undefined> {
    return this.ckpt.readJson<T>(rel);
  }

  async readText(rel: string): Promise<string | undefined> {
    try {
      return await fsp.readFile(path.join(this.ckpt.dir, rel), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  readTensor(name: string): Promise<Buffer> {
    return this.ckpt.readTensor(name);
  }

  readRange(name: string, start: number, end: number): Promise<Buffer> {
    return this.ckpt.readRange(name, start, end);
  }

  readRangeInto(name: string, start: number, dest: Buffer): Promise<void> {
    const read = this.ckpt.readRangeInto(name, start, dest);
    const info = this.ckpt.tensors.get(name);
    const pass = info && this.readPass.get(info.shard);
    if (!pass) return read;
    // The range is hashed after the read, beside the next read: the caller gets it once it is read and
    // the previous range is hashed (so at most one range waits for hashing), and must not reuse the
    // buffer before whenUnused() says so.
    const hashed = pass.track(info.offset + start, dest, read).catch(() => undefined); // errors: via read, or digest()
    const ab = dest.buffer;
    const prior = this.hashing.get(ab);
    this.hashing.set(ab, prior ? Promise.all([prior, hashed]).then(() => undefined) : hashed);
    const previous = this.lastHashed;
    this.lastHashed = hashed;
    return Promise.all([read, previous]).then(() => undefined);
  }

  whenUnused(dest: Uint8Array): Promise<void> | undefined {
    const p = this.hashing.get(dest.buffer);
    this.hashing.delete(dest.buffer);
    return p;
  }

  /**
   * `reads` are the ranges the converter will read, in the order it issues them. Each shard they walk
   * mostly in file order (and whose name is not already its checksum) is then hashed from those reads
   * (read-pass-hash.ts) rather than read twice; call endReadPass() when the reading is over.
   */
  async hashWhileReading(reads: SourceRead[]): Promise<void> {
    const byShard = new Map<string, FileRange[]>();
    for (const r of reads) {
      const t = this.ckpt.tensors.get(r.tensor);
      if (!t) continue;
      const list = byShard.get(t.shard) ?? [];
      list.push({ start: t.offset + r.start, end: t.offset + r.end });
      byShard.set(t.shard, list);
    }
    for (const [shard, ranges] of byShard) {
      const file = path.join(this.ckpt.dir, shard);
      if (this.readPass.has(shard) || (await hfCacheBlobDigest(file))) continue;
      // Bytes the reads do not bring are read for hashing in the read stage, one after another: worth it
      // only when the reads bring most of the file (the executor reads in output order, which mostly
      // follows the input's, apart from small tensors such as norms).
      const size = (await fsp.stat(file)).size;
      if (bytesHashedFromReads(ranges) < READ_PASS_MIN_SHARE * size) continue;
      this.readPass.set(shard, await ReadPassHash.open(file, shard));
    }
  }

  /** The converter's reads are over: the shards hashed from them finish (their unread bytes from the file). */
  endReadPass(): void {
    this.readPassOver();
  }

  async listFiles(): Promise<string[]> {
    const entries = await fsp.readdir(this.ckpt.dir, { withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => e.name).sort();
  }

  async copyFile(rel: string, dest: string): Promise<boolean> {
    try {
      await fsp.copyFile(path.join(this.ckpt.dir, rel), dest);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  async estimateFetch(): Promise<FetchEstimate> {
    return { bytesToFetch: 0, wholeFiles: [], rangeRequests: 0 };
  }

  async prepare(): Promise<void> {}

  provenance(): SourceProvenance {
    return { kind: 'local', path: path.resolve(this.ckpt.dir) };
  }

  /**
   * sha256 of every shard. In a Hugging Face cache snapshot the shards are links to `blobs/<sha256>`
   * (LFS files are stored under their sha256), so the name is the checksum and nothing is read;
   * other files are read and hashed natively on libuv's pool, two files at a time (hashing 2 GB on one
   * core takes longer than quantizing it on two) and one 8 MiB piece per pool task, so the executor's
   * reads (same pool, 4 threads) are never queued behind a whole file. Sequential file reads also warm
   * the page cache ahead of the executor when the cache is cold.
   */
  async inputDigests(): Promise<InputFileDigest[]> {
    const shards = this.ckpt.shards;
    const out: InputFileDigest[] = new Array(shards.length);
    const fromReads = shards.map(async (shard, i) => {
      const pass = this.readPass.get(shard);
      if (!pass) return;
      await this.readPassEnded;
      out[i] = { path: shard, ...(await pass.digest()) };
    });
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < shards.length; i = next++) {
        if (this.readPass.has(shards[i])) continue;
        const file = path.join(this.ckpt.dir, shards[i]);
        const fromCache = await hfCacheBlobDigest(file);
        const { size, sha256 } = fromCache ?? (await sha256FileNative(file));
        out[i] = { path: shards[i], size, sha256 };
      }
    };
    await Promise.all([...fromReads, ...Array.from({ length: Math.min(INPUT_HASH_LANES, shards.length) }, lane)]);
    return out;
  }

  async close(): Promise<void> {
    this.readPassOver();
    await Promise.all([...this.readPass.values()].map((p) => p.close()));
    await this.ckpt.close();
  }
}

/** Share of a shard the executor's reads must bring for it to be hashed from them (see hashWhileReading). */
const READ_PASS_MIN_SHARE = 0.75;

/** Input files hashed at once: leaves two of libuv's four pool threads for reads, writes and output hashing. */
const INPUT_HASH_LANES = 2;

/** `snapshots/<commit>/x.safetensors -> ../../blobs/<64 hex>`: the blob's name is its sha256. */
async function hfCacheBlobDigest(file: string): Promise<{ size: number; sha256: string } | undefined> {
  try {
    if (!(await fsp.lstat(file)).isSymbolicLink()) return undefined;
    const target = await fsp.readlink(file);
    const blob = path.basename(target);
    if (!/^[0-9a-f]{64}$/.test(blob) || path.basename(path.dirname(target)) !== 'blobs') return undefined;
    return { size: (await fsp.stat(file)).size, sha256: blob };
  } catch {
    return undefined;
  }
}
