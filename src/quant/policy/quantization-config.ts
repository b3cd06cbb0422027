/**
 * The `quantization` block of config.json (ml-explore/mlx-lm mlx_lm/utils.py and mlx_lm/convert.py), written identically as
 * `quantization_config`, and its reading as mlx-lm's loader does (§9.9).
 *
 * mlx-lm quantizes a module on load iff it has a per-module entry or a `<path>.scales` tensor; without an
 * entry it uses the global params. So every quantized module whose params differ from the globals gets an
 * entry `{group_size, bits}` (+ `mode` when not affine: `to_quantized` defaults to affine, whatever the
 * global mode is).
 */
import type { QuantDecision, QuantMode } from '../../plan/types';
import { MODE_DEFAULTS } from './modes';
import type { QuantParams } from './types';

export interface ModuleDecision {
  /** MLX module path (tensor name without `.weight`). */
  module: string;
  decision: QuantDecision;
}

export interface ModuleQuantEntry {
  group_size: number;
  bits: number;
  mode?: QuantMode;
}

const key = (p: QuantParams) => `${p.mode}/${p.bits}/${p.groupSize}`;

/**
 * Globals: the given ones (the policy's) when at least one module uses them, else the most common quantized
 * setting (ties: the first seen), which keeps the per-module list short. Undefined when nothing is quantized.
 */
export function buildQuantizationConfig(
  decisions: readonly ModuleDecision[],
  globals?: QuantParams,
): Record<string, unknown> | undefined {
  const quantized: Array<{ module: string; p: QuantParams }> = [];
  for (const d of decisions) {
    if (d.decision.action !== 'quantize') continue;
    const { mode, bits, groupSize } = d.decision;
    quantized.push({ module: d.module, p: { mode, bits, groupSize } });
  }
  if (quantized.length === 0) return undefined;

  let g = globals && quantized.some((q) => key(q.p) === key(globals)) ? globals : undefined;
  if (!g) {
    const counts = new Map<string, { p: QuantParams; n: number }>();
    for (const q of quantized) {
      const c = counts.get(key(q.p));
      if (c) c.n++;
      else counts.set(key(q.p), { p: q.p, n: 1 });
    }
    let best: { p: QuantParams; n: number } | undefined;
    for (const c of counts.values()) if (!best || c.n > best.n) best = c;
    g = best!.p;
  }

  const block: Record<string, unknown> = { group_size: g.groupSize, bits: g.bits, mode: g.mode };
  for (const q of quantized) {
    if (key(q.p) === key(g)) continue;
    const entry: ModuleQuantEntry = { group_size: q.p.groupSize, bits: q.p.bits };
    if (q.p.mode !== 'affine') entry.mode = q.p.mode;
    block[q.module] = entry;
  }
  return block;
}

/**
 * How mlx-lm's loader quantizes `module` from a block: undefined = not quantized. `hasScales` says whether
 * `<module>.scales` is among the weights. Missing fields follow `to_quantized`: mode affine, bits and group
 * size from the mode's defaults.
 */
export function moduleQuantFromConfig(
  block: Record<string, unknown>,
  module: string,
  hasScales: boolean,
): QuantParams | undefined {
  const globalMode = (block.mode as QuantMode | undefined) ?? 'affine';
  const fromDict = (d: Record<string, unknown>, mode: QuantMode): QuantParams => ({
    mode,
    bits: (d.bits as number | null | undefined) ?? MODE_DEFAULTS[mode].bits,
    groupSize: (d.group_size as number | null | undefined) ?? MODE_DEFAULTS[mode].groupSize,
  });
  if (Object.prototype.hasOwnProperty.call(block, module)) {
    const v = block[module];
    if (v === false) return undefined;
    if (v === true) return fromDict(block, globalMode);
    const d = v as Record<string, unknown>;
    return fromDict(d, (d.mode as QuantMode | undefined) ?? 'affine');
  }
  return hasScales ? fromDict(block, globalMode) : undefined;
}
