/**
 * Every tensor of an MLX artifact (trunk shards + MTP head inline or in a sidecar), dequantized once into
 * float64 (the fixtures are tiny; this is test-only). Names are canonicalised to
 * `model.*`, `lm_head.*`, `mtp.*` (the `language_model.` prefix of qwen3_5 / qwen3_5_moe dropped).
 *
 * A module is quantized iff `<path>.scales` exists (mlx-lm `load_model`'s class predicate). Its bits /
 * group size / mode come from its per-module entry in `quantization` (an entry without a mode is affine,
 * as `nn.quantize` applies it), else the globals; sidecar modules (`mtp.*`) first look in
 * `mtplx_mtp_quantization.modules`, then `quantization` under `mtp.*` / `language_model.mtp.*`, then
 * the `mtplx_mtp_quantization` block, then the globals.
 */
import { existsSync, readFileSync } from 'fs';
import * as path from 'path';
import { Checkpoint } from '../../src/safetensors/checkpoint';
import { SafetensorsFile } from '../../src/safetensors/reader';
import { numel, type TensorInfo } from '../../src/safetensors/types';
import { dequantizeToF32 } from '../../src/quant/kernels/dequantize';
import type { QuantMode } from '../../src/quant/kernels/types';
import { unpackCodes, wordsOf } from '../../src/quant/kernels/pack';
import { bf16ToF32, f16ToF32 } from '../../src/numeric/float-bits';
import type { ActivationMode } from '../../src/runtime/engine/activations';
import type { AffineCodes } from './ops';

export interface RefTensor {
  shape: number[];
  data: Float64Array;
  /** q8 mode, affine weights only: the stored codes, scales and biases the q8 linear applies. */
  q8?: AffineCodes;
}

export interface QuantSpec {
  mode: QuantMode;
  bits: number;
  groupSize: number;
}

type Json = Record<string, unknown>;

const MODE_DEFAULTS: Record<QuantMode, { bits: number; groupSize: number }> = {
  affine: { bits: 4, groupSize: 64 },
  mxfp4: { bits: 4, groupSize: 32 },
  mxfp8: { bits: 8, groupSize: 32 },
  nvfp4: { bits: 4, groupSize: 16 },
};

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function specOf(o: Json, fallbackMode: string): QuantSpec {
  const mode = (typeof o.mode === 'string' ? o.mode : fallbackMode) as QuantMode;
  if (!(mode in MODE_DEFAULTS)) throw new Error(`unknown quantization mode ${mode}`);
  const d = MODE_DEFAULTS[mode];
  return {
    mode,
    bits: typeof o.bits === 'number' ? o.bits : d.bits,
    groupSize: typeof o.group_size === 'number' ? o.group_size : d.groupSize,
  };
}

function trunkSpec(config: Json, module: string): QuantSpec {
  const q = isObj(config.quantization) ? config.quantization : isObj(config.quantization_config) ? config.quantization_config : undefined;
  if (!q) throw new Error(`'${module}' has .scales but config.json has no quantization block`);
  return isObj(q[module]) ? specOf(q[module] as Json, 'affine') : specOf(q, 'affine');
}

function sidecarSpec(config: Json, module: string): QuantSpec {
  const q = isObj(config.quantization) ? config.quantization : undefined;
  const mq = isObj(config.mtplx_mtp_quantization) ? config.mtplx_mtp_quantization : undefined;
  const perModule = mq && isObj(mq.modules) ? mq.modules : undefined;
  const fallback = typeof mq?.mode === 'string' ? mq.mode : 'affine';
  for (const c of [perModule?.[module], q?.[module], q?.[`language_model.${module}`]]) if (isObj(c)) return specOf(c, fallback);
  if (mq && (mq.bits !== undefined || mq.group_size !== undefined)) return specOf(mq, 'affine');
  if (q) return specOf(q, 'affine');
  throw new Error(`sidecar module '${module}' is quantized but config.json gives no bits/group size`);
}

function decodeFloat(buf: Buffer, info: TensorInfo): Float64Array {
  const n = numel(info.shape);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (info.dtype === 'F32') out[i] = buf.readFloatLE(i * 4);
    else if (info.dtype === 'BF16') out[i] = bf16ToF32(buf.readUInt16LE(i * 2));
    else if (info.dtype === 'F16') out[i] = f16ToF32(buf.readUInt16LE(i * 2));
    else throw new Error(`tensor '${info.name}': unexpected dtype ${info.dtype} for an unquantized tensor`);
  }
  return out;
}

interface Store {
  tensors: Map<string, TensorInfo>;
  read(name: string): Promise<Buffer>;
  sidecar: boolean;
}

async function loadStore(store: Store, config: Json, out: Map<string, RefTensor>, bytes: Map<string, number>, activations: ActivationMode): Promise<void> {
  for (const [name, info] of store.tensors) {
    bytes.set(name, info.byteLength);
    if (name.endsWith('.scales') || name.endsWith('.biases')) continue;
    if (name.startsWith('model.visual') || name.startsWith('vision_tower')) continue;
    const canonical = name.startsWith('language_model.') ? name.slice('language_model.'.length) : name;
    const module = name.endsWith('.weight') ? name.slice(0, -'.weight'.length) : undefined;
    const scales = module === undefined ? undefined : store.tensors.get(`${module}.scales`);
    if (!scales) {
      out.set(canonical, { shape: [...info.shape], data: decodeFloat(await store.read(name), info) });
      continue;
    }
    const m = module as string;
    const spec = store.sidecar ? sidecarSpec(config, m) : trunkSpec(config, m);
    const biases = store.tensors.get(`${m}.biases`);
    const values = dequantizeToF32(
      {
        weight: await store.read(name),
        weightShape: info.shape,
        scales: await store.read(`${m}.scales`),
        scalesShape: scales.shape,
        scalesDType: scales.dtype as 'F32' | 'F16' | 'BF16' | 'U8',
        biases: biases ? await store.read(`${m}.biases`) : undefined,
        biasesDType: biases ? (biases.dtype as 'F32' | 'F16' | 'BF16') : undefined,
      },
      { mode: spec.mode, bits: spec.bits, groupSize: spec.groupSize, name },
    );
    const shape = [...info.shape];
    shape[shape.length - 1] = (shape[shape.length - 1] * 32) / spec.bits;
    const t: RefTensor = { shape, data: Float64Array.from(values) };
    if (activations === 'q8' && spec.mode === 'affine' && biases) {
      t.q8 = {
        codes: unpackCodes(wordsOf(await store.read(name)), spec.bits, values.length),
        scales: decodeFloat(await store.read(`${m}.scales`), scales),
        biases: decodeFloat(await store.read(`${m}.biases`), biases),
        groupSize: spec.groupSize,
      };
    }
    out.set(canonical, t);
  }
}

/** The sidecar file of the MTP head, if the artifact has one (MTPLX resolution order). */
export function sidecarPath(dir: string, config: Json): string | undefined {
  const extra = isObj(config.mlx_lm_extra_tensors) ? config.mlx_lm_extra_tensors : undefined;
  const named = typeof extra?.mtp_file === 'string' ? [extra.mtp_file] : [];
  for (const rel of [...named, 'mtp.safetensors', 'mtp/weights.safetensors', 'model-mtp.safetensors']) {
    if (existsSync(path.join(dir, rel))) return path.join(dir, rel);
  }
  return undefined;
}

/**
 * Stored bytes one trunk token reads: every trunk tensor, except one row of the embedding (all of it when
 * tied: the LM head reads it) and top-k / E of the routed experts. MTP tensors are not trunk.
 */
function trunkBytesPerToken(config: Json, bytes: Map<string, number>): number {
  const tc = (isObj(config.text_config) ? config.text_config : config) as Json;
  const tied = (tc.tie_word_embeddings ?? config.tie_word_embeddings) === true;
  const vocab = tc.vocab_size as number;
  const expertShare = typeof tc.num_experts === 'number' && tc.num_experts > 0 ? (tc.num_experts_per_tok as number) / tc.num_experts : 1;
  let total = 0;
  for (const [name, n] of bytes) {
    if (name.startsWith('mtp.') || name.startsWith('language_model.mtp.')) continue;
    if (name.includes('embed_tokens.')) total += tied ? n : n / vocab;
    else if (name.includes('.switch_mlp.')) total += n * expertShare;
    else total += n;
  }
  return Math.round(total);
}

export async function loadReferenceWeights(dir: string, activations: ActivationMode): Promise<{ config: Json; weights: Map<string, RefTensor>; bytesPerToken: number }> {
  const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Json;
  const weights = new Map<string, RefTensor>();
  const bytes = new Map<string, number>();
  const ckpt = await Checkpoint.open(dir);
  try {
    await loadStore({ tensors: ckpt.tensors, read: (n) => ckpt.readTensor(n), sidecar: false }, config, weights, bytes, activations);
  } finally {
    await ckpt.close();
  }
  const side = sidecarPath(dir, config);
  if (side && !ckpt.shards.some((s) => path.join(dir, s) === side)) {
    const f = await SafetensorsFile.open(side);
    try {
      await loadStore({ tensors: f.tensors, read: (n) => f.readTensor(n), sidecar: true }, config, weights, new Map(), activations);
    } finally {
      await f.close();
    }
  }
  return { config, weights, bytesPerToken: trunkBytesPerToken(config, bytes) };
}
