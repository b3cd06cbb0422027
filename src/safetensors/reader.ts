/** One safetensors file: the header is read on open, tensor data on demand by positional reads. */
import * as path from 'path';
import { InputError, MtpkitError } from '../errors';
import { FileSource } from './file-source';
import { HEADER_PREFIX_BYTES, checkHeaderLength, parseHeader } from './header';
import { ByteSource, TensorInfo } from './types';

export class SafetensorsFile {
  private constructor(
    private readonly source: ByteSource,
    readonly label: string,
    readonly metadata: Record<string, string>,
    readonly tensors: Map<string, TensorInfo>,
    /** Absolute position of the data section (8 + header length). */
    readonly dataStart: number,
    readonly fileSize: number,
  ) {}

  /** Opens a local file; `shardName` (default: the base name) goes into every TensorInfo.shard. */
  static async open(filePath: string, shardName: string = path.basename(filePath)): Promise<SafetensorsFile> {
    const src = await FileSource.open(filePath);
    try {
      return await SafetensorsFile.fromSource(src, shardName);
    } catch (e) {
      await src.close().catch(() => undefined);
      throw e;
    }
  }

  /** Reads and validates the header of `src` (8 bytes, then N bytes). Does not close `src` on error. */
  static async fromSource(src: ByteSource, shardName: string): Promise<SafetensorsFile> {
    const label = src.label;
    const size = await src.size();
    if (size < HEADER_PREFIX_BYTES) {
      throw new InputError(`file has ${size} bytes, too small for a safetensors header`, { file: label });
    }
    const prefix = await src.read(0, HEADER_PREFIX_BYTES);
    const n = checkHeaderLength(prefix.readBigUInt64LE(0), label, size);
    const json = await src.read(HEADER_PREFIX_BYTES, n);
    const parsed = parseHeader(json, label, size, n);
    const tensors = new Map<string, TensorInfo>();
    for (const t of parsed.tensors) tensors.set(t.name, { ...t, shard: shardName });
    return new SafetensorsFile(src, label, parsed.metadata, tensors, parsed.dataStart, size);
  }

  /** The TensorInfo of `name`; InputError naming the file if absent. */
  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new InputError('no such tensor in this file', { file: this.label, tensor: name });
    return t;
  }

  /** All bytes of one tensor. */
  async readTensor(name: string): Promise<Buffer> {
    const t = this.info(name);
    return this.source.read(t.offset, t.byteLength);
  }

  /** Bytes [byteStart, byteEnd) within the tensor's data. */
  async readRange(name: string, byteStart: number, byteEnd: number): Promise<Buffer> {
    return this.source.read(this.rangeStart(name, byteStart, byteEnd), byteEnd - byteStart);
  }

  /** Bytes [byteStart, byteStart + dest.length) within the tensor's data, into `dest`. */
  async readRangeInto(name: string, byteStart: number, dest: Buffer): Promise<void> {
    const start = this.rangeStart(name, byteStart, byteStart + dest.length);
    if (!this.source.readInto) throw new MtpkitError('this byte source cannot read into a buffer', { file: this.label, tensor: name });
    await this.source.readInto(start, dest);
  }

  /** File position of byte `byteStart` of the tensor, after checking [byteStart, byteEnd) lies inside it. */
  private rangeStart(name: string, byteStart: number, byteEnd: number): number {
    const t = this.info(name);
    if (!Number.isSafeInteger(byteStart) || !Number.isSafeInteger(byteEnd) || byteStart < 0 || byteStart > byteEnd || byteEnd > t.byteLength) {
      throw new MtpkitError(`byte range [${byteStart}, ${byteEnd}) is outside the tensor's ${t.byteLength} bytes`, { file: this.label, tensor: name });
    }
    return t.offset + byteStart;
  }

  async close(): Promise<void> {
    await this.source.close();
  }
}
