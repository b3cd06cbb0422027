/** What `mtpkit inspect` reports about a checkpoint: its tensors, architecture and MTP head. */
import type { DType, TensorInfo } from '../safetensors/types';
import { Architecture, detectArchitecture } from './architecture';
import { isMtpTensor, isVisionTensor } from '../plan/tensor-names';

export interface TensorRow {
  name: string;
  dtype: DType;
  shape: number[];
  bytes: number;
  shard: string;
}

export interface CheckpointSummary {
  path: string;
  architecture: Architecture | 'unknown';
  /** Where the architecture came from. */
  architectureSource: 'config.json' | 'tensor names' | 'none';
  /** `mtp_num_hidden_layers` declared by the config (undefined when absent). */
  mtpLayersDeclared?: number;
  mtp: { present: boolean; tensors: number; bytes: number };
  vision: { tensors: number; bytes: number };
  shards: string[];
  tensorCount: number;
  totalBytes: number;
  tensors: TensorRow[];
}

/** What inspect needs from an opened checkpoint. */
export interface InspectableCheckpoint {
  readonly shards: string[];
  readonly tensors: Map<string, TensorInfo>;
  readJson<T = unknown>(rel: string): Promise<T | undefined>;
}

export async function summarizeCheckpoint(ckpt: InspectableCheckpoint, displayPath: string): Promise<CheckpointSummary> {
  const config = (await ckpt.readJson<Record<string, unknown>>('config.json')) ?? undefined;
  const rows: TensorRow[] = [...ckpt.tensors.values()].map((t) => ({
    name: t.name,
    dtype: t.dtype,
    shape: t.shape,
    bytes: t.byteLength,
    shard: t.shard,
  }));
  let architecture: CheckpointSummary['architecture'] = 'unknown';
  let architectureSource: CheckpointSummary['architectureSource'] = 'none';
  if (config) {
    architecture = detectArchitecture(config, `${displayPath}/config.json`);
    architectureSource = 'config.json';
  } else {
    const guess = guessFromNames(rows.map((r) => r.name));
    if (guess) {
      architecture = guess;
      architectureSource = 'tensor names';
    }
  }
  const mtpRows = rows.filter((r) => isMtpTensor(r.name));
  const visionRows = rows.filter((r) => isVisionTensor(r.name));
  const sum = (rs: TensorRow[]) => rs.reduce((a, r) => a + r.bytes, 0);
  return {
    path: displayPath,
    architecture,
    architectureSource,
    mtpLayersDeclared: config ? declaredMtpLayers(config) : undefined,
    mtp: { present: mtpRows.length > 0, tensors: mtpRows.length, bytes: sum(mtpRows) },
    vision: { tensors: visionRows.length, bytes: sum(visionRows) },
    shards: ckpt.shards,
    tensorCount: rows.length,
    totalBytes: sum(rows),
    tensors: rows,
  };
}

/** `mtp_num_hidden_layers` as config.json states it (text_config or top level); undefined when absent. */
export function declaredMtpLayers(config: Record<string, unknown>): number | undefined {
  const text = (typeof config.text_config === 'object' && config.text_config) || config;
  const v = (text as Record<string, unknown>).mtp_num_hidden_layers;
  return typeof v === 'number' ? v : undefined;
}

/** Without a config.json (a lone .safetensors file) the names still tell the family apart. */
function guessFromNames(names: string[]): Architecture | undefined {
  if (names.some((n) => n.includes('linear_attn.in_proj_qkvz'))) return 'qwen3_next';
  if (!names.some((n) => n.includes('linear_attn.'))) return undefined;
  const moe = names.some((n) => n.includes('.mlp.experts.') || n.includes('.mlp.switch_mlp.'));
  return moe ? 'qwen3_5_moe' : 'qwen3_5';
}
