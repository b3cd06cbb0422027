/**
 * A small GGUF v3 writer (dev-only, for the llama.cpp side of bench/engine-decode.ts): metadata
 * key/values, tensor infos, then the tensor data streamed tensor by tensor (memory bounded by one
 * tensor's chunk). Layout facts: ggml-org/llama.cpp `gguf-py/gguf/constants.py` (value and tensor
 * type ids, Q4_0 block size) and `gguf-py/gguf/gguf_writer.py` (header, alignment, dims order).
 */
import { promises as fsp } from 'fs';

/** GGUFValueType in gguf-py/gguf/constants.py. */
const VT = { u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10 } as const;

/** GGMLQuantizationType ids used here, with their block sizes (elements, bytes). */
export const GGML_TYPES = {
  F32: { id: 0, blockElems: 1, blockBytes: 4 },
  F16: { id: 1, blockElems: 1, blockBytes: 2 },
  Q4_0: { id: 2, blockElems: 32, blockBytes: 18 },
} as const;
export type GgmlTypeName = keyof typeof GGML_TYPES;

export type GgufValue =
  | { type: 'u32' | 'i32' | 'f32' | 'u64'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'i32[]' | 'f32[]'; value: number[] }
  | { type: 'string[]'; value: string[] };

export interface GgufTensor {
  name: string;
  /** PyTorch order [out, in]; written reversed (ggml ne0 = innermost), as gguf_writer.py does. */
  shape: number[];
  type: GgmlTypeName;
  /** Writes exactly tensorBytes(this) bytes through `write`. */
  fill: (write: (chunk: Buffer) => Promise<void>) => Promise<void>;
}

const ALIGNMENT = 32; // general.alignment default

export function tensorBytes(t: Pick<GgufTensor, 'shape' | 'type' | 'name'>): number {
  const ty = GGML_TYPES[t.type];
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (t.shape[t.shape.length - 1] % ty.blockElems !== 0) {
    throw new RangeError(`${t.name}: inner dimension ${t.shape[t.shape.length - 1]} is not a multiple of ${ty.blockElems} (${t.type})`);
  }
  return (n / ty.blockElems) * ty.blockBytes;
}

/** Little-endian byte builder for the header. */
class Bytes {
  private parts: Buffer[] = [];
  length = 0;
  private push(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  f32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  u64(v: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  raw(b: Buffer): void {
    this.push(b);
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function writeValue(out: Bytes, v: GgufValue): void {
  switch (v.type) {
    case 'u32': out.u32(VT.u32); out.u32(v.value); break;
    case 'i32': out.u32(VT.i32); out.i32(v.value); break;
    case 'f32': out.u32(VT.f32); out.f32(v.value); break;
    case 'u64': out.u32(VT.u64); out.u64(v.value); break;
    case 'bool': out.u32(VT.bool); out.raw(Buffer.from([v.value ? 1 : 0])); break;
    case 'string': out.u32(VT.string); out.str(v.value); break;
    case 'i32[]':
      out.u32(VT.array); out.u32(VT.i32); out.u64(v.value.length);
      for (const x of v.value) out.i32(x);
      break;
    case 'f32[]':
      out.u32(VT.array); out.u32(VT.f32); out.u64(v.value.length);
      for (const x of v.value) out.f32(x);
      break;
    case 'string[]':
      out.u32(VT.array); out.u32(VT.string); out.u64(v.value.length);
      for (const x of v.value) out.str(x);
      break;
  }
}

const pad = (n: number) => (ALIGNMENT - (n % ALIGNMENT)) % ALIGNMENT;

/** Writes a GGUF v3 file: header, `metadata` in insertion order, tensor infos, aligned data. */
export async function writeGguf(file: string, metadata: [string, GgufValue][], tensors: GgufTensor[]): Promise<number> {
  const h = new Bytes();
  h.raw(Buffer.from('GGUF', 'ascii'));
  h.u32(3);
  h.u64(tensors.length);
  h.u64(metadata.length);
  for (const [key, value] of metadata) {
    h.str(key);
    writeValue(h, value);
  }
  let offset = 0;
  const sizes = tensors.map(tensorBytes);
  tensors.forEach((t, i) => {
    h.str(t.name);
    h.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) h.u64(d);
    h.u32(GGML_TYPES[t.type].id);
    h.u64(offset);
    offset += sizes[i] + pad(sizes[i]);
  });
  h.raw(Buffer.alloc(pad(h.length)));

  const fh = await fsp.open(file, 'w');
  let pos = 0;
  const write = async (chunk: Buffer) => {
    let off = 0;
    while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off, pos + off)).bytesWritten;
    pos += chunk.length;
  };
  try {
    await write(h.done());
    for (let i = 0; i < tensors.length; i++) {
      const start = pos;
      await tensors[i].fill(write);
      if (pos - start !== sizes[i]) throw new Error(`${tensors[i].name}: wrote ${pos - start} bytes, expected ${sizes[i]}`);
      await write(Buffer.alloc(pad(sizes[i])));
    }
  } finally {
    await fh.close();
  }
  return pos;
}
