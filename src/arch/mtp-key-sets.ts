/**
 * The exact tensor set of an MTP head in an MLX artifact (youssofal/MTPLX mtplx/artifacts.py, mtplx/backends/registry.py, mtplx/constants.py; MTPLX
 * `constants.py`). Names are sidecar names (`mtp.*`); the inline form adds `language_model.` for
 * Qwen3.5/3.6 and is the same for Qwen3-Next. MoE heads use the stacked `switch_mlp` layout.
 */
import { InputError } from '../errors';
import type { Architecture } from './architecture';
import { archProfile } from './registry';
import type { TextConfig } from './text-config';
import type { QuantMode } from '../plan/types';

export type MtpLayout = 'sidecar' | 'inline';

/** Default sidecar file (MTPLX `mlx_lm_extra_tensors.mtp_file`). */
export const MTP_SIDECAR_FILE = 'mtp.safetensors';
/** Where MTPLX looks for a sidecar when config.json names none (`artifacts.py::expected_mtp_file`). */
export const MTP_SIDECAR_CANDIDATES: readonly string[] = ['mtp.safetensors', 'mtp/weights.safetensors', 'model-mtp.safetensors'];

/** The config fields the key set depends on. */
export type MtpKeyConfig = Pick<TextConfig, 'mtpNumHiddenLayers' | 'numExperts' | 'sharedExpertIntermediateSize'>;

export interface MtpModuleSet {
  /** Linear modules (quantizable), in sidecar naming, without `.weight`. */
  linears: string[];
  /** Norm modules (always float), in sidecar naming, without `.weight`. */
  norms: string[];
}

export function isMoeMtp(cfg: MtpKeyConfig): boolean {
  return (cfg.numExperts ?? 0) > 0;
}

/** Every module of the head, for `mtp_num_hidden_layers` layers (0 layers: an empty set). */
export function mtpModules(cfg: MtpKeyConfig): MtpModuleSet {
  const n = cfg.mtpNumHiddenLayers;
  if (!Number.isInteger(n) || n < 0) throw new InputError(`mtp_num_hidden_layers must be a non-negative integer, got ${n}`, { field: 'mtp_num_hidden_layers' });
  if (n === 0) return { linears: [], norms: [] };
  const linears = ['mtp.fc'];
  const norms = ['mtp.pre_fc_norm_embedding', 'mtp.pre_fc_norm_hidden', 'mtp.norm'];
  for (let l = 0; l < n; l++) {
    const p = `mtp.layers.${l}`;
    norms.push(`${p}.input_layernorm`, `${p}.post_attention_layernorm`, `${p}.self_attn.q_norm`, `${p}.self_attn.k_norm`);
    linears.push(...['q_proj', 'k_proj', 'v_proj', 'o_proj'].map((m) => `${p}.self_attn.${m}`));
    if (isMoeMtp(cfg)) {
      linears.push(`${p}.mlp.gate`, ...['gate_proj', 'up_proj', 'down_proj'].map((m) => `${p}.mlp.switch_mlp.${m}`));
      // Every Qwen MoE in this family has a shared expert; a config may say 0 to opt out.
      if (cfg.sharedExpertIntermediateSize !== 0) {
        linears.push(...['gate_proj', 'up_proj', 'down_proj'].map((m) => `${p}.mlp.shared_expert.${m}`), `${p}.mlp.shared_expert_gate`);
      }
    } else {
      linears.push(...['gate_proj', 'up_proj', 'down_proj'].map((m) => `${p}.mlp.${m}`));
    }
  }
  return { linears, norms };
}

/** The layer-body linears (everything but `mtp.fc`): MTPLX's `cyankiwi` / body-int4 set for dense heads. */
export function mtpBodyLinears(cfg: MtpKeyConfig): string[] {
  return mtpModules(cfg).linears.filter((m) => m !== 'mtp.fc');
}

/** `language_model.mtp.x` -> `mtp.x`; sidecar names pass through. */
export function toSidecarMtpName(name: string): string {
  return name.startsWith('language_model.mtp.') ? name.slice('language_model.'.length) : name;
}

/** `mtp.x` -> the name the head has inside the trunk shards of `arch`. */
export function toInlineMtpName(sidecarName: string, arch: Architecture): string {
  const s = toSidecarMtpName(sidecarName);
  return `${archProfile(arch).mlxTextPrefix}${s}`;
}

function checkQuantizedModules(cfg: MtpKeyConfig, modules: Iterable<string>): string[] {
  const linears = new Set(mtpModules(cfg).linears);
  const out: string[] = [];
  for (const raw of modules) {
    const m = toSidecarMtpName(raw);
    if (!linears.has(m)) {
      throw new InputError(`'${raw}' is not a linear module of this MTP head, so it cannot be quantized`, { tensor: raw });
    }
    out.push(m);
  }
  return out;
}

/**
 * Expected keys (sidecar names, sorted) when each module in `modes` is quantized with its mode:
 * `.weight` always, `.scales` for every quantized module, `.biases` only for affine ones.
 */
export function expectedMtpKeysByMode(cfg: MtpKeyConfig, modes: ReadonlyMap<string, QuantMode>): string[] {
  const { linears, norms } = mtpModules(cfg);
  const keys = [...linears, ...norms].map((m) => `${m}.weight`);
  const quantized = checkQuantizedModules(cfg, modes.keys());
  const modeOf = new Map([...modes].map(([k, v]) => [toSidecarMtpName(k), v]));
  for (const m of quantized) {
    keys.push(`${m}.scales`);
    if (modeOf.get(m) === 'affine') keys.push(`${m}.biases`);
  }
  return [...new Set(keys)].sort();
}

/**
 * Expected sidecar keys for a head whose `quantizedModules` (sidecar or inline names) are quantized
 * with `mode`. Dense, one layer: 15 keys; body-int4 (7 layer linears) 29; `all` (plus `mtp.fc`) 31.
 */
export function expectedMtpKeys(cfg: MtpKeyConfig, quantizedModules: Iterable<string> = [], mode: QuantMode = 'affine'): string[] {
  return expectedMtpKeysByMode(cfg, new Map([...quantizedModules].map((m) => [m, mode])));
}

/** The same keys in the inline form for `arch`. */
export function expectedInlineMtpKeys(cfg: MtpKeyConfig, arch: Architecture, quantizedModules: Iterable<string> = [], mode: QuantMode = 'affine'): string[] {
  return expectedMtpKeys(cfg, quantizedModules, mode).map((k) => toInlineMtpName(k, arch));
}

/**
 * MTPLX's name for a quantized module set (`mtp_quant_policy`): `cyankiwi` = exactly the dense body
 * linears, `all` = those plus `mtp.fc`; anything else has no MTPLX name (null) and is described by
 * the per-module specs instead.
 */
export function mtplxMtpPolicy(cfg: MtpKeyConfig, quantizedModules: Iterable<string>): 'cyankiwi' | 'all' | null {
  if (isMoeMtp(cfg) || cfg.mtpNumHiddenLayers === 0) return null;
  const got = new Set([...quantizedModules].map(toSidecarMtpName));
  const body = mtpBodyLinears(cfg);
  const same = (want: string[]) => want.length === got.size && want.every((m) => got.has(m));
  if (same(body)) return 'cyankiwi';
  if (same([...body, 'mtp.fc'])) return 'all';
  return null;
}
