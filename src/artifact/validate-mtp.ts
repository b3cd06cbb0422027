/**
 * The MTP head of an artifact: where it is (sidecar or inline), whether its tensor set is exactly the
 * one the architecture and `mtp_num_hidden_layers` call for, and whether its norms look like MLX gammas.
 */
import type { TensorInfo } from '../safetensors/types';
import type { QuantMode } from '../plan/types';
import type { TextConfig } from '../arch/text-config';
import { isMtpTensor } from '../plan/tensor-names';
import { expectedMtpKeysByMode, toInlineMtpName, toSidecarMtpName } from '../arch/mtp-key-sets';
import { DELTA_NORM_ENCODINGS } from './contract-mtp-config';
import type { ResolvedSpec } from './validate-quantization';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export type MtpPlacement = 'sidecar' | 'inline' | 'none';

export interface MtpCheckInput {
  text: TextConfig;
  config: Json;
  trunk: ReadonlyMap<string, TensorInfo>;
  sidecar?: { file: string; tensors: ReadonlyMap<string, TensorInfo> };
  /** Quantization specs resolved by checkQuantization (gives the mode of each quantized module). */
  specs: ReadonlyMap<string, ResolvedSpec>;
  /** Tensors the index lists in missing / unreadable shards: counted as present. */
  unavailable?: ReadonlySet<string>;
}

export interface MtpCheckResult {
  layout: MtpPlacement;
  tensors: number;
  problems: string[];
  info: string[];
}

/** `'a', 'b', 'c' and 7 more` (`quote` false: items as given). */
export function listSome(items: readonly string[], max = 5, quote = true): string {
  const head = items.slice(0, max).map((s) => (quote ? `'${s}'` : s)).join(', ');
  return items.length > max ? `${head} and ${items.length - max} more` : head;
}

function compareSets(expected: string[], actual: string[], where: string, problems: string[]): void {
  const have = new Set(actual);
  const want = new Set(expected);
  const missing = expected.filter((k) => !have.has(k));
  const extra = actual.filter((k) => !want.has(k));
  if (missing.length) problems.push(`${where}: MTP head is missing ${missing.length} tensor(s): ${listSome(missing)}`);
  if (extra.length) problems.push(`${where}: MTP head has ${extra.length} unexpected tensor(s): ${listSome(extra)}`);
}

/** Modes of the quantized head modules (sidecar names), from the present `.scales` and their specs. */
function quantModes(names: Iterable<string>, specOf: (module: string) => ResolvedSpec | undefined): Map<string, QuantMode> {
  const modes = new Map<string, QuantMode>();
  for (const n of names) {
    if (!n.endsWith('.scales')) continue;
    const m = n.slice(0, -'.scales'.length);
    modes.set(toSidecarMtpName(m), (specOf(m)?.mode ?? 'affine') as QuantMode);
  }
  return modes;
}

function expectedKeys(text: TextConfig, modes: Map<string, QuantMode>, where: string, problems: string[]): string[] | undefined {
  try {
    return expectedMtpKeysByMode(text, modes);
  } catch (e) {
    problems.push(`${where}: ${(e as Error).message}`);
    return undefined;
  }
}

export function checkMtpTensors(input: MtpCheckInput): MtpCheckResult {
  const { text, config, trunk, sidecar, specs } = input;
  const problems: string[] = [];
  const info: string[] = [];
  const n = text.mtpNumHiddenLayers;
  const field = text.nested ? 'text_config.mtp_num_hidden_layers' : 'mtp_num_hidden_layers';
  const trunkMtp = [...new Set([...trunk.keys(), ...(input.unavailable ?? [])])].filter(isMtpTensor).sort();
  const extra = isObj(config.mlx_lm_extra_tensors) ? config.mlx_lm_extra_tensors : undefined;
  const shardOf = (name: string) => trunk.get(name)?.shard ?? 'trunk shards';

  if (n === 0) {
    if (trunkMtp.length) problems.push(`${shardOf(trunkMtp[0])}: ${field} is 0 but the trunk holds ${trunkMtp.length} MTP tensor(s): ${listSome(trunkMtp)}`);
    if (sidecar) problems.push(`${sidecar.file}: ${field} is 0 but an MTP sidecar is present`);
    if (extra) problems.push(`config.json: mlx_lm_extra_tensors: present although ${field} is 0`);
    return { layout: 'none', tensors: trunkMtp.length + (sidecar?.tensors.size ?? 0), problems, info };
  }

  if (sidecar) {
    const names = [...sidecar.tensors.keys()].sort();
    if (trunkMtp.length) {
      problems.push(
        `${shardOf(trunkMtp[0])}: trunk shards hold ${trunkMtp.length} MTP tensor(s) (${listSome(trunkMtp, 3)}) although the head is in ` +
          `${sidecar.file}; MTP keys in the trunk make older mlx-lm treat it as raw and shift every norm again (MTPLX #306)`,
      );
    }
    const badNames = names.filter((k) => !k.startsWith('mtp.'));
    if (badNames.length) problems.push(`${sidecar.file}: sidecar keys must be named mtp.*: ${listSome(badNames)}`);
    const modes = quantModes(names, (m) => specs.get(m));
    const want = expectedKeys(text, modes, sidecar.file, problems);
    if (want) compareSets(want, names, sidecar.file, problems);
    const count = extra?.mtp_tensor_count;
    if (!extra) problems.push(`config.json: mlx_lm_extra_tensors: missing; it should name ${sidecar.file} and its tensor count`);
    else if (count !== names.length) {
      problems.push(`config.json: mlx_lm_extra_tensors.mtp_tensor_count is ${JSON.stringify(count)}, but ${sidecar.file} holds ${names.length} tensors`);
    }
    return { layout: 'sidecar', tensors: names.length, problems, info };
  }

  if (trunkMtp.length) {
    const arch = text.architecture;
    if (arch !== 'qwen3_next') {
      const absolute = trunkMtp.filter((k) => k.startsWith('mtp.'));
      if (absolute.length) {
        problems.push(
          `${shardOf(absolute[0])}: inline MTP keys must be language_model.mtp.* for ${arch}; absolute mtp.* keys (${listSome(absolute, 3)}) ` +
            `are not loaded as the head and trigger the double norm shift of MTPLX #306`,
        );
      }
    }
    const modes = quantModes(trunkMtp, (m) => specs.get(m));
    const want = expectedKeys(text, modes, 'trunk shards', problems);
    if (want) compareSets(want.map((k) => toInlineMtpName(k, arch)), trunkMtp, 'trunk shards (inline MTP)', problems);
    if (extra?.mtp_file !== undefined) problems.push(`config.json: mlx_lm_extra_tensors.mtp_file names '${String(extra.mtp_file)}', which does not exist (the head is inline)`);
    return { layout: 'inline', tensors: trunkMtp.length, problems, info };
  }

  problems.push(`config.json: ${field} is ${n} but the artifact has no MTP tensors (no sidecar, none inline); MTP-aware mlx-lm refuses to load it`);
  return { layout: 'none', tensors: 0, problems, info };
}

// ---- norms ----

const QK = ['.q_norm.weight', '.k_norm.weight'];
const LOW = ['.input_layernorm.weight', '.post_attention_layernorm.weight', '.pre_fc_norm_hidden.weight', '.pre_fc_norm_embedding.weight'];
/** MTPLX `_heal_raw_delta_mtp_norms` thresholds (youssofal/MTPLX mtplx/artifacts.py, mtplx/backends/registry.py, mtplx/constants.py). */
export const RAW_QK_NORM_MEAN = 1.25;
export const RAW_LOW_NORM_MEAN = 0.5;

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The declared MTP norm encoding, when config.json names one. */
function declaredNormEncoding(config: Json): string | undefined {
  const mq = isObj(config.mtplx_mtp_quantization) ? config.mtplx_mtp_quantization : {};
  for (const v of [config.mtplx_mtp_norm_encoding, config.mtp_norm_encoding, mq.norm_encoding, mq.norm_weight_encoding]) {
    if (typeof v === 'string') return v.trim().toLowerCase();
  }
  return undefined;
}

/**
 * Heuristic check that zero-centred norms carry MLX gammas (1 + w), from each norm tensor's mean.
 * A group looks raw when its q/k-norm mean is < 1.25 and its low-set norms (input/post/pre_fc) are < 0.5:
 * for the MTP head the lowest low-set mean (MTPLX's rule), for the trunk their average (one odd layer
 * must not decide). `where` maps a tensor name to its file. Returns warning-level problems.
 */
export function checkNormEncoding(means: ReadonlyMap<string, number>, config: Json, where: (name: string) => string): string[] {
  const out: string[] = [];
  const groups = { mtp: [...means.keys()].filter(isMtpTensor), trunk: [...means.keys()].filter((n) => !isMtpTensor(n)) };
  const looksRaw: Record<'mtp' | 'trunk', boolean | undefined> = { mtp: undefined, trunk: undefined };
  for (const g of ['mtp', 'trunk'] as const) {
    const qk = groups[g].filter((n) => QK.some((s) => n.endsWith(s)));
    const low = groups[g].filter((n) => LOW.some((s) => n.endsWith(s)));
    if (!qk.length || !low.length) continue;
    const qkMean = mean(qk.map((n) => means.get(n)!));
    const lowMeans = low.map((n) => means.get(n)!);
    const lowStat = g === 'mtp' ? Math.min(...lowMeans) : mean(lowMeans);
    looksRaw[g] = qkMean < RAW_QK_NORM_MEAN && lowStat < RAW_LOW_NORM_MEAN;
    if (!looksRaw[g]) continue;
    const lowName = g === 'mtp' ? low[lowMeans.indexOf(lowStat)] : `${low.length} input/post-attention norms`;
    const label = g === 'mtp' ? 'MTP head' : 'trunk';
    out.push(
      `warning: ${where(qk[0])}: ${label} norms look raw (delta-encoded, the +1 not folded in): q/k-norm mean ${qkMean.toFixed(3)} ` +
        `(< ${RAW_QK_NORM_MEAN}) and ${g === 'mtp' ? 'lowest' : 'average'} norm mean ${lowStat.toFixed(3)} (< ${RAW_LOW_NORM_MEAN}, ${lowName}); ` +
        `MLX uses norm weights as gammas, so raw ones collapse ${g === 'mtp' ? 'draft acceptance (MTPLX #176)' : 'the model output'}`,
    );
  }
  const enc = declaredNormEncoding(config);
  if (enc && DELTA_NORM_ENCODINGS.includes(enc) && looksRaw.mtp === false) {
    out.push(`config.json: the MTP norm encoding is declared '${enc}', so MTPLX adds +1 at load, but the MTP norms already look like MLX gammas (it would shift them twice)`);
  }
  return out;
}
