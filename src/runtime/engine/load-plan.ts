/**
 * Reads an MLX artifact's config and safetensors headers (trunk shards + MTP head inline or as a
 * sidecar), resolves every linear's weight format from the quantization blocks, checks that every
 * tensor the forward reads exists with the shape the config implies, and returns the plain plan the
 * native engine maps. Nothing native runs before this has passed: bad artifacts are InputErrors naming
 * the tensor or field.
 */
import * as fs from 'fs';
import * as path from 'path';
import { InputError } from '../../errors';
import { Checkpoint } from '../../safetensors/checkpoint';
import type { TensorInfo } from '../../safetensors/types';
import { MTP_SIDECAR_CANDIDATES } from '../../arch/mtp-key-sets';
import { quantParamsProblem } from '../../quant/policy/modes';
import type { QuantMode } from '../../plan/types';
import { parseEngineConfig, type EngineConfig } from './engine-config';
import { DEFAULT_ACTIVATIONS, type ActivationMode } from './activations';
import { mtpModules, trunkModules, type LinearSpec, type ModuleSpec } from '../../arch/expected-modules';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Weight formats as numbered in native/src/engine/qlinear.h (WFormat) and model.h (TDType). */
const WFORMAT = { F32: 0, F16: 1, BF16: 2, affine: 3, mxfp4: 4, mxfp8: 5, nvfp4: 6 } as const;
const TDTYPE: Record<string, number> = { F32: 0, F16: 1, BF16: 2, U32: 3, U8: 4 };
const SCALE_TYPE: Record<string, number> = { BF16: 0, F16: 1, F32: 2 };
const ARCH_CODE = { qwen3_5: 0, qwen3_5_moe: 1, qwen3_next: 2 } as const;

export interface PlanTensor {
  name: string;
  file: number;
  offset: number;
  dtype: number;
  shape: number[];
}

export interface PlanLinear {
  name: string;
  fmt: number;
  bits: number;
  group: number;
  rows: number;
  cols: number;
  w: string;
  scales?: string;
  biases?: string;
  sdt: number;
}

/** What native/src/engine/engine_binding.cc parse_plan reads. */
export interface NativeLoadPlan {
  files: string[];
  threads: number;
  /** Read by engine_binding.cc: int8 activations for affine weights ('q8') or float ('f32'). */
  activations: ActivationMode;
  config: Record<string, number | boolean | number[]>;
  tensors: PlanTensor[];
  linears: PlanLinear[];
}

export interface LoadPlanResult {
  dir: string;
  config: EngineConfig;
  plan: NativeLoadPlan;
  hasMtp: boolean;
  /** Where the MTP head came from: a sidecar file, inline, or none. */
  mtpSource: string;
  /** Bytes of every mapped file. */
  mappedBytes: number;
}

interface Located {
  info: TensorInfo;
  /** Name as stored in the artifact. */
  stored: string;
  file: string;
  /** Index into plan.files. */
  fileIndex: number;
  sidecar: boolean;
}

/** Stored name -> canonical name (prefix dropped), or undefined for tensors the engine ignores. */
function canonicalName(stored: string): string | undefined {
  for (const p of ['language_model.model.', 'language_model.', 'model.']) {
    if (stored.startsWith(p)) return stored.slice(p.length);
  }
  if (stored.startsWith('lm_head.') || stored.startsWith('mtp.')) return stored;
  return undefined;
}

function readConfig(dir: string): Json {
  const file = path.join(dir, 'config.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new InputError('no config.json: not an MLX artifact folder', { file: dir });
  }
  try {
    const v = JSON.parse(text);
    if (!isObj(v)) throw new Error('not an object');
    return v;
  } catch (e) {
    throw new InputError(`invalid JSON (${(e as Error).message})`, { file });
  }
}

function sidecarPath(dir: string, config: Json): string | undefined {
  const extra = config.mlx_lm_extra_tensors;
  if (isObj(extra) && typeof extra.mtp_file === 'string') {
    const p = path.join(dir, extra.mtp_file);
    if (!fs.existsSync(p)) throw new InputError(`names MTP file '${extra.mtp_file}', which does not exist`, { file: path.join(dir, 'config.json'), field: 'mlx_lm_extra_tensors.mtp_file' });
    return p;
  }
  for (const c of MTP_SIDECAR_CANDIDATES) {
    const p = path.join(dir, c);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

interface QuantSpec {
  mode: QuantMode;
  bits: number;
  groupSize: number;
  from: string;
}

/** Resolves `{bits, group_size, mode}` objects the way mlx-lm does (a dict without mode is affine). */
function specFrom(obj: Json, from: string, fallbackMode: QuantMode, base?: QuantSpec): QuantSpec {
  const mode = (obj.mode ?? fallbackMode) as QuantMode;
  const bits = obj.bits ?? (base && base.mode === mode ? base.bits : mode === 'affine' ? 4 : mode === 'mxfp8' ? 8 : 4);
  const groupSize = obj.group_size ?? (base && base.mode === mode ? base.groupSize : mode === 'affine' ? 64 : mode === 'nvfp4' ? 16 : 32);
  if (typeof bits !== 'number' || typeof groupSize !== 'number') throw new InputError('bits and group_size must be numbers', { file: 'config.json', field: from });
  const problem = quantParamsProblem({ mode, bits, groupSize });
  if (problem) throw new InputError(problem, { file: 'config.json', field: from });
  return { mode, bits, groupSize, from };
}

class QuantResolver {
  private readonly q: Json | undefined;
  private readonly global: QuantSpec | undefined;
  private readonly mtpq: Json | undefined;
  private readonly mtpGlobal: QuantSpec | undefined;

  constructor(config: Json) {
    this.q = isObj(config.quantization) ? config.quantization : isObj(config.quantization_config) ? config.quantization_config : undefined;
    const q = this.q;
    this.global = q && (q.bits !== undefined || q.group_size !== undefined) ? specFrom(q, 'quantization', 'affine') : undefined;
    this.mtpq = isObj(config.mtplx_mtp_quantization) ? config.mtplx_mtp_quantization : undefined;
    const m = this.mtpq;
    this.mtpGlobal = m && m.bits !== undefined ? specFrom(m, 'mtplx_mtp_quantization', 'affine') : undefined;
  }

  /** false = the config says unquantized; undefined = no entry at all. */
  spec(t: Located, modulePath: string, canonical: string): QuantSpec | false | undefined {
    const q = this.q;
    const keys = [modulePath];
    if (canonical.startsWith('mtp.')) keys.push(canonical, `language_model.${canonical}`, `language_model.model.${canonical}`);
    const modules = this.mtpq && isObj(this.mtpq.modules) ? this.mtpq.modules : undefined;
    if (canonical.startsWith('mtp.') && modules && isObj(modules[canonical])) {
      return specFrom(modules[canonical] as Json, `mtplx_mtp_quantization.modules['${canonical}']`, 'affine', this.mtpGlobal);
    }
    for (const k of keys) {
      const v = q?.[k];
      if (v === false) return false;
      if (isObj(v)) return specFrom(v, `quantization['${k}']`, 'affine');
    }
    if (t.sidecar && this.mtpGlobal) return this.mtpGlobal;
    return this.global;
  }
}

const fmtShape = (s: readonly number[]) => `[${s.join(', ')}]`;

export async function buildLoadPlan(dir: string, threads: number, activations: ActivationMode = DEFAULT_ACTIVATIONS): Promise<LoadPlanResult> {
  const config = readConfig(dir);
  const cfg = parseEngineConfig(config, path.join(dir, 'config.json'));

  // Trunk shards (index, model.safetensors or every *.safetensors) and the sidecar, if any.
  const files: string[] = [];
  const located = new Map<string, Located>();
  const add = (ck: Checkpoint, sidecar: boolean) => {
    for (const [stored, info] of ck.tensors) {
      const canonical = canonicalName(stored);
      if (canonical === undefined) continue;
      const file = path.join(ck.dir, info.shard);
      let fileIndex = files.indexOf(file);
      if (fileIndex < 0) fileIndex = files.push(file) - 1;
      const prior = located.get(canonical);
      if (prior) throw new InputError(`stored twice (also as '${prior.stored}' in ${prior.file})`, { file, tensor: stored });
      located.set(canonical, { info, stored, file, fileIndex, sidecar });
    }
  };
  const trunk = await Checkpoint.open(dir);
  const sidecar = sidecarPath(dir, config);
  const sidecarInTrunk = sidecar !== undefined && trunk.shards.some((s) => path.join(trunk.dir, s) === path.resolve(sidecar));
  try {
    add(trunk, false);
  } finally {
    await trunk.close();
  }
  let mtpSource = 'none';
  if (sidecar && !sidecarInTrunk) {
    const sc = await Checkpoint.open(sidecar);
    try {
      add(sc, true);
    } finally {
      await sc.close();
    }
    mtpSource = path.relative(dir, sidecar);
  } else if (located.has('mtp.fc.weight')) {
    mtpSource = 'inline';
  }
  rejectHfLayout(dir, located);
  const hasMtp = cfg.mtpLayers > 0 && located.has('mtp.fc.weight');
  if (!hasMtp) mtpSource = 'none';

  const resolver = new QuantResolver(config);
  const tensors: PlanTensor[] = [];
  const linears: PlanLinear[] = [];
  const used = (canonical: string, t: Located) => {
    const dtype = TDTYPE[t.info.dtype];
    if (dtype === undefined) throw new InputError(`dtype ${t.info.dtype} is not one the engine reads`, { file: t.file, tensor: t.stored });
    tensors.push({ name: canonical, file: t.fileIndex, offset: t.info.offset, dtype, shape: t.info.shape });
  };
  const missing = (name: string, what: string, sidecarHint: boolean): never => {
    throw new InputError(`missing tensor '${name}' (${what})`, { file: sidecarHint && mtpSource !== 'inline' ? sidecar ?? dir : dir, tensor: name });
  };

  const checkModule = (m: ModuleSpec) => {
    const isMtp = m.name.startsWith('mtp.');
    if (m.kind === 'vector') {
      const t = located.get(m.name) ?? missing(m.name, `expected shape ${fmtShape(m.shape)}`, isMtp);
      if (fmtShape(t.info.shape) !== fmtShape(m.shape)) {
        throw new InputError(`shape ${fmtShape(t.info.shape)} disagrees with the config, which implies ${fmtShape(m.shape)}`, { file: t.file, tensor: t.stored });
      }
      if (!['F32', 'F16', 'BF16'].includes(t.info.dtype)) throw new InputError(`expected a float tensor, got ${t.info.dtype}`, { file: t.file, tensor: t.stored });
      used(m.name, t);
      return;
    }
    linears.push(resolveLinear(m, located, resolver, used, missing));
  };
  for (const m of trunkModules(cfg)) checkModule(m);
  // The engine runs the head's first layer only.
  if (hasMtp) for (const m of mtpModules(cfg, 1)) checkModule(m);

  let mappedBytes = 0;
  for (const f of files) mappedBytes += fs.statSync(f).size;
  const plan: NativeLoadPlan = {
    files,
    threads,
    activations,
    config: {
      arch: ARCH_CODE[cfg.arch],
      hidden: cfg.hidden,
      vocab: cfg.vocab,
      layers: cfg.layers,
      layerFull: cfg.layerFull.map(Number),
      layerMoe: cfg.layerMoe.map(Number),
      nHeads: cfg.nHeads,
      nKv: cfg.nKv,
      headDim: cfg.headDim,
      rotDim: cfg.rotDim,
      ropeTheta: cfg.ropeTheta,
      eps: cfg.eps,
      nk: cfg.nk,
      nv: cfg.nv,
      dk: cfg.dk,
      dv: cfg.dv,
      convK: cfg.convK,
      nExperts: cfg.nExperts,
      topK: cfg.topK,
      normTopk: cfg.normTopk,
      tie: cfg.tie,
      hasMtp,
      mtpMoe: cfg.nExperts > 0,
    },
    tensors,
    linears,
  };
  return { dir, config: cfg, plan, hasMtp, mtpSource, mappedBytes };
}

/** A Hugging Face checkpoint (not sanitized into MLX's layout) gets a pointer to `mtpkit convert`. */
function rejectHfLayout(dir: string, located: Map<string, Located>): void {
  for (const [canonical, t] of located) {
    const hfPrefix = t.stored.startsWith('model.language_model.');
    const perExpert = /\.mlp\.experts\.\d+\./.test(canonical) || /\.mlp\.experts\.(gate_up|down)_proj$/.test(canonical);
    const hfConv = canonical.endsWith('conv1d.weight') && t.info.shape.length === 3 && t.info.shape[1] === 1 && t.info.shape[2] !== 1;
    if (hfPrefix || perExpert || hfConv) {
      throw new InputError('this is a Hugging Face checkpoint layout, not an MLX artifact: convert it first (mtpkit convert <checkpoint> <out>)', { file: dir, tensor: t.stored });
    }
  }
}

function resolveLinear(
  m: LinearSpec,
  located: Map<string, Located>,
  resolver: QuantResolver,
  used: (canonical: string, t: Located) => void,
  missing: (name: string, what: string, sidecarHint: boolean) => never,
): PlanLinear {
  const isMtp = m.name.startsWith('mtp.');
  const lead = m.experts > 0 ? [m.experts, m.rows] : [m.rows];
  const w = located.get(`${m.name}.weight`) ?? missing(`${m.name}.weight`, `expected ${fmtShape([...lead, m.cols])} or its packed form`, isMtp);
  const s = located.get(`${m.name}.scales`);
  const b = located.get(`${m.name}.biases`);
  const modulePath = w.stored.slice(0, -'.weight'.length);
  const spec = resolver.spec(w, modulePath, m.name);
  const where = { file: w.file, tensor: w.stored };
  const shape = w.info.shape;
  const leadOk = shape.length === lead.length + 1 && lead.every((d, i) => shape[i] === d);
  const rows = m.rows * Math.max(1, m.experts);

  if (!s) {
    if (spec && isExplicit(spec)) {
      throw new InputError(`the quantization block declares this module quantized (${spec.mode} ${spec.bits}/${spec.groupSize} from ${spec.from}) but it has no .scales`, where);
    }
    if (!leadOk || shape[shape.length - 1] !== m.cols) {
      throw new InputError(`shape ${fmtShape(shape)} disagrees with the config, which implies ${fmtShape([...lead, m.cols])}`, where);
    }
    const fmt = w.info.dtype === 'F32' ? WFORMAT.F32 : w.info.dtype === 'F16' ? WFORMAT.F16 : w.info.dtype === 'BF16' ? WFORMAT.BF16 : -1;
    if (fmt < 0) throw new InputError(`an unquantized weight must be F32, F16 or BF16, got ${w.info.dtype} (and there is no .scales)`, where);
    used(`${m.name}.weight`, w);
    return { name: m.name, fmt, bits: 0, group: 0, rows, cols: m.cols, w: `${m.name}.weight`, sdt: 0 };
  }

  if (spec === false) throw new InputError('has .scales but the quantization block marks it unquantized (false)', where);
  if (!spec) throw new InputError('has .scales but config.json has no quantization block giving its bits and group size', where);
  if (w.info.dtype !== 'U32') throw new InputError(`a quantized weight must be U32 (packed), got ${w.info.dtype}`, where);
  const packed = (m.cols * spec.bits) / 32;
  const groups = m.cols / spec.groupSize;
  if (!leadOk || shape[shape.length - 1] !== packed) {
    throw new InputError(
      `shape ${fmtShape(shape)} disagrees with the config and quantization (${spec.mode} ${spec.bits}/${spec.groupSize} from ${spec.from}): ` +
        `${m.cols} inputs pack into ${fmtShape([...lead, packed])}`,
      where,
    );
  }
  const sWhere = { file: s.file, tensor: s.stored };
  if (fmtShape(s.info.shape) !== fmtShape([...lead, groups])) {
    throw new InputError(`scales shape ${fmtShape(s.info.shape)} disagrees with group size ${spec.groupSize} (from ${spec.from}): expected ${fmtShape([...lead, groups])}`, sWhere);
  }
  let sdt = 0;
  if (spec.mode === 'affine') {
    if (SCALE_TYPE[s.info.dtype] === undefined) throw new InputError(`affine scales must be BF16, F16 or F32, got ${s.info.dtype}`, sWhere);
    sdt = SCALE_TYPE[s.info.dtype];
    if (!b) missing(`${modulePath}.biases`, 'affine quantization stores biases next to scales', isMtp);
    const bb = b!;
    if (bb.info.dtype !== s.info.dtype || fmtShape(bb.info.shape) !== fmtShape(s.info.shape)) {
      throw new InputError(`biases ${bb.info.dtype} ${fmtShape(bb.info.shape)} must match scales ${s.info.dtype} ${fmtShape(s.info.shape)}`, { file: bb.file, tensor: bb.stored });
    }
    used(`${m.name}.biases`, bb);
  } else if (s.info.dtype !== 'U8') {
    throw new InputError(`${spec.mode} scales must be U8, got ${s.info.dtype}`, sWhere);
  }
  used(`${m.name}.weight`, w);
  used(`${m.name}.scales`, s);
  return {
    name: m.name,
    fmt: WFORMAT[spec.mode],
    bits: spec.bits,
    group: spec.groupSize,
    rows,
    cols: m.cols,
    w: `${m.name}.weight`,
    scales: `${m.name}.scales`,
    ...(spec.mode === 'affine' ? { biases: `${m.name}.biases` } : {}),
    sdt,
  };
}

/** A spec that came from a per-module entry (not the global default, which unquantized modules also fall under). */
function isExplicit(spec: QuantSpec): boolean {
  return spec.from !== 'quantization' && spec.from !== 'mtplx_mtp_quantization';
}
