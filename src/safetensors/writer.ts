/**
 * Streaming safetensors writer. The header is fixed up front from the tensor specs, so data can be
 * streamed tensor after tensor without ever holding more than one buffer of output in memory.
 * Everything goes to `<final>.tmp-<pid>-<random>` and is renamed into place only by finish().
 */
import { randomBytes } from 'crypto';
import { promises as fsp } from 'fs';
import { InputError, MtpkitError } from '../errors';
import { HEADER_PREFIX_BYTES, METADATA_KEY } from './header';
import { TensorSpec, isDType, tensorBytes } from './types';

/** Small chunks are gathered up to this size so the disk sees large sequential writes. */
const WRITE_BUFFER_BYTES = 4 * 1024 * 1024;
export const DEFAULT_METADATA: Readonly<Record<string, string>> = { format: 'mlx' };

export function tempPathFor(finalPath: string): string {
  return `${finalPath}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** Writes a whole (small) file to a temporary name, fsyncs and renames it over `finalPath`. */
export async function writeFileAtomic(finalPath: string, data: Buffer | string): Promise<void> {
  const tmp = tempPathFor(finalPath);
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(tmp, 'wx');
    await fh.writeFile(data);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await fsp.rename(tmp, finalPath);
  } catch (e) {
    await fh?.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw new MtpkitError(`cannot write: ${(e as Error).message}`, { file: finalPath });
  }
}

interface Layout { name: string; start: number; end: number }

function validateSpecs(tensors: TensorSpec[], label: string): void {
  const seen = new Set<string>();
  for (const t of tensors) {
    const place = { file: label, tensor: t.name };
    if (typeof t.name !== 'string' || t.name === '' || t.name === METADATA_KEY) throw new InputError('invalid tensor name', place);
    if (seen.has(t.name)) throw new InputError('duplicate tensor name', place);
    seen.add(t.name);
    if (!isDType(t.dtype)) throw new InputError(`unknown dtype ${JSON.stringify(t.dtype)}`, { ...place, field: 'dtype' });
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new InputError(`shape must be non-negative integers, got ${JSON.stringify(t.shape)}`, { ...place, field: 'shape' });
    }
    if (!Number.isSafeInteger(tensorBytes(t.dtype, t.shape))) throw new InputError('tensor too large', { ...place, field: 'shape' });
  }
}

/**
 * The header bytes (8-byte length + JSON padded with spaces so the data starts on a multiple of 8)
 * and the data layout for tensors stored contiguously in the given order.
 */
export function buildHeader(tensors: TensorSpec[], metadata: Record<string, string>, label = '<header>'): { header: Buffer; layout: Layout[]; dataBytes: number } {
  validateSpecs(tensors, label);
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new InputError('metadata values must be strings', { file: label, field: `${METADATA_KEY}.${k}` });
  }
  // An empty metadata map is left out, as the Python safetensors writer does with None.
  const parts: string[] = Object.keys(metadata).length ? [`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`] : [];
  const layout: Layout[] = [];
  let pos = 0;
  for (const t of tensors) {
    const end = pos + tensorBytes(t.dtype, t.shape);
    parts.push(`${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":${JSON.stringify(t.shape)},"data_offsets":[${pos},${end}]}`);
    layout.push({ name: t.name, start: pos, end });
    pos = end;
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padded = Math.ceil((HEADER_PREFIX_BYTES + json.length) / 8) * 8 - HEADER_PREFIX_BYTES;
  const header = Buffer.alloc(HEADER_PREFIX_BYTES + padded, 0x20);
  header.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(header, HEADER_PREFIX_BYTES);
  return { header, layout, dataBytes: pos };
}

/** Receives every byte of the file in order as it is written (e.g. a streaming sha256, so the file is never read back). */
export interface WrittenBytesSink {
  /** Must be done with `bytes` when the promise settles: the writer reuses its buffers after that. */
  update(bytes: Uint8Array): Promise<void>;
}

export interface WriterOptions {
  sink?: WrittenBytesSink;
}

export class SafetensorsWriter {
  /** Bytes before the data section: 8-byte length + padded JSON (a multiple of 8). */
  readonly headerBytes: number;
  /** Size of the finished file. */
  readonly totalBytes: number;
  readonly dataBytes: number;
  private written = 0;
  /** Gathers small chunks; allocated on first use and reused (each flush is awaited before refilling). */
  private pending: Buffer | undefined;
  private pendingBytes = 0;
  private queue: Promise<void> = Promise.resolve();
  private state: 'open' | 'finished' | 'aborted' = 'open';

  private constructor(
    readonly finalPath: string,
    readonly tempPath: string,
    private fh: fsp.FileHandle | undefined,
    header: Buffer,
    private readonly layout: Layout[],
    dataBytes: number,
    private readonly sink: WrittenBytesSink | undefined,
  ) {
    this.headerBytes = header.length;
    this.dataBytes = dataBytes;
    this.totalBytes = header.length + dataBytes;
  }

  static async create(
    finalPath: string,
    tensors: TensorSpec[],
    metadata: Record<string, string> = { ...DEFAULT_METADATA },
    opts: WriterOptions = {},
  ): Promise<SafetensorsWriter> {
    const { header, layout, dataBytes } = buildHeader(tensors, metadata, finalPath);
    const tmp = tempPathFor(finalPath);
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(tmp, 'wx');
    } catch (e) {
      throw new MtpkitError(`cannot create temporary file: ${(e as Error).message}`, { file: tmp });
    }
    const w = new SafetensorsWriter(finalPath, tmp, fh, header, layout, dataBytes, opts.sink);
    try {
      await w.writeAll(header);
    } catch (e) {
      await w.abort();
      throw e;
    }
    return w;
  }

  /** Data bytes accepted so far (buffered or on disk). */
  get bytesWritten(): number {
    return this.written;
  }

  /** Appends the next bytes of the concatenated tensor data. Calls are serialized in call order. */
  write(chunk: Buffer): Promise<void> {
    return this.enqueue(() => this.doWrite(chunk));
  }

  /** Flushes, checks every byte arrived, fsyncs and renames into place. Removes the temp file on failure. */
  finish(): Promise<void> {
    return this.enqueue(async () => {
      try {
        this.checkOpen();
        if (this.written !== this.dataBytes) {
          const short = this.layout.find((l) => l.end > this.written);
          throw new MtpkitError(`data incomplete: got ${this.written} of ${this.dataBytes} bytes (${short!.end - Math.max(this.written, short!.start)} missing from this tensor)`, { file: this.finalPath, tensor: short!.name });
        }
        await this.flush();
        await this.fh!.sync();
        await this.fh!.close();
        this.fh = undefined;
        await fsp.rename(this.tempPath, this.finalPath);
        this.state = 'finished';
      } catch (e) {
        if (this.state === 'open') await this.discard();
        throw e instanceof MtpkitError ? e : new MtpkitError(`write failed: ${(e as Error).message}`, { file: this.finalPath });
      }
    });
  }

  /** Closes and deletes the temporary file; nothing appears at the final path. Safe to call twice. */
  async abort(): Promise<void> {
    await this.queue.catch(() => undefined);
    if (this.state === 'open') await this.discard();
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const p = this.queue.then(op);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private checkOpen(): void {
    if (this.state !== 'open') throw new MtpkitError(`writer already ${this.state}`, { file: this.finalPath });
  }

  private async discard(): Promise<void> {
    this.state = 'aborted';
    this.pending = undefined;
    this.pendingBytes = 0;
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close().catch(() => undefined);
    await fsp.rm(this.tempPath, { force: true });
  }

  private async doWrite(chunk: Buffer): Promise<void> {
    this.checkOpen();
    if (this.written + chunk.length > this.dataBytes) {
      const last = this.layout[this.layout.length - 1];
      throw new MtpkitError(`too much data: ${this.written + chunk.length} bytes for ${this.dataBytes} bytes of tensors`, { file: this.finalPath, tensor: last?.name });
    }
    this.written += chunk.length;
    if (chunk.length >= WRITE_BUFFER_BYTES) {
      await this.flush();
      await this.writeAll(chunk);
      return;
    }
    // Copy: the caller may reuse its buffer once the promise resolves.
    this.pending ??= Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
    let off = 0;
    while (off < chunk.length) {
      const n = chunk.copy(this.pending, this.pendingBytes, off);
      off += n;
      this.pendingBytes += n;
      if (this.pendingBytes === WRITE_BUFFER_BYTES) await this.flush();
    }
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const n = this.pendingBytes;
    this.pendingBytes = 0;
    await this.writeAll(this.pending!.subarray(0, n));
  }

  private async writeAll(buf: Buffer): Promise<void> {
    // The sink reads the same bytes while the kernel copies them: both finish before buf is reused.
    const sunk = this.sink?.update(buf);
    sunk?.catch(() => undefined);
    let off = 0;
    try {
      while (off < buf.length) {
        const { bytesWritten } = await this.fh!.write(buf, off, Math.min(buf.length - off, 1 << 30));
        off += bytesWritten;
      }
    } catch (e) {
      await sunk?.catch(() => undefined);
      throw new MtpkitError(`write failed: ${(e as Error).message}`, { file: this.tempPath });
    }
    await sunk;
  }
}

/** Writes a small file in one go (tests, sidecars). Each data buffer must match its spec's size. */
export async function writeSafetensorsFile(
  filePath: string,
  entries: { spec: TensorSpec; data: Buffer }[],
  metadata?: Record<string, string>,
): Promise<void> {
  const w = await SafetensorsWriter.create(filePath, entries.map((e) => e.spec), metadata);
  try {
    for (const { spec, data } of entries) {
      const want = tensorBytes(spec.dtype, spec.shape);
      if (data.length !== want) {
        throw new InputError(`data has ${data.length} bytes, ${spec.dtype} ${JSON.stringify(spec.shape)} needs ${want}`, { file: filePath, tensor: spec.name });
      }
      await w.write(data);
    }
    await w.finish();
  } catch (e) {
    await w.abort();
    throw e;
  }
}
