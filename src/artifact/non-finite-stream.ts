/**
 * NaN / Inf in an artifact's float tensors, found while a shard streams past once (validate reads every
 * byte for its sha256 anyway, so the scan adds no I/O and holds no more than the chunk in hand).
 * Quantized modules are covered through their float scales and biases; the packed codes are integers.
 * The one-byte E8M0 scales of mxfp4 / mxfp8 (group size 32) are covered too: 0xFF is their only
 * non-finite value (NaN in the OCP MX spec; src/quant/kernels/fp-codecs.ts decodes it as MLX does, Inf).
 */
import { FLOAT_DTYPE_BYTES, isConvertibleFloatDType, type FloatDType } from '../numeric/float-bits';
import { firstNonFinite, firstNonFiniteReference, nonFiniteKind } from '../numeric/non-finite';
import type { TensorInfo } from '../safetensors/types';

export interface NonFiniteFinding {
  tensor: string;
  dtype: FloatDType | 'E8M0';
  shape: number[];
  /** Flat index of the tensor's first non-finite element. */
  index: number;
  kind: 'NaN' | '+Inf' | '-Inf' | 'E8M0 0xFF';
}

interface FloatTensor {
  name: string;
  dtype: FloatDType | 'E8M0';
  shape: number[];
  /** Absolute file positions of the data. */
  start: number;
  end: number;
}

export class NonFiniteStreamScan {
  private readonly tensors: FloatTensor[];
  /** First tensor that may still overlap a coming chunk. */
  private next = 0;
  /** Leading bytes of an element cut by the previous chunk's end. */
  private carry = Buffer.alloc(0);
  private readonly found = new Map<string, NonFiniteFinding>();

  /** `e8m0`: the U8 tensors that hold E8M0 scales (the caller knows them from the quantization config). */
  constructor(tensors: Iterable<TensorInfo>, private readonly threads?: number, e8m0: ReadonlySet<string> = new Set()) {
    this.tensors = [];
    for (const t of tensors) {
      const dtype = isConvertibleFloatDType(t.dtype) ? t.dtype : t.dtype === 'U8' && e8m0.has(t.name) ? 'E8M0' : undefined;
      if (dtype && t.byteLength > 0) this.tensors.push({ name: t.name, dtype, shape: t.shape, start: t.offset, end: t.offset + t.byteLength });
    }
    this.tensors.sort((a, b) => a.start - b.start);
  }

  /** The first non-finite element of each tensor that holds one, in file order. */
  findings(): NonFiniteFinding[] {
    return this.tensors.flatMap((t) => this.found.get(t.name) ?? []);
  }

  /**
   * Scans `chunk`, the file's bytes [pos, pos + chunk.length). Chunks must arrive in file order without
   * gaps. The native scans start before this returns its promise, so the caller can hash the same chunk
   * on the main thread meanwhile.
   */
  feed(chunk: Buffer, pos: number): Promise<void> {
    const end = pos + chunk.length;
    const jobs: Promise<void>[] = [];
    for (let k = this.next; k < this.tensors.length; k++) {
      const t = this.tensors[k];
      if (t.start >= end) break;
      if (t.end <= pos) {
        this.next = k + 1;
        continue;
      }
      if (t.end <= end) this.next = k + 1;
      if (this.found.has(t.name)) continue;
      if (t.dtype === 'E8M0') {
        const i = chunk.subarray(Math.max(t.start, pos) - pos, Math.min(t.end, end) - pos).indexOf(0xff);
        if (i >= 0) this.found.set(t.name, { tensor: t.name, dtype: 'E8M0', shape: t.shape, index: Math.max(t.start, pos) - t.start + i, kind: 'E8M0 0xFF' });
        continue;
      }
      const dtype = t.dtype;
      const w = FLOAT_DTYPE_BYTES[dtype];
      // This chunk's part of the tensor, in bytes from the tensor's start; elements begin at multiples of w.
      const rs = Math.max(t.start, pos) - t.start;
      const re = Math.min(t.end, end) - t.start;
      const at = (rel: number) => rel + t.start - pos; // tensor byte -> chunk byte
      const b0 = Math.ceil(rs / w) * w;
      if (b0 > rs) {
        // Completes (or extends) the element the previous chunk cut.
        this.carry = Buffer.concat([this.carry, chunk.subarray(at(rs), at(Math.min(b0, re)))]);
        if (this.carry.length === w) {
          this.check(t, dtype, this.carry, b0 / w - 1);
          this.carry = Buffer.alloc(0);
        }
      }
      const b1 = Math.floor(re / w) * w;
      if (b1 > b0) {
        const body = chunk.subarray(at(b0), at(b1));
        jobs.push(firstNonFinite(body, dtype, this.threads).then((i) => {
          if (i >= 0) this.record(t, dtype, body, i, b0 / w + i);
        }));
      }
      if (re > b1 && b1 >= b0) this.carry = Buffer.from(chunk.subarray(at(b1), at(re)));
    }
    return Promise.all(jobs).then(() => undefined);
  }

  private check(t: FloatTensor, dtype: FloatDType, element: Buffer, index: number): void {
    if (firstNonFiniteReference(element, dtype) === 0) this.record(t, dtype, element, 0, index);
  }

  private record(t: FloatTensor, dtype: FloatDType, data: Buffer, local: number, index: number): void {
    // Chunks are awaited in order and each chunk holds one scan per tensor, so the first record is the smallest index.
    if (!this.found.has(t.name)) this.found.set(t.name, { tensor: t.name, dtype, shape: t.shape, index, kind: nonFiniteKind(data, local, dtype) });
  }
}
