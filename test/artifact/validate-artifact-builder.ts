/**
 * Tiny MLX-layout artifacts for the validate / contract tests, written with our own safetensors writer.
 * `artifactSpec()` describes a good one; tests edit the description (or the files) to break it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { writeSafetensorsFile } from '../../src/safetensors/writer';
import { writeIndexFile } from '../../src/safetensors/index-file';
import { planShards } from '../../src/safetensors/shard-plan';
import { tensorBytes, type DType, type TensorSpec } from '../../src/safetensors/types';
import { encodeFloats } from '../../src/quant/kernels/float-io';
import { buildRuntimeContract, formatRuntimeContract, RUNTIME_CONTRACT_FILE } from '../../src/artifact/contract';
import { checksumFiles } from '../../src/checksum/checksums';
import { buildMtpConfigKeys, type MtpQuantSummary } from '../../src/artifact/contract-mtp-config';
import { mtpBodyLinears, mtplxMtpPolicy } from '../../src/arch/mtp-key-sets';

export interface Entry {
  spec: TensorSpec;
  data: Buffer;
}

export interface ArtifactSpec {
  layout: 'sidecar' | 'inline';
  config: Record<string, unknown>;
  trunk: Entry[];
  mtp: Entry[];
  sidecarFile: string;
  maxShardBytes: number;
  /** Written with output checksums when true; a custom object is written as is; null writes none. */
  contract: true | Record<string, unknown> | null;
  tokenizer: boolean;
}

const H = 64;
const TEXT = {
  model_type: 'qwen3_5_text',
  hidden_size: H,
  num_hidden_layers: 4,
  vocab_size: 128,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  head_dim: 32,
  linear_num_key_heads: 2,
  linear_num_value_heads: 2,
  linear_key_head_dim: 16,
  linear_value_head_dim: 16,
  linear_conv_kernel_dim: 4,
  intermediate_size: 128,
  layer_types: ['linear_attention', 'linear_attention', 'linear_attention', 'full_attention'],
  mtp_num_hidden_layers: 1,
  tie_word_embeddings: true,
  dtype: 'bfloat16',
};

let seed = 12345;
function bytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    b[i] = seed >>> 24;
  }
  return b;
}

/** Random bytes; float tensors get their lowest exponent bit cleared so every value is finite (validate scans them). */
function raw(name: string, dtype: DType, shape: number[]): Entry {
  const data = bytes(tensorBytes(dtype, shape));
  const [width, byte, mask] = dtype === 'F32' ? [4, 2, 0x7f] : dtype === 'BF16' ? [2, 0, 0x7f] : dtype === 'F16' ? [2, 1, 0xfb] : [0, 0, 0];
  for (let i = byte; width && i < data.length; i += width) data[i] &= mask;
  return { spec: { name, dtype, shape }, data };
}

/** A 1-D bf16 norm whose values are `center` plus a small ripple. */
function norm(name: string, n: number, center: number): Entry {
  const v = Array.from({ length: n }, (_, i) => center + 0.01 * Math.sin(i));
  return { spec: { name, dtype: 'BF16', shape: [n] }, data: encodeFloats(v, 'BF16') };
}

/** Affine-quantized module [out, in] at `bits` / `group`: packed weight + bf16 scales and biases. */
function quantized(module: string, out: number, inDim: number, bits: number, group: number): Entry[] {
  return [
    raw(`${module}.weight`, 'U32', [out, (inDim * bits) / 32]),
    raw(`${module}.scales`, 'BF16', [out, inDim / group]),
    raw(`${module}.biases`, 'BF16', [out, inDim / group]),
  ];
}

export interface SpecOptions {
  layout?: 'sidecar' | 'inline';
  /** Mean of the zero-centred MTP norms shifted by this (−1 = raw delta encoding). */
  mtpNormShift?: number;
  trunkNormShift?: number;
}

/** The 29-tensor body-int4 MTP head (sidecar names). */
function mtpHead(shift: number): Entry[] {
  const p = 'mtp.layers.0';
  return [
    raw('mtp.fc.weight', 'BF16', [H, 2 * H]),
    norm('mtp.pre_fc_norm_embedding.weight', H, 0.3 + shift), // below 0.5 in both conventions (jundot/omlx #3750)
    norm('mtp.pre_fc_norm_hidden.weight', H, 0.9 + shift),
    norm('mtp.norm.weight', H, 1.0 + shift),
    norm(`${p}.input_layernorm.weight`, H, 0.95 + shift),
    norm(`${p}.post_attention_layernorm.weight`, H, 0.9 + shift),
    norm(`${p}.self_attn.q_norm.weight`, 32, 1.8 + shift),
    norm(`${p}.self_attn.k_norm.weight`, 32, 1.8 + shift),
    ...quantized(`${p}.self_attn.q_proj`, 128, H, 4, 64),
    ...quantized(`${p}.self_attn.k_proj`, 32, H, 4, 64),
    ...quantized(`${p}.self_attn.v_proj`, 32, H, 4, 64),
    ...quantized(`${p}.self_attn.o_proj`, H, H, 4, 64),
    ...quantized(`${p}.mlp.gate_proj`, 128, H, 4, 64),
    ...quantized(`${p}.mlp.up_proj`, 128, H, 4, 64),
    ...quantized(`${p}.mlp.down_proj`, H, 128, 4, 64),
  ];
}

export function mtpQuantSummary(): MtpQuantSummary {
  const modules = mtpBodyLinears({ mtpNumHiddenLayers: 1 }).sort();
  return {
    policy: mtplxMtpPolicy({ mtpNumHiddenLayers: 1 }, modules),
    bits: 4,
    groupSize: 64,
    mode: 'affine',
    modules,
    moduleSpecs: Object.fromEntries(modules.map((m) => [m, { bits: 4, group_size: 64, mode: 'affine' as const }])),
  };
}

export function artifactSpec(opts: SpecOptions = {}): ArtifactSpec {
  const layout = opts.layout ?? 'sidecar';
  const t = opts.trunkNormShift ?? 0;
  const L = 'language_model.model';
  // Every tensor of the 4-layer config (3 GDN layers, 1 full attention, dense MLP, tied): linears whose
  // input width divides by 64 are quantized (in_proj_qkv at 8 bits), the rest stay bf16.
  const trunk: Entry[] = [...quantized(`${L}.embed_tokens`, 128, H, 4, 64)];
  for (let i = 0; i < 4; i++) {
    const p = `${L}.layers.${i}`;
    trunk.push(norm(`${p}.input_layernorm.weight`, H, 1.0 + t), norm(`${p}.post_attention_layernorm.weight`, H, 0.98 + t));
    if (i < 3) {
      trunk.push(
        ...quantized(`${p}.linear_attn.in_proj_qkv`, 96, H, 8, 64),
        ...quantized(`${p}.linear_attn.in_proj_z`, 32, H, 4, 64),
        ...quantized(`${p}.linear_attn.in_proj_b`, 2, H, 4, 64),
        ...quantized(`${p}.linear_attn.in_proj_a`, 2, H, 4, 64),
        raw(`${p}.linear_attn.out_proj.weight`, 'BF16', [H, 32]),
        raw(`${p}.linear_attn.conv1d.weight`, 'BF16', [96, 4, 1]),
        norm(`${p}.linear_attn.norm.weight`, 16, 1.0),
        raw(`${p}.linear_attn.A_log`, 'F32', [2]),
        raw(`${p}.linear_attn.dt_bias`, 'BF16', [2]),
      );
    } else {
      trunk.push(
        ...quantized(`${p}.self_attn.q_proj`, 128, H, 4, 64),
        ...quantized(`${p}.self_attn.k_proj`, 32, H, 4, 64),
        ...quantized(`${p}.self_attn.v_proj`, 32, H, 4, 64),
        ...quantized(`${p}.self_attn.o_proj`, H, H, 4, 64),
        norm(`${p}.self_attn.q_norm.weight`, 32, 1.8 + t),
        norm(`${p}.self_attn.k_norm.weight`, 32, 1.8 + t),
      );
    }
    trunk.push(...quantized(`${p}.mlp.gate_proj`, 128, H, 4, 64), ...quantized(`${p}.mlp.up_proj`, 128, H, 4, 64), ...quantized(`${p}.mlp.down_proj`, H, 128, 4, 64));
  }
  trunk.push(norm(`${L}.norm.weight`, H, 1.0 + t));
  const mtp = mtpHead(opts.mtpNormShift ?? 0);
  const quantization = {
    group_size: 64,
    bits: 4,
    mode: 'affine',
    ...Object.fromEntries([0, 1, 2].map((i) => [`${L}.layers.${i}.linear_attn.in_proj_qkv`, { group_size: 64, bits: 8 }])),
  };
  const config: Record<string, unknown> = {
    architectures: ['Qwen3_5ForConditionalGeneration'],
    model_type: 'qwen3_5',
    text_config: { ...TEXT },
    tie_word_embeddings: true,
    quantization,
    quantization_config: JSON.parse(JSON.stringify(quantization)),
    ...buildMtpConfigKeys({ layout, tensorCount: mtp.length, quant: mtpQuantSummary() }),
  };
  return { layout, config, trunk, mtp, sidecarFile: 'mtp.safetensors', maxShardBytes: 6000, contract: true, tokenizer: true };
}

export interface WrittenArtifact {
  dir: string;
  shards: string[];
}

/** Writes the artifact; inline heads go into the trunk shards as `language_model.mtp.*`. */
export async function writeArtifact(dir: string, spec: ArtifactSpec): Promise<WrittenArtifact> {
  fs.mkdirSync(dir, { recursive: true });
  const trunk = spec.layout === 'inline'
    ? [...spec.trunk, ...spec.mtp.map((e) => ({ spec: { ...e.spec, name: `language_model.${e.spec.name}` }, data: e.data }))]
    : spec.trunk;
  const plan = planShards(trunk.map((e) => e.spec), spec.maxShardBytes);
  const byName = new Map(trunk.map((e) => [e.spec.name, e]));
  for (const s of plan.shards) await writeSafetensorsFile(path.join(dir, s.file), s.tensors.map((t) => byName.get(t.name)!));
  await writeIndexFile(dir, plan, 1000);
  const files = plan.shards.map((s) => s.file);
  if (spec.layout === 'sidecar') {
    await writeSafetensorsFile(path.join(dir, spec.sidecarFile), spec.mtp);
    files.push(spec.sidecarFile);
  }
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec.config, null, 4));
  if (spec.tokenizer) fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{}');
  if (spec.contract === true) {
    const contract = buildRuntimeContract({
      architecture: 'qwen3_5',
      hiddenSize: H,
      mtpLayers: 1,
      layout: spec.layout,
      mtpTensorCount: spec.mtp.length,
      mtpFloatDtype: 'bf16',
      mtpQuant: mtpQuantSummary(),
      policy: { name: 'test-policy', rules: ['role gdn -> affine 8/64', 'default -> affine 4/64'] },
      source: { repo: 'Qwen/Tiny-Test', revision: 'a'.repeat(40) },
      toolVersion: '0.1.0',
      outputChecksums: await checksumFiles(dir, [...files, 'model.safetensors.index.json', 'config.json']),
    });
    fs.writeFileSync(path.join(dir, RUNTIME_CONTRACT_FILE), formatRuntimeContract(contract));
  } else if (spec.contract) {
    fs.writeFileSync(path.join(dir, RUNTIME_CONTRACT_FILE), JSON.stringify(spec.contract));
  }
  return { dir, shards: plan.shards.map((s) => s.file) };
}
