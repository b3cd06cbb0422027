/**
 * config.json quantization blocks vs the stored tensors (ml-explore/mlx-lm mlx_lm/utils.py and mlx_lm/convert.py). mlx-lm
 * quantizes a module on load iff it has a per-module entry or a `.scales` tensor, with the per-module
 * or global bits / group size, so those numbers must match the packed shapes exactly.
 */
import type { TensorInfo } from '../safetensors/types';
import { isFloatDType } from '../safetensors/types';
import { toSidecarMtpName } from '../arch/mtp-key-sets';
import { MODE_DEFAULTS, QUANT_MODES } from '../quant/policy/modes';
import type { QuantMode } from '../plan/types';

type Json = Record<string, unknown>;

const GLOBAL_KEYS = new Set(['group_size', 'bits', 'mode']);
const MODES = new Set<string>(QUANT_MODES);

export interface ResolvedSpec {
  bits: number;
  groupSize: number;
  mode: string;
  /** Where the numbers came from, for messages. */
  from: string;
}

export interface QuantCheckInput {
  config: Json;
  /** Tensors of the shards listed in the index (trunk and vision). */
  trunk: ReadonlyMap<string, TensorInfo>;
  /** Tensors of the MTP sidecar, if any. */
  sidecar?: { file: string; tensors: ReadonlyMap<string, TensorInfo> };
  /** Tensors the index lists in shards that are missing or unreadable (already reported): not judged. */
  unavailable?: ReadonlySet<string>;
}

export interface QuantCheckResult {
  problems: string[];
  info: string[];
  /** Spec of every quantized module (sidecar modules under their `mtp.*` names). */
  specs: Map<string, ResolvedSpec>;
}

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

/** First key whose values differ between two objects (for a precise message). */
function firstDifference(a: Json, b: Json): string {
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) if (!deepEqual(a[k], b[k])) return k;
  return '';
}

/** bits / group_size / mode of a spec-like object; `fallbackMode` when it names none (mlx-lm: affine). */
function specFrom(obj: Json, from: string, fallbackMode: string, problems: string[]): ResolvedSpec | undefined {
  const mode = obj.mode ?? fallbackMode;
  if (typeof mode !== 'string' || !MODES.has(mode)) {
    problems.push(`config.json: ${from}: unknown quantization mode ${JSON.stringify(mode)}`);
    return undefined;
  }
  const d = MODE_DEFAULTS[mode as QuantMode];
  const num = (key: 'bits' | 'group_size'): number | undefined => {
    const v = obj[key];
    if (v === undefined || v === null) return key === 'bits' ? d.bits : d.groupSize;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      problems.push(`config.json: ${from}.${key}: must be a positive integer, got ${JSON.stringify(v)}`);
      return undefined;
    }
    return v;
  };
  const bits = num('bits');
  const groupSize = num('group_size');
  if (bits === undefined || groupSize === undefined) return undefined;
  return { bits, groupSize, mode, from };
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Shape / dtype rules of one quantized module. */
function checkModule(m: string, file: string, spec: ResolvedSpec, tensors: ReadonlyMap<string, TensorInfo>, problems: string[]): void {
  const w = tensors.get(`${m}.weight`);
  const s = tensors.get(`${m}.scales`)!;
  const b = tensors.get(`${m}.biases`);
  const where = `${file}: '${m}'`;
  if (!w) {
    problems.push(`${where}: has .scales but no .weight`);
    return;
  }
  if (w.dtype !== 'U32') problems.push(`${where}.weight: a quantized weight must be U32 (packed), got ${w.dtype}`);
  if (spec.mode === 'affine') {
    if (!isFloatDType(s.dtype)) problems.push(`${where}.scales: affine scales must be float, got ${s.dtype}`);
    if (!b) problems.push(`${where}: affine quantization needs .biases next to .scales (mode from ${spec.from})`);
    else if (b.dtype !== s.dtype || fmt(b.shape) !== fmt(s.shape)) {
      problems.push(`${where}.biases: ${b.dtype} ${fmt(b.shape)} must match .scales ${s.dtype} ${fmt(s.shape)}`);
    }
  } else {
    if (s.dtype !== 'U8') problems.push(`${where}.scales: ${spec.mode} scales must be U8, got ${s.dtype}`);
    if (b) problems.push(`${where}: ${spec.mode} has no .biases, but the artifact stores one`);
  }
  if (w.shape.length < 2 || w.shape.length !== s.shape.length || fmt(w.shape.slice(0, -1)) !== fmt(s.shape.slice(0, -1))) {
    problems.push(`${where}: weight ${fmt(w.shape)} and scales ${fmt(s.shape)} must agree on every dimension but the last`);
    return;
  }
  const packed = w.shape[w.shape.length - 1];
  const groups = s.shape[s.shape.length - 1];
  const fromWeight = (packed * 32) / spec.bits;
  const fromScales = groups * spec.groupSize;
  if (fromWeight !== fromScales) {
    problems.push(
      `${where}: weight ${fmt(w.shape)} at ${spec.bits} bits holds ${fromWeight} inputs per row, but scales ${fmt(s.shape)} ` +
        `at group size ${spec.groupSize} cover ${fromScales} (bits / group size from ${spec.from})`,
    );
  }
}

function modulesWithScales(tensors: ReadonlyMap<string, TensorInfo>): string[] {
  return [...tensors.keys()].filter((n) => n.endsWith('.scales')).map((n) => n.slice(0, -'.scales'.length));
}

export function checkQuantization(input: QuantCheckInput): QuantCheckResult {
  const problems: string[] = [];
  const info: string[] = [];
  const specs = new Map<string, ResolvedSpec>();
  const cfg = input.config;
  const q = cfg.quantization;
  const qc = cfg.quantization_config;

  if (q !== undefined && !isObj(q)) problems.push(`config.json: quantization: must be an object, got ${JSON.stringify(q)}`);
  const qObj = isObj(q) ? q : undefined;
  if (qObj) {
    if (qc === undefined) problems.push('config.json: quantization_config: missing; mlx-lm writes a copy of quantization there');
    else if (!isObj(qc) || !deepEqual(qObj, qc)) {
      const key = isObj(qc) ? firstDifference(qObj, qc) : '(not an object)';
      problems.push(`config.json: quantization_config: differs from quantization (first at '${key}'); they must be identical`);
    }
  } else if (qc !== undefined) {
    problems.push('config.json: quantization_config: present without quantization; mlx-lm would read it as a legacy (AWQ/GPTQ/...) block');
  }

  const globalSpec = qObj && (qObj.bits !== undefined || qObj.group_size !== undefined)
    ? specFrom(qObj, 'quantization', 'affine', problems)
    : undefined;

  // Per-module entries must point at modules of the artifact.
  const unavailable = input.unavailable ?? new Set<string>();
  const allTensors = (m: string) => unavailable.has(m) || !!(input.trunk.get(m) ?? input.sidecar?.tensors.get(toSidecarMtpName(m)));
  if (qObj) {
    for (const [key, value] of Object.entries(qObj)) {
      if (GLOBAL_KEYS.has(key)) continue;
      if (value === false) continue; // checked below against .scales
      if (value !== true && !isObj(value)) {
        problems.push(`config.json: quantization['${key}']: must be an object or a boolean, got ${JSON.stringify(value)}`);
        continue;
      }
      if (!allTensors(`${key}.weight`)) problems.push(`config.json: quantization['${key}']: names no module of the artifact (no '${key}.weight')`);
      else if (!allTensors(`${key}.scales`)) {
        problems.push(`config.json: quantization['${key}']: declares the module quantized, but it has no '${key}.scales' tensor`);
      }
    }
  }

  // Trunk modules: per-module entry, else the globals.
  for (const m of modulesWithScales(input.trunk)) {
    if (['weight', 'biases'].some((p) => unavailable.has(`${m}.${p}`))) continue;
    const file = input.trunk.get(`${m}.scales`)!.shard;
    if (!qObj) {
      problems.push(`${file}: '${m}': has .scales but config.json has no quantization block`);
      continue;
    }
    const entry = qObj[m];
    let spec: ResolvedSpec | undefined;
    if (entry === false) {
      problems.push(`config.json: quantization['${m}'] is false, but ${file} stores '${m}.scales'`);
      continue;
    } else if (isObj(entry)) {
      spec = specFrom(entry, `quantization['${m}']`, 'affine', problems);
      if (spec && (entry.bits == null || entry.group_size == null)) {
        info.push(`config.json: quantization['${m}'] leaves bits or group_size unset; the ${spec.mode} defaults apply`);
      }
    } else if (globalSpec) spec = globalSpec;
    else {
      problems.push(`${file}: '${m}': has .scales but config.json quantization has neither an entry for it nor global bits/group_size`);
      continue;
    }
    if (!spec) continue;
    specs.set(m, spec);
    checkModule(m, file, spec, input.trunk, problems);
  }

  // Sidecar modules: mtplx_mtp_quantization (per module, then block), then quantization.
  if (input.sidecar) {
    const mq = isObj(cfg.mtplx_mtp_quantization) ? cfg.mtplx_mtp_quantization : undefined;
    const perModule = mq && isObj(mq.modules) ? mq.modules : undefined;
    const blockSpec = mq && (mq.bits !== undefined || mq.group_size !== undefined)
      ? specFrom(mq, 'mtplx_mtp_quantization', 'affine', problems)
      : undefined;
    const scaled = modulesWithScales(input.sidecar.tensors);
    for (const m of scaled) {
      const short = m.startsWith('mtp.') ? m.slice(4) : m;
      const candidates: [unknown, string][] = [
        [perModule?.[m], `mtplx_mtp_quantization.modules['${m}']`],
        [perModule?.[short], `mtplx_mtp_quantization.modules['${short}']`],
        [qObj?.[m], `quantization['${m}']`],
        [qObj?.[`language_model.${m}`], `quantization['language_model.${m}']`],
      ];
      const hit = candidates.find(([v]) => isObj(v));
      const fallbackMode = typeof mq?.mode === 'string' ? mq.mode : 'affine';
      const spec = hit ? specFrom(hit[0] as Json, hit[1], fallbackMode, problems) : blockSpec ?? globalSpec;
      if (!spec) {
        if (!hit) problems.push(`${input.sidecar.file}: '${m}': has .scales but config.json gives no bits/group_size for it (mtplx_mtp_quantization or quantization)`);
        continue;
      }
      specs.set(m, spec);
      checkModule(m, input.sidecar.file, spec, input.sidecar.tensors, problems);
    }
    if (scaled.length && mq?.prequantized !== true) {
      problems.push(`config.json: mtplx_mtp_quantization.prequantized: must be true, ${input.sidecar.file} stores quantized modules (MTPLX otherwise loads .scales into float modules)`);
    }
    if (!scaled.length && mq?.prequantized === true) {
      problems.push(`config.json: mtplx_mtp_quantization.prequantized is true, but ${input.sidecar.file} has no .scales tensor`);
    }
    if (mq && Array.isArray(mq.quantized_modules)) {
      const declared = new Set(mq.quantized_modules.map((x) => toSidecarMtpName(String(x))));
      const missing = scaled.filter((m) => !declared.has(m));
      const extra = [...declared].filter((m) => !scaled.includes(m));
      if (missing.length) problems.push(`config.json: mtplx_mtp_quantization.quantized_modules: omits ${missing.join(', ')} (quantized in ${input.sidecar.file})`);
      if (extra.length) problems.push(`config.json: mtplx_mtp_quantization.quantized_modules: lists ${extra.join(', ')}, which ${input.sidecar.file} stores unquantized or not at all`);
    }
  }

  // Packed weights or offsets without scales are unusable.
  for (const [label, tensors] of [['', input.trunk], [input.sidecar?.file ?? '', input.sidecar?.tensors ?? new Map()]] as const) {
    for (const [name, t] of tensors) {
      const file = label || t.shard;
      if (unavailable.has(name.replace(/\.[a-z]+$/, '.scales'))) continue;
      if (name.endsWith('.biases') && !tensors.has(name.replace(/\.biases$/, '.scales'))) problems.push(`${file}: '${name}': .biases without .scales`);
      if (name.endsWith('.weight') && t.dtype === 'U32' && !tensors.has(name.replace(/\.weight$/, '.scales'))) {
        problems.push(`${file}: '${name}': packed U32 weight without .scales`);
      }
    }
  }
  if (qObj && specs.size === 0) info.push('config.json: a quantization block is present but no tensor is quantized');
  return { problems, info, specs };
}
