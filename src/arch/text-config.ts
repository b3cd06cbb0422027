/**
 * The text-model fields every stage needs, read from `text_config` when present (Qwen3.5/3.6 VLM
 * wrapper) or from the top level (Qwen3-Next's flat config).
 */
import { InputError } from '../errors';
import { Architecture, detectArchitecture } from './architecture';
import { archProfile } from './registry';

export interface TextConfig {
  architecture: Architecture;
  /** True when the fields live under `text_config` (Qwen3.5/3.6). */
  nested: boolean;
  hiddenSize: number;
  numLayers: number;
  vocabSize: number;
  /** 'linear_attention' | 'full_attention' per layer. */
  layerTypes: LayerType[];
  numAttentionHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  linearNumKeyHeads: number;
  linearNumValueHeads: number;
  linearKeyHeadDim: number;
  linearValueHeadDim: number;
  convKernel: number;
  intermediateSize?: number;
  numExperts?: number;
  numExpertsPerTok?: number;
  moeIntermediateSize?: number;
  /** Set whenever numExperts > 0 (the family's default when config.json omits it); 0 = no shared expert. */
  sharedExpertIntermediateSize?: number;
  tieWordEmbeddings: boolean;
  mtpNumHiddenLayers: number;
  /** Checkpoint dtype as declared (`dtype` or `torch_dtype`), if any. */
  dtype?: string;
  rmsNormEps: number;
}

export type LayerType = 'linear_attention' | 'full_attention';

type Json = Record<string, unknown>;

function pick(obj: Json, key: string): unknown {
  return obj[key];
}

export function parseTextConfig(config: Json, file = 'config.json'): TextConfig {
  const architecture = detectArchitecture(config, file);
  const nested = typeof config.text_config === 'object' && config.text_config !== null;
  const text = (nested ? config.text_config : config) as Json;
  const prefix = nested ? 'text_config.' : '';

  const int = (key: string, fallback?: number): number => {
    const v = pick(text, key);
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw new InputError('missing required integer', { file, field: prefix + key });
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
      throw new InputError(`expected a non-negative integer, got ${JSON.stringify(v)}`, {
        file,
        field: prefix + key,
      });
    }
    return v;
  };
  const optInt = (key: string): number | undefined =>
    pick(text, key) === undefined || pick(text, key) === null ? undefined : int(key);

  const numLayers = int('num_hidden_layers');
  const layerTypes = parseLayerTypes(text, numLayers, file, prefix);
  const tie = pick(text, 'tie_word_embeddings') ?? config.tie_word_embeddings ?? false;
  const dtype = parseDType(config, text, file, prefix);
  const numExperts = optInt('num_experts');
  let sharedExpertIntermediateSize = optInt('shared_expert_intermediate_size');
  if (sharedExpertIntermediateSize === undefined && (numExperts ?? 0) > 0) {
    // One default for every stage: the family's, as mlx-lm reads the same config.
    sharedExpertIntermediateSize = archProfile(architecture).sharedExpertSizeDefault;
    if (sharedExpertIntermediateSize === undefined) {
      throw new InputError(`missing; a ${architecture} model with experts must state it (mlx-lm has no default for it)`, {
        file,
        field: prefix + 'shared_expert_intermediate_size',
      });
    }
  }

  return {
    architecture,
    nested,
    hiddenSize: int('hidden_size'),
    numLayers,
    vocabSize: int('vocab_size'),
    layerTypes,
    numAttentionHeads: int('num_attention_heads'),
    numKeyValueHeads: int('num_key_value_heads'),
    headDim: int('head_dim', 256),
    linearNumKeyHeads: int('linear_num_key_heads', 16),
    linearNumValueHeads: int('linear_num_value_heads', 32),
    linearKeyHeadDim: int('linear_key_head_dim', 128),
    linearValueHeadDim: int('linear_value_head_dim', 128),
    convKernel: int('linear_conv_kernel_dim', 4),
    intermediateSize: optInt('intermediate_size'),
    numExperts,
    numExpertsPerTok: optInt('num_experts_per_tok'),
    moeIntermediateSize: optInt('moe_intermediate_size'),
    sharedExpertIntermediateSize,
    tieWordEmbeddings: tie === true,
    mtpNumHiddenLayers: int('mtp_num_hidden_layers', 0),
    dtype,
    rmsNormEps: typeof text.rms_norm_eps === 'number' ? text.rms_norm_eps : 1e-6,
  };
}

function parseLayerTypes(text: Json, numLayers: number, file: string, prefix: string): LayerType[] {
  const raw = text.layer_types;
  if (raw !== undefined) {
    if (!Array.isArray(raw) || raw.length !== numLayers) {
      throw new InputError(`expected a list of ${numLayers} layer types`, { file, field: prefix + 'layer_types' });
    }
    return raw.map((t, i) => {
      if (t !== 'linear_attention' && t !== 'full_attention') {
        throw new InputError(`unknown layer type ${JSON.stringify(t)}`, {
          file,
          field: `${prefix}layer_types[${i}]`,
        });
      }
      return t;
    });
  }
  const interval = typeof text.full_attention_interval === 'number' ? text.full_attention_interval : 4;
  return Array.from({ length: numLayers }, (_, i) =>
    (i + 1) % interval === 0 ? 'full_attention' : 'linear_attention',
  );
}

/** The float dtypes a checkpoint config may declare (transformers' `dtype` / legacy `torch_dtype`). */
export const CONFIG_DTYPES: readonly string[] = ['float16', 'bfloat16', 'float32'];

/**
 * The declared checkpoint dtype: every `dtype` / `torch_dtype` present (text_config first, then top level)
 * must be one of CONFIG_DTYPES, since it becomes the output's float dtype and is copied into its config.
 */
function parseDType(config: Json, text: Json, file: string, prefix: string): string | undefined {
  const places: [string, unknown][] = [
    [prefix + 'dtype', pick(text, 'dtype')],
    [prefix + 'torch_dtype', pick(text, 'torch_dtype')],
    ['torch_dtype', config.torch_dtype],
    ['dtype', config.dtype],
  ];
  let first: string | undefined;
  for (const [field, v] of places) {
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string' || !CONFIG_DTYPES.includes(v)) {
      throw new InputError(`invalid dtype ${JSON.stringify(v)}; expected one of ${CONFIG_DTYPES.join(', ')}`, { file, field });
    }
    first ??= v;
  }
  return first;
}
