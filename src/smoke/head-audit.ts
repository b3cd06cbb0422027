/**
 * Head audit before any decoding: the MTP tensor set is the one the family expects (mtpkit validate's
 * key-set check), payloads and scales are finite and not all zero, norms are MLX gammas (neither all
 * zero nor still zero-centred, nor shifted twice), and the head is not quantized below 4 bits
 * (MTPLX Forge refuses a requantized head: acceptance collapses, mtp-runtime-contract §9.1).
 *
 * Norm shift is judged against the trunk, which mtpkit converted: each MTP layer norm (input, post-
 * attention, q, k) is compared with the mean of the same norm over the trunk layers. A head whose
 * norms sit about 1 below the trunk's still carries HF's zero-centred deltas (+1 missing, MTPLX #176);
 * about 1 above, the +1 was applied twice. pre_fc norms are left out of the vote: real checkpoints
 * carry gammas below 0.5 there in both encodings (jundot/omlx #3750).
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { SafetensorsFile } from '../safetensors/reader';
import type { TensorInfo } from '../safetensors/types';
import { decodeFloats } from '../quant/kernels/float-io';
import { validateArtifact } from '../artifact/validate-artifact';

export type HeadDefect =
  | 'mtp_missing'
  | 'mtp_partial'
  | 'mtp_key_set'
  | 'payload_zero'
  | 'payload_non_finite'
  | 'norm_all_zero'
  | 'norm_plus_one_missing'
  | 'norm_plus_one_twice'
  | 'mtp_low_bits';

export interface HeadFinding {
  defect: HeadDefect;
  message: string;
}

export interface NormStat {
  name: string;
  mean: number;
  /** Mean of the same norm over the trunk layers (undefined: no counterpart). */
  trunkMean?: number;
}

export interface HeadAudit {
  ok: boolean;
  findings: HeadFinding[];
  mtpTensors: number;
  norms: NormStat[];
  /** Bits of the quantized head modules (empty: float head). */
  quantBits: Record<string, number>;
}

/** Beyond this distance from the trunk's norms (in gamma units) a head's norms count as shifted. */
export const NORM_SHIFT_THRESHOLD = 0.6;
/** Heads below this many bits lose their acceptance (MTPLX: 5-11 % for a requantized MoE head). */
export const MIN_HEAD_BITS = 4;

const VOTING_NORMS = ['input_layernorm', 'post_attention_layernorm', 'self_attn.q_norm', 'self_attn.k_norm'];
const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16']);

interface Located {
  info: TensorInfo;
  file: SafetensorsFile;
}

async function openTensors(dir: string): Promise<{ tensors: Map<string, Located>; files: SafetensorsFile[] }> {
  const names = (await fsp.readdir(dir)).filter((f) => f.endsWith('.safetensors')).map((f) => f);
  for (const sub of ['mtp/weights.safetensors']) if (await fsp.stat(path.join(dir, sub)).then(() => true, () => false)) names.push(sub);
  const tensors = new Map<string, Located>();
  const files: SafetensorsFile[] = [];
  for (const n of names) {
    const f = await SafetensorsFile.open(path.join(dir, n), n);
    files.push(f);
    for (const [name, info] of f.tensors) tensors.set(name, { info, file: f });
  }
  return { tensors, files };
}

/** `language_model.mtp.x` (inline) and `mtp.x` (sidecar) both read as `mtp.x`. */
function mtpName(name: string): string | undefined {
  if (name.startsWith('mtp.')) return name;
  const i = name.indexOf('.mtp.');
  return i >= 0 && name.startsWith('language_model') ? name.slice(i + 1) : undefined;
}

async function floats(t: Located): Promise<Float32Array | undefined> {
  if (!FLOAT_DTYPES.has(t.info.dtype)) return undefined;
  return decodeFloats(await t.file.readTensor(t.info.name), t.info.dtype as 'F32' | 'F16' | 'BF16');
}

const meanOf = (x: Float32Array) => x.reduce((a, b) => a + b, 0) / x.length;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function moduleBits(config: Record<string, any>, module: string): number | undefined {
  // mtpkit and MTPLX record the head's specs in mtplx_mtp_quantization (mtp-runtime-contract §8).
  const mq = config.mtplx_mtp_quantization;
  const own = mq?.modules?.[module]?.bits ?? mq?.bits;
  if (typeof own === 'number') return own;
  const q = config.quantization ?? config.quantization_config ?? config.text_config?.quantization;
  if (!q || typeof q !== 'object') return undefined;
  for (const key of [module, `language_model.${module}`, `language_model.model.${module}`, `model.${module}`]) {
    if (q[key] && typeof q[key] === 'object' && typeof q[key].bits === 'number') return q[key].bits;
  }
  return typeof q.bits === 'number' ? q.bits : undefined;
}

export async function auditHead(dir: string): Promise<HeadAudit> {
  const findings: HeadFinding[] = [];
  const report = await validateArtifact(dir, { normCheck: false });
  for (const p of report.problems.filter((x) => /MTP head|MTP tensor|mtp_tensor_count/.test(x))) {
    const defect: HeadDefect = /no MTP tensors/.test(p) ? 'mtp_missing' : /missing \d+ tensor/.test(p) ? 'mtp_partial' : 'mtp_key_set';
    findings.push({ defect, message: p });
  }
  const config = JSON.parse(await fsp.readFile(path.join(dir, 'config.json'), 'utf8'));
  const { tensors, files } = await openTensors(dir);
  const norms: NormStat[] = [];
  const quantBits: Record<string, number> = {};
  let mtpTensors = 0;
  try {
    const trunkNorm = new Map<string, number[]>();
    for (const [name, t] of tensors) {
      if (mtpName(name)) continue;
      const m = /layers\.\d+\.(input_layernorm|post_attention_layernorm|self_attn\.q_norm|self_attn\.k_norm)\.weight$/.exec(name);
      if (!m) continue;
      const v = await floats(t);
      if (v) trunkNorm.set(m[1], [...(trunkNorm.get(m[1]) ?? []), meanOf(v)]);
    }
    for (const [name, t] of tensors) {
      const mn = mtpName(name);
      if (!mn) continue;
      mtpTensors++;
      if (mn.endsWith('.scales')) {
        const module = mn.slice(0, -'.scales'.length);
        const bits = moduleBits(config, module);
        if (bits !== undefined) quantBits[module] = bits;
      }
      const isNorm = /norm\.weight$/.test(mn);
      const v = await floats(t);
      if (!v) {
        // Packed quantized payload: all-zero words mean an empty head.
        const raw = await t.file.readTensor(name);
        if (!raw.some((b) => b !== 0)) findings.push({ defect: 'payload_zero', message: `${name} (${t.file.label}): every packed word is zero` });
        continue;
      }
      if (v.some((x) => !Number.isFinite(x))) {
        findings.push({ defect: 'payload_non_finite', message: `${name} (${t.file.label}): holds NaN or infinite values` });
        continue;
      }
      const allZero = !v.some((x) => x !== 0);
      if (isNorm) {
        if (allZero) findings.push({ defect: 'norm_all_zero', message: `${name}: every gamma is zero (the head outputs nothing)` });
        const role = VOTING_NORMS.find((r) => mn.endsWith(`.${r}.weight`));
        const tm = role ? trunkNorm.get(role) : undefined;
        norms.push({ name: mn, mean: meanOf(v), trunkMean: tm ? tm.reduce((a, b) => a + b, 0) / tm.length : undefined });
      } else if (allZero && !mn.endsWith('.biases')) {
        findings.push({ defect: 'payload_zero', message: `${name} (${t.file.label}): every value is zero` });
      }
    }
  } finally {
    for (const f of files) await f.close();
  }
  const shifts = norms.filter((n) => n.trunkMean !== undefined).map((n) => n.mean - n.trunkMean!);
  if (shifts.length) {
    const d = median(shifts);
    const detail = `MTP layer norms sit ${d >= 0 ? '+' : ''}${d.toFixed(2)} from the trunk's same norms (median over ${shifts.length})`;
    if (d <= -NORM_SHIFT_THRESHOLD) findings.push({ defect: 'norm_plus_one_missing', message: `MTP norms still zero-centred (+1 missing, HF delta encoding): ${detail}` });
    if (d >= NORM_SHIFT_THRESHOLD) findings.push({ defect: 'norm_plus_one_twice', message: `MTP norms shifted twice (+1 applied twice): ${detail}` });
  }
  const low = Object.entries(quantBits).filter(([, b]) => b < MIN_HEAD_BITS);
  if (low.length) {
    const bits = [...new Set(low.map(([, b]) => b))].join('/');
    findings.push({ defect: 'mtp_low_bits', message: `MTP head quantized to ${bits} bits (${low.map(([m]) => m).slice(0, 3).join(', ')}${low.length > 3 ? ', ...' : ''}); heads below ${MIN_HEAD_BITS} bits lose their acceptance` });
  }
  return { ok: findings.length === 0, findings, mtpTensors, norms, quantBits };
}
