/**
 * The expected tensor set in concrete names: canonical module names (expected-modules.ts) put into the
 * MLX output layout (trunk prefix, MTP head inline or as a sidecar) and, for messages about a source, into
 * the Hugging Face layout (ml-explore/mlx-lm mlx_lm/models/qwen3_5.py and qwen3_next.py, `sanitize`).
 */
import type { ModelDims } from './model-dims';
import { archProfile } from './registry';
import { mtpModules, trunkModules, weightName, weightShape, type ModuleSpec } from './expected-modules';
import type { Architecture } from './architecture-id';

export interface ExpectedTensor {
  /** Name in the MLX layout asked for. */
  name: string;
  /** Canonical name (`layers.3.self_attn.q_proj.weight`, `mtp.fc.weight`). */
  canonical: string;
  /** Logical (unquantized) shape. */
  shape: number[];
  module: ModuleSpec;
}

/** Where the MTP head's names live: `mtp.*` (sidecar) or under the text prefix (inline). */
export type MtpNaming = 'sidecar' | 'inline';

/** Canonical -> MLX name for `arch`. */
export function mlxName(canonical: string, arch: Architecture, mtp: MtpNaming = 'inline'): string {
  const p = archProfile(arch).mlxTextPrefix;
  if (canonical.startsWith('mtp.')) return mtp === 'sidecar' ? canonical : `${p}${canonical}`;
  if (canonical.startsWith('lm_head.')) return `${p}${canonical}`;
  return `${p}model.${canonical}`;
}

/** Canonical -> the name a Hugging Face checkpoint stores it under (expert tensors: their stacked MLX name). */
export function hfName(canonical: string, arch: Architecture): string {
  if (canonical.startsWith('mtp.') || canonical.startsWith('lm_head.')) return canonical;
  return `${archProfile(arch).hfModelPrefix}${canonical}`;
}

/**
 * Every expected tensor's weight (one per module: `.weight` or the vector itself) for the trunk and an MTP
 * head of `mtpLayers` layers, keyed by MLX name.
 */
export function expectedTensors(d: ModelDims, opts: { trunk?: boolean; mtpLayers?: number; mtp?: MtpNaming } = {}): Map<string, ExpectedTensor> {
  const modules = [...(opts.trunk === false ? [] : trunkModules(d)), ...mtpModules(d, opts.mtpLayers ?? d.mtpLayers)];
  const out = new Map<string, ExpectedTensor>();
  for (const m of modules) {
    const canonical = weightName(m);
    const name = mlxName(canonical, d.arch, opts.mtp);
    out.set(name, { name, canonical, shape: weightShape(m), module: m });
  }
  return out;
}

export interface StoredShapes {
  weight: number[];
  scales?: number[];
  biases?: number[];
}

/** Stored shapes of a linear quantized at bits / group size (MLX packs bits into uint32 along the last axis). */
export function quantizedShapes(m: ModuleSpec, q: { bits: number; groupSize: number; affine: boolean }): StoredShapes | undefined {
  if (m.kind !== 'linear') return undefined;
  const lead = m.experts > 0 ? [m.experts, m.rows] : [m.rows];
  const groups = [...lead, m.cols / q.groupSize];
  return { weight: [...lead, (m.cols * q.bits) / 32], scales: groups, ...(q.affine ? { biases: groups } : {}) };
}

export const formatShape = (s: readonly number[]): string => `[${s.join(', ')}]`;
