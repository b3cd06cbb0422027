/**
 * Builds the sanitize half of a conversion plan: for every output tensor, its sources, transforms,
 * dtype and shape, from the checkpoint's headers and config alone (no tensor data is read).
 */
import { InputError } from '../errors';
import { isFloatDType, type DType, type TensorInfo } from '../safetensors/types';
import type { PlannedTensor, SourceRef, Transform } from '../plan/types';
import type { TextConfig } from '../arch/text-config';
import { describeTensor } from '../arch/tensor-facts';
import { isMtpTensor } from '../plan/tensor-names';
import { detectRawCheckpoint, type RawDetection } from '../arch/raw-detection';
import { lmHeadName, mapKey } from '../arch/key-mapping';
import { isZeroCentredNorm } from '../plan/norm-suffixes';
import { isExpertTensor, planExperts } from './experts';
import { naturalCompare } from './natural-order';

export type TargetDType = 'float16' | 'bfloat16' | 'float32';

export interface SanitizeOptions {
  /** `drop` (default, as mlx-lm) or `keep` (unquantized, in separate vision shards). */
  vision: 'drop' | 'keep';
  /** `keep` (default) or `drop` (writes mtp_num_hidden_layers: 0). */
  mtp: 'keep' | 'drop';
  /** Float dtype of the output; default: the config's dtype, as mlx-lm convert does. */
  dtype?: TargetDType;
  /** Plan only the output tensors this predicate accepts (MLX names), e.g. the MTP head for a graft. */
  select?: (mlxName: string) => boolean;
  /** Name used in error messages for the source. */
  sourceLabel: string;
}

export interface DroppedTensor {
  name: string;
  reason: string;
}

export interface SanitizePlan {
  tensors: PlannedTensor[];
  dropped: DroppedTensor[];
  raw: RawDetection;
  targetDType?: DType;
  /** Changes to apply to the text part of config.json. */
  configPatch: { mtp_num_hidden_layers?: number };
}

const DTYPE_OF: Record<TargetDType, DType> = { float16: 'F16', bfloat16: 'BF16', float32: 'F32' };

export function resolveTargetDType(cfg: TextConfig, requested?: TargetDType): DType | undefined {
  if (requested) return DTYPE_OF[requested];
  const d = cfg.dtype;
  return d === 'float16' || d === 'bfloat16' || d === 'float32' ? DTYPE_OF[d] : undefined;
}

export function planSanitize(tensors: Map<string, TensorInfo>, cfg: TextConfig, opts: SanitizeOptions): SanitizePlan {
  const file = opts.sourceLabel;
  const arch = cfg.architecture;
  const raw = detectRawCheckpoint(tensors.values());
  const target = resolveTargetDType(cfg, opts.dtype);
  const dropped: DroppedTensor[] = [];
  const planned: PlannedTensor[] = [];

  const mtpNames = [...tensors.keys()].filter(isMtpTensor);
  if (cfg.mtpNumHiddenLayers > 0 && mtpNames.length === 0 && opts.mtp === 'keep') {
    throw new InputError(
      `config declares mtp_num_hidden_layers=${cfg.mtpNumHiddenLayers} but the checkpoint has no mtp.* tensors ` +
        `(the MTP head was stripped). Graft the head from the original checkpoint ` +
        `(mtpkit graft <this> <original-repo> <out>), or convert without it using --mtp drop ` +
        `(writes mtp_num_hidden_layers: 0)`,
      { file: `${file}/config.json`, field: `${cfg.nested ? 'text_config.' : ''}mtp_num_hidden_layers` },
    );
  }
  const configPatch: SanitizePlan['configPatch'] = {};
  if (opts.mtp === 'drop') configPatch.mtp_num_hidden_layers = 0;
  else if (mtpNames.length) {
    const layers = new Set(mtpNames.map((n) => n.match(/mtp\.layers\.(\d+)\./)?.[1]).filter((x) => x !== undefined));
    if (layers.size !== cfg.mtpNumHiddenLayers) configPatch.mtp_num_hidden_layers = layers.size;
  }

  // A quantized MLX checkpoint cannot be re-planned tensor by tensor (packed weights, its own config
  // block); graft is the way to add a head to one.
  const quantized = [...tensors.keys()].find((n) => n.endsWith('.scales'));
  if (quantized) {
    throw new InputError(
      'the checkpoint is already quantized; convert starts from an unquantized (bf16/f16/f32) checkpoint. ' +
        'To add an MTP head to a quantized MLX trunk use `mtpkit graft <trunk> <original-checkpoint> <out>`',
      { file, tensor: quantized },
    );
  }

  const emit = (hfStyleName: string, sources: SourceRef[], baseTransforms: Transform[], srcDType: DType, shape: number[], notes: string[]) => {
    const mapped = mapKey(hfStyleName, arch);
    if (mapped.kind === 'vision' && opts.vision === 'drop') {
      dropped.push({ name: hfStyleName, reason: 'vision tower (use --vision keep to keep it)' });
      return;
    }
    const name = mapped.name;
    const group = mapped.kind === 'vision' ? 'vision' : mapped.group;
    if (group === 'mtp' && opts.mtp === 'drop') {
      dropped.push({ name: hfStyleName, reason: '--mtp drop' });
      return;
    }
    if (cfg.tieWordEmbeddings && name === lmHeadName(arch)) {
      dropped.push({ name: hfStyleName, reason: 'tied embeddings: lm_head is embed_tokens' });
      return;
    }
    if (opts.select && !opts.select(name)) return;

    const transforms = [...baseTransforms];
    const noteList = [...notes];
    if (name !== hfStyleName && !noteList.length) noteList.push(`rename ${hfStyleName}`);
    let dtype = srcDType;
    if (name.endsWith('conv1d.weight') && shape.length === 3 && shape[2] !== 1) {
      transforms.push({ kind: 'moveaxis', from: 2, to: 1 });
      shape = [shape[0], shape[2], shape[1]];
      noteList.push('conv1d [C,1,K] -> [C,K,1]');
    }
    if (raw.raw && isZeroCentredNorm(name, shape)) {
      transforms.push({ kind: 'add-one' });
      noteList.push('+1 shift (zero-centred norm)');
    }
    const neverCast = name.endsWith('.A_log');
    if (target && isFloatDType(dtype) && dtype !== target && !neverCast) {
      transforms.push({ kind: 'cast', to: target });
      noteList.push(`cast ${dtype} -> ${target}`);
      dtype = target;
    }
    planned.push({
      name,
      sources,
      transforms,
      dtype,
      shape,
      group,
      facts: describeTensor(name, cfg),
      notes: noteList,
    });
  };

  for (const t of tensors.values()) {
    if (isExpertTensor(t.name)) continue;
    if (opts.mtp === 'drop' && isMtpTensor(t.name)) {
      dropped.push({ name: t.name, reason: '--mtp drop' });
      continue;
    }
    emit(t.name, [{ tensor: t.name, dtype: t.dtype, shape: t.shape }], [], t.dtype, [...t.shape], []);
  }
  for (const x of planExperts(tensors, cfg.numExperts, file)) {
    if (opts.mtp === 'drop' && isMtpTensor(x.sourceStyleName)) {
      for (const s of x.sources) dropped.push({ name: s.tensor, reason: '--mtp drop' });
      continue;
    }
    emit(x.sourceStyleName, x.sources, x.transforms, x.sources[0].dtype, x.shape, [x.note]);
  }

  planned.sort((a, b) => naturalCompare(a.name, b.name));
  for (let i = 1; i < planned.length; i++) {
    if (planned[i].name === planned[i - 1].name) {
      throw new InputError('two source tensors map to the same output name', { file, tensor: planned[i].name });
    }
  }
  return { tensors: planned, dropped, raw, targetDType: target, configPatch };
}
