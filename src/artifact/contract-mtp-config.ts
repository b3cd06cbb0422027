/**
 * How the MTP head's storage is described to runtimes: the summary of its quantization (derived from a
 * plan) and the config.json keys MTPLX reads (youssofal/MTPLX mtplx/artifacts.py, mtplx/backends/registry.py, mtplx/constants.py): `mlx_lm_extra_tensors`
 * for a sidecar, `mtplx_mtp_quantization` for a prequantized head, and the norm encoding.
 */
import type { PlannedTensor, QuantMode } from '../plan/types';
import { moduleOf } from '../plan/output-specs';
import { mtplxMtpPolicy, toSidecarMtpName, type MtpKeyConfig, type MtpLayout, MTP_SIDECAR_FILE } from '../arch/mtp-key-sets';

export interface MtpQuantSpec {
  bits: number;
  group_size: number;
  mode: QuantMode;
}

export interface MtpQuantSummary {
  /** MTPLX's name for the module set (`cyankiwi` = dense body linears, `all` = plus mtp.fc), else null. */
  policy: 'cyankiwi' | 'all' | null;
  /** The spec most modules use (ties: the first module's); written as the block defaults. */
  bits: number;
  groupSize: number;
  mode: QuantMode;
  /** Quantized modules in sidecar naming (`mtp.layers.0.self_attn.q_proj`), sorted. */
  modules: string[];
  /** Every quantized module's spec. */
  moduleSpecs: Record<string, MtpQuantSpec>;
}

/**
 * Norm encoding we declare: MLX gammas (the +1 already folded in). MTPLX re-adds +1 only for the
 * values in DELTA_NORM_ENCODINGS, so this value keeps it from shifting again.
 */
export const MLX_GAMMA_NORM_ENCODING = 'mlx_gamma';
export const DELTA_NORM_ENCODINGS: readonly string[] = ['delta', 'delta_plus_one', 'mlx_delta'];

/** The head's quantization from the planned tensors of group `mtp`; undefined when nothing is quantized. */
export function mtpQuantFromPlan(tensors: readonly PlannedTensor[], cfg: MtpKeyConfig): MtpQuantSummary | undefined {
  const specs: Record<string, MtpQuantSpec> = {};
  const order: string[] = [];
  for (const t of tensors) {
    if (t.group !== 'mtp' || t.quant?.action !== 'quantize') continue;
    const m = toSidecarMtpName(moduleOf(t.name));
    specs[m] = { bits: t.quant.bits, group_size: t.quant.groupSize, mode: t.quant.mode };
    order.push(m);
  }
  if (!order.length) return undefined;
  const counts = new Map<string, { n: number; spec: MtpQuantSpec }>();
  for (const m of order) {
    const key = JSON.stringify(specs[m]);
    const c = counts.get(key) ?? { n: 0, spec: specs[m] };
    c.n++;
    counts.set(key, c);
  }
  const top = [...counts.values()].reduce((a, b) => (b.n > a.n ? b : a));
  const modules = [...order].sort();
  return {
    policy: mtplxMtpPolicy(cfg, modules),
    bits: top.spec.bits,
    groupSize: top.spec.group_size,
    mode: top.spec.mode,
    modules,
    moduleSpecs: Object.fromEntries(modules.map((m) => [m, specs[m]])),
  };
}

export interface MtpConfigInput {
  layout: MtpLayout;
  /** Sidecar file name (default `mtp.safetensors`); ignored for inline. */
  mtpFile?: string;
  /** Tensors stored for the head (weights + scales + biases). */
  tensorCount: number;
  quant?: MtpQuantSummary;
}

/**
 * Top-level config.json keys for the head (pass as `ConfigEdits.top`): `mlx_lm_extra_tensors` for a
 * sidecar; `mtplx_mtp_quantization` when the head is prequantized (MTPLX otherwise would quantize a
 * float head itself if bits were given); `mtplx_mtp_norm_encoding` always.
 */
export function buildMtpConfigKeys(input: MtpConfigInput): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (input.layout === 'sidecar') {
    out.mlx_lm_extra_tensors = { mtp_file: input.mtpFile ?? MTP_SIDECAR_FILE, mtp_tensor_count: input.tensorCount };
  }
  const q = input.quant;
  if (q) {
    const block: Record<string, unknown> = {
      bits: q.bits,
      group_size: q.groupSize,
      mode: q.mode,
      prequantized: true,
      quantized_modules: [...q.modules],
      modules: Object.fromEntries(q.modules.map((m) => [m, { ...q.moduleSpecs[m] }])),
      norm_encoding: MLX_GAMMA_NORM_ENCODING,
    };
    if (q.policy) block.policy = q.policy;
    out.mtplx_mtp_quantization = block;
  }
  out.mtplx_mtp_norm_encoding = MLX_GAMMA_NORM_ENCODING;
  return out;
}
