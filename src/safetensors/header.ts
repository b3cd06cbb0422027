/**
 * Parsing and validation of a safetensors header:
 *   u64 little-endian N | N bytes of UTF-8 JSON | data section.
 * Every rule of the format is checked here so the rest of the code can trust offsets blindly.
 */
import { InputError } from '../errors';
import { DTYPE_BYTES, TensorInfo, isDType } from './types';

/** Size of the little-endian u64 that precedes the JSON header. */
export const HEADER_PREFIX_BYTES = 8;
/** Refuse headers above this size: real ones are a few MB at most, and we hold the header in memory. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;
export const METADATA_KEY = '__metadata__';

export interface ParsedHeader {
  metadata: Record<string, string>;
  /** In data-offset order; `offset` is absolute, `shard` is the label's base name until the caller sets it. */
  tensors: TensorInfo[];
  /** Absolute position of the data section (8 + N). */
  dataStart: number;
}

/**
 * Checks the header length read from the first 8 bytes against the file size and the cap,
 * before any header byte is read. Returns it as a number.
 */
export function checkHeaderLength(headerLength: bigint | number, label: string, fileSize: number): number {
  const n = BigInt(headerLength);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new InputError(`header length ${n} is above the ${MAX_HEADER_BYTES}-byte limit (corrupt or not a safetensors file)`, { file: label });
  }
  if (n + BigInt(HEADER_PREFIX_BYTES) > BigInt(fileSize)) {
    throw new InputError(`header length ${n} is larger than the file (${fileSize} bytes; truncated or not a safetensors file)`, { file: label });
  }
  return Number(n);
}

function baseName(label: string): string {
  const parts = label.split(/[\\/]/);
  return parts[parts.length - 1] || label;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNonNegativeSafeInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function parseMetadata(raw: unknown, label: string): Record<string, string> {
  if (!isPlainObject(raw)) {
    throw new InputError('__metadata__ must be an object of strings', { file: label, field: METADATA_KEY });
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') {
      throw new InputError(`metadata value must be a string, got ${JSON.stringify(v)}`, { file: label, field: `${METADATA_KEY}.${k}` });
    }
    out[k] = v;
  }
  return out;
}

interface RawTensor { info: TensorInfo; begin: number; end: number }

function parseTensor(name: string, raw: unknown, label: string, dataStart: number, fileSize: number): RawTensor {
  const place = (field?: string) => ({ file: label, tensor: name, field });
  if (!isPlainObject(raw)) throw new InputError('entry must be an object', place());
  for (const key of ['dtype', 'shape', 'data_offsets']) {
    if (!(key in raw)) throw new InputError(`missing '${key}'`, place(key));
  }
  const { dtype, shape, data_offsets: offsets } = raw;
  if (!isDType(dtype)) throw new InputError(`unknown dtype ${JSON.stringify(dtype)}`, place('dtype'));
  if (!Array.isArray(shape) || !shape.every(isNonNegativeSafeInt)) {
    throw new InputError(`shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`, place('shape'));
  }
  let byteLength = DTYPE_BYTES[dtype];
  for (const d of shape) byteLength *= d;
  if (!Number.isSafeInteger(byteLength)) throw new InputError(`shape ${JSON.stringify(shape)} is too large`, place('shape'));
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeSafeInt)) {
    throw new InputError(`data_offsets must be two non-negative integers, got ${JSON.stringify(offsets)}`, place('data_offsets'));
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) throw new InputError(`data_offsets begin ${begin} > end ${end}`, place('data_offsets'));
  if (dataStart + end > fileSize) {
    throw new InputError(`data_offsets [${begin}, ${end}] are out of bounds: the data section has ${fileSize - dataStart} bytes`, place('data_offsets'));
  }
  if (end - begin !== byteLength) {
    throw new InputError(`size mismatch: ${dtype} ${JSON.stringify(shape)} needs ${byteLength} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`, place('data_offsets'));
  }
  return {
    info: { name, dtype, shape: shape.slice(), byteLength, offset: dataStart + begin, shard: baseName(label) },
    begin,
    end,
  };
}

/**
 * Parses and validates the JSON header of a safetensors file.
 * @param headerJson the N header bytes (after the 8-byte length)
 * @param label file name used in error messages
 * @param fileSize total size of the file in bytes
 * @param headerLength N as read from the first 8 bytes
 */
export function parseHeader(headerJson: Buffer, label: string, fileSize: number, headerLength: number): ParsedHeader {
  const n = checkHeaderLength(headerLength, label, fileSize);
  if (headerJson.length !== n) {
    throw new InputError(`header has ${headerJson.length} bytes, expected ${n}`, { file: label });
  }
  const dataStart = HEADER_PREFIX_BYTES + n;

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerJson);
  } catch {
    throw new InputError('header is not valid UTF-8', { file: label });
  }
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw new InputError(`header is not valid JSON (${(e as Error).message})`, { file: label });
  }
  if (!isPlainObject(root)) throw new InputError('header JSON is not an object', { file: label });

  let metadata: Record<string, string> = {};
  const raws: RawTensor[] = [];
  for (const [name, value] of Object.entries(root)) {
    if (name === METADATA_KEY) metadata = parseMetadata(value, label);
    else raws.push(parseTensor(name, value, label, dataStart, fileSize));
  }

  // Data-offset order; empty tensors first among equal begins so they never look like overlaps.
  raws.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  let previous: RawTensor | undefined;
  for (const r of raws) {
    if (r.begin < expected) {
      throw new InputError(`data [${r.begin}, ${r.end}] overlaps tensor '${previous!.info.name}' [${previous!.begin}, ${previous!.end}]`, { file: label, tensor: r.info.name, field: 'data_offsets' });
    }
    if (r.begin > expected) {
      const after = previous ? `after tensor '${previous.info.name}'` : 'at the start of the data section';
      throw new InputError(`gap of ${r.begin - expected} bytes ${after}: data starts at ${r.begin}, expected ${expected}`, { file: label, tensor: r.info.name, field: 'data_offsets' });
    }
    expected = r.end;
    previous = r;
  }
  const dataBytes = fileSize - dataStart;
  if (expected !== dataBytes) {
    throw new InputError(`${dataBytes - expected} trailing bytes after the last tensor (data section ${dataBytes} bytes, tensors end at ${expected})`, { file: label });
  }
  return { metadata, tensors: raws.map((r) => r.info), dataStart };
}
