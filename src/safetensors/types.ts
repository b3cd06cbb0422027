/** Types shared by the safetensors reader, writer and everything that plans over tensors. */

/** dtype strings of the safetensors format. */
export const DTYPES = [
  'BOOL', 'U8', 'I8', 'U16', 'I16', 'U32', 'I32', 'U64', 'I64',
  'F16', 'BF16', 'F32', 'F64',
  'F8_E4M3', 'F8_E5M2', 'F8_E8M0',
] as const;
export type DType = (typeof DTYPES)[number];

export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  BOOL: 1, U8: 1, I8: 1, U16: 2, I16: 2, U32: 4, I32: 4, U64: 8, I64: 8,
  F16: 2, BF16: 2, F32: 4, F64: 8,
  F8_E4M3: 1, F8_E5M2: 1, F8_E8M0: 1,
};

export function isDType(s: unknown): s is DType {
  return typeof s === 'string' && (DTYPES as readonly string[]).includes(s);
}

export function isFloatDType(d: DType): boolean {
  return d === 'F16' || d === 'BF16' || d === 'F32' || d === 'F64';
}

/** Number of elements of a shape (1 for a scalar `[]`). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function tensorBytes(dtype: DType, shape: readonly number[]): number {
  return numel(shape) * DTYPE_BYTES[dtype];
}

/** What any consumer needs to know about a stored tensor, before touching its data. */
export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  /** Size of the data in bytes (= numel(shape) * bytes per element). */
  byteLength: number;
  /** Absolute position of the first data byte inside its file. */
  offset: number;
  /** Shard file name relative to the checkpoint folder (e.g. `model-00001-of-00002.safetensors`). */
  shard: string;
}

/** A tensor the writer is told about before any data is streamed. */
export interface TensorSpec {
  name: string;
  dtype: DType;
  shape: number[];
}

/** A positional byte source: a local file, or (later) a remote file read by HTTP ranges. */
export interface ByteSource {
  /** Human-readable name used in error messages (a path or a URL without credentials). */
  readonly label: string;
  size(): Promise<number>;
  /** Reads exactly `length` bytes at `position`; rejects if fewer are available. */
  read(position: number, length: number): Promise<Buffer>;
  /** Fills all of `dest` with the bytes at `position` (a caller-owned, reusable buffer); rejects if fewer are available. */
  readInto?(position: number, dest: Buffer): Promise<void>;
  close(): Promise<void>;
}
