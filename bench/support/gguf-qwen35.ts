/**
 * A dense Qwen3.5 model of given sizes as a llama.cpp `qwen35` GGUF with Q4_0 matrices and seeded random
 * values, for timing llama.cpp on the same shape as our artifacts (values are not the checkpoint's: only
 * the bytes per token and the work per token matter to a decode timing).
 * Names, shapes and keys: ggml-org/llama.cpp `src/llama-arch.cpp` (LLM_ARCH_QWEN35 tensor names),
 * `src/models/qwen35.cpp` (load_arch_hparams / load_arch_tensors: ssm.* keys, ssm_conv1d {K, conv_dim},
 * ssm_a / ssm_dt.bias [nv], ssm_norm [dv], fused attn_qkv + attn_gate for GDN layers, separate
 * attn_q (query and gate, 2·nH·hd rows) / attn_k / attn_v for full-attention layers) and
 * `convert_hf_to_gguf.py` / `conversion/qwen.py` (Qwen3.5: norms stored as 1 + w, ssm_a = -exp(A_log),
 * V heads reordered from grouped to tiled order, which changes values only and so nothing here since
 * the values are random anyway).
 * The vocabulary is the fixture generator's byte-level BPE (fixtures/generator/tokenizer.ts) padded to
 * vocab_size with `[PADn]` UNUSED tokens, as convert_hf_to_gguf.py pads a gpt2-style vocab.
 */
import type { PyOrdered } from '../../fixtures/generator/py-json';
import { buildTokenizer, SPECIAL_TOKENS } from '../../fixtures/generator/tokenizer';
import type { ModelDims } from '../../fixtures/generator/variants';
import { writeGguf, type GgufTensor, type GgufValue } from './gguf-writer';

/** llama_token_type in llama.cpp's include/llama.h / gguf-py TokenType. */
const TOKEN_TYPE = { normal: 1, control: 3, userDefined: 4, unused: 5 } as const;

/** xorshift32 stream: deterministic, fast, independent per tensor (seed mixed with the tensor index). */
function rng(seed: number): () => number {
  let x = (seed ^ 0x9e3779b9) >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** IEEE half bits of a normal, positive float (enough for the scales used here). */
function f16Bits(v: number): number {
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer)[0];
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  if (exp <= 0 || exp >= 31) throw new RangeError(`scale ${v} is outside the normal f16 range`);
  return (exp << 10) | ((u >>> 13) & 0x3ff);
}

const CHUNK_BLOCKS = 1 << 18; // 4.5 MiB of Q4_0 per write

/** Q4_0 blocks (f16 scale d, then 16 bytes of nibbles; value = (q - 8)·d): random nibbles, d near `std / 4.6`. */
function q4Tensor(name: string, shape: number[], seed: number, std: number): GgufTensor {
  return {
    name,
    shape,
    type: 'Q4_0',
    fill: async (write) => {
      const next = rng(seed);
      const base = f16Bits(std / 4.6); // uniform nibbles in [-8, 7] have a standard deviation of ~4.6
      let blocks = shape.reduce((a, b) => a * b, 1) / 32;
      while (blocks > 0) {
        const n = Math.min(blocks, CHUNK_BLOCKS);
        const buf = Buffer.allocUnsafe(n * 18);
        for (let b = 0; b < n; b++) {
          const o = b * 18;
          buf.writeUInt16LE(base ^ (next() & 0x7f), o); // jitter the low mantissa bits: scales differ per block
          for (let k = 0; k < 16; k += 4) buf.writeUInt32LE(next(), o + 2 + k);
        }
        await write(buf);
        blocks -= n;
      }
    },
  };
}

/** f32 values `centre + spread·u`, u uniform in [-1, 1). */
function f32Tensor(name: string, shape: number[], seed: number, centre: number, spread: number, map?: (x: number) => number): GgufTensor {
  return {
    name,
    shape,
    type: 'F32',
    fill: async (write) => {
      const next = rng(seed);
      const n = shape.reduce((a, b) => a * b, 1);
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const x = centre + spread * (next() / 2 ** 31 - 1);
        a[i] = map ? map(x) : x;
      }
      await write(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    },
  };
}

export function qwen35Tensors(d: ModelDims, seed: number): GgufTensor[] {
  const H = d.hidden;
  const keyDim = d.linKeyHeads * d.linKeyDim;
  const valueDim = d.linValueHeads * d.linValueDim;
  const convDim = 2 * keyDim + valueDim;
  const out: GgufTensor[] = [];
  let k = 0;
  const q4 = (name: string, shape: number[]) => out.push(q4Tensor(name, shape, seed * 7919 + k++, 0.02));
  const norm = (name: string, n: number) => out.push(f32Tensor(name, [n], seed * 7919 + k++, 1, 0.1));

  q4('token_embd.weight', [d.vocab, H]); // tied: llama.cpp uses it as the output matrix too
  norm('output_norm.weight', H);
  for (let i = 0; i < d.layers; i++) {
    const p = `blk.${i}.`;
    norm(p + 'attn_norm.weight', H);
    norm(p + 'post_attention_norm.weight', H);
    if ((i + 1) % d.fullInterval !== 0) {
      q4(p + 'attn_qkv.weight', [convDim, H]);
      q4(p + 'attn_gate.weight', [valueDim, H]);
      out.push(f32Tensor(p + 'ssm_conv1d.weight', [convDim, d.convKernel], seed * 7919 + k++, 0, 0.3));
      out.push(f32Tensor(p + 'ssm_dt.bias', [d.linValueHeads], seed * 7919 + k++, 0, 0.5));
      out.push(f32Tensor(p + 'ssm_a', [d.linValueHeads], seed * 7919 + k++, 1, 1, (x) => -Math.exp(x)));
      q4(p + 'ssm_beta.weight', [d.linValueHeads, H]);
      q4(p + 'ssm_alpha.weight', [d.linValueHeads, H]);
      norm(p + 'ssm_norm.weight', d.linValueDim);
      q4(p + 'ssm_out.weight', [H, valueDim]);
    } else {
      q4(p + 'attn_q.weight', [2 * d.numHeads * d.headDim, H]);
      q4(p + 'attn_k.weight', [d.numKvHeads * d.headDim, H]);
      q4(p + 'attn_v.weight', [d.numKvHeads * d.headDim, H]);
      q4(p + 'attn_output.weight', [H, d.numHeads * d.headDim]);
      norm(p + 'attn_q_norm.weight', d.headDim);
      norm(p + 'attn_k_norm.weight', d.headDim);
    }
    q4(p + 'ffn_gate.weight', [d.intermediate, H]);
    q4(p + 'ffn_up.weight', [d.intermediate, H]);
    q4(p + 'ffn_down.weight', [H, d.intermediate]);
  }
  return out;
}

/** General, architecture and tokenizer keys (names from gguf-py/gguf/constants.py `Keys`). */
export function qwen35Metadata(d: ModelDims): [string, GgufValue][] {
  const tok = buildTokenizer(d.vocab, 262144);
  const model = (tok.tokenizerJson as { model: { vocab: PyOrdered; merges: string[] } }).model;
  const vocabEntries = model.vocab.entries as [string, number][];
  const tokens: string[] = new Array(d.vocab);
  const types: number[] = new Array(d.vocab).fill(TOKEN_TYPE.unused);
  for (const [text, id] of vocabEntries) {
    tokens[id] = text;
    types[id] = TOKEN_TYPE.normal;
  }
  const firstSpecial = tok.ids.used - SPECIAL_TOKENS.length;
  SPECIAL_TOKENS.forEach((t, i) => {
    tokens[firstSpecial + i] = t.content;
    types[firstSpecial + i] = t.special ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined;
  });
  for (let i = tok.ids.used; i < d.vocab; i++) tokens[i] = `[PAD${i}]`;

  const a = 'qwen35';
  const u32 = (value: number): GgufValue => ({ type: 'u32', value });
  const rotary = Math.round(d.headDim * d.partialRotaryFactor);
  return [
    ['general.architecture', { type: 'string', value: a }],
    ['general.name', { type: 'string', value: `mtpkit bench qwen35 H${d.hidden} L${d.layers}` }],
    ['general.file_type', u32(2)], // LlamaFileType.MOSTLY_Q4_0
    [`${a}.block_count`, u32(d.layers)],
    [`${a}.context_length`, u32(262144)],
    [`${a}.embedding_length`, u32(d.hidden)],
    [`${a}.feed_forward_length`, u32(d.intermediate)],
    [`${a}.attention.head_count`, u32(d.numHeads)],
    [`${a}.attention.head_count_kv`, u32(d.numKvHeads)],
    [`${a}.attention.key_length`, u32(d.headDim)],
    [`${a}.attention.value_length`, u32(d.headDim)],
    [`${a}.attention.layer_norm_rms_epsilon`, { type: 'f32', value: 1e-6 }],
    [`${a}.rope.freq_base`, { type: 'f32', value: 1e7 }],
    [`${a}.rope.dimension_count`, u32(rotary)],
    // mrope_section [11, 11, 10] padded to 4 (convert_hf_to_gguf.py writes 4 sections)
    [`${a}.rope.dimension_sections`, { type: 'i32[]', value: [11, 11, 10, 0] }],
    [`${a}.full_attention_interval`, u32(d.fullInterval)],
    [`${a}.ssm.conv_kernel`, u32(d.convKernel)],
    [`${a}.ssm.state_size`, u32(d.linKeyDim)],
    [`${a}.ssm.group_count`, u32(d.linKeyHeads)],
    [`${a}.ssm.time_step_rank`, u32(d.linValueHeads)],
    [`${a}.ssm.inner_size`, u32(d.linValueHeads * d.linValueDim)],
    ['tokenizer.ggml.model', { type: 'string', value: 'gpt2' }],
    ['tokenizer.ggml.pre', { type: 'string', value: 'qwen2' }],
    ['tokenizer.ggml.tokens', { type: 'string[]', value: tokens }],
    ['tokenizer.ggml.token_type', { type: 'i32[]', value: types }],
    ['tokenizer.ggml.merges', { type: 'string[]', value: model.merges }],
    ['tokenizer.ggml.eos_token_id', u32(tok.ids.imEnd)],
    ['tokenizer.ggml.padding_token_id', u32(tok.ids.endoftext)],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: false }],
  ];
}

/** Writes the GGUF; returns its size in bytes. */
export async function writeQwen35Gguf(file: string, d: ModelDims, seed = 0): Promise<number> {
  return writeGguf(file, qwen35Metadata(d), qwen35Tensors(d, seed));
}
