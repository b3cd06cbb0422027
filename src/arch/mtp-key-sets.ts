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
import { mtpModules as headModules, type ShapeDims } from './expected-modules';

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

/**
 * Every module of the head, for `mtp_num_hidden_layers` layers (0 layers: an empty set), read from the
 * architecture's expected modules (expected-modules.ts). Only names matter here, so the sizes are
 * placeholders; a MoE head has a shared expert when its size (parseTextConfig resolves a missing one) is > 0,
 * the same rule as the trunk's (expected-modules.ts).
 */
export function mtpModules(cfg: MtpKeyConfig): MtpModuleSet {
  const n = cfg.mtpNumHiddenLayers;
  if (!Number.isInteger(n) || n < 0) throw new InputError(`mtp_num_hidden_layers must be a non-negative integer, got ${n}`, { field: 'mtp_num_hidden_layers' });
  const experts = isMoeMtp(cfg) ? 1 : 0;
  const dims = { ...NAMES_ONLY, nExperts: experts, sharedInter: experts && (cfg.sharedExpertIntermediateSize ?? 0) > 0 ? 1 : 0, mtpLayers: n };
  const linears: string[] = [];
  const norms: string[] = [];
  for (const m of headModules(dims, n)) {
    if (m.kind === 'linear') linears.push(m.name);
    else norms.push(m.name.slice(0, -'.weight'.length));
  }
  return { linears, norms };
}

/** Sizes that only feed shapes, for name-only uses of the expected modules. */
const NAMES_ONLY: Omit<ShapeDims, 'nExperts' | 'sharedInter' | 'mtpLayers'> = {
  arch: 'qwen3_5',
  hidden: 1, vocab: 1, layers: 0, layerFull: [], layerMoe: [], nHeads: 1, nKv: 1, headDim: 1,
  nk: 1, nv: 1, dk: 1, dv: 1, convK: 1, intermediate: 1, moeInter: 1, tie: true,
};

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
