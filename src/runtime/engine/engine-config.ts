/**
 * The numbers the engine's forward needs, from config.json (text_config or flat), with mlx-lm's
 * defaults where a field is absent (ml-explore/mlx-lm mlx_lm/models/qwen3_5.py TextModelArgs,
 * qwen3_next.py ModelArgs).
 */
import { InputError } from '../../errors';
import type { ModelDims } from '../../arch/model-dims';
import { parseModelDims } from '../../arch/parse-model-dims';

type Json = Record<string, unknown>;

/** The model's sizes (src/arch/model-dims.ts, shared with conversion and validation) plus what only the forward needs. */
export interface EngineConfig extends ModelDims {
  rotDim: number;
  ropeTheta: number;
  eps: number;
  topK: number;
  normTopk: boolean;
}

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseEngineConfig(config: Json, file = 'config.json'): EngineConfig {
  const dims = parseModelDims(config, file);
  const { text, headDim, nExperts } = dims;
  const raw = (isObj(config.text_config) ? config.text_config : config) as Json;
  const prefix = isObj(config.text_config) ? 'text_config.' : '';
  const rope = isObj(raw.rope_parameters) ? raw.rope_parameters : isObj(raw.rope_scaling) ? raw.rope_scaling : {};
  const numberOr = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);
  // mlx-lm qwen3_5: rope_parameters first; qwen3_next: top-level rope_theta / partial_rotary_factor.
  const ropeTheta = numberOr(rope.rope_theta, numberOr(raw.rope_theta, 100000));
  const factor = numberOr(rope.partial_rotary_factor, numberOr(raw.partial_rotary_factor, 0.25));
  const rotDim = Math.floor(headDim * factor);
  if (rotDim % 2 !== 0 || rotDim > headDim) {
    throw new InputError(`partial_rotary_factor ${factor} gives ${rotDim} rotary dims for head_dim ${headDim}; need an even number <= head_dim`, { file, field: prefix + 'partial_rotary_factor' });
  }
  const need = (v: number | undefined, field: string): number => {
    if (v === undefined || v <= 0) throw new InputError('missing or zero, but the model needs it', { file, field: prefix + field });
    return v;
  };
  const topK = nExperts > 0 ? need(text.numExpertsPerTok, 'num_experts_per_tok') : 0;
  if (topK > nExperts) throw new InputError(`num_experts_per_tok ${topK} exceeds num_experts ${nExperts}`, { file, field: prefix + 'num_experts_per_tok' });
  const cfg: EngineConfig = {
    ...dims,
    rotDim,
    ropeTheta,
    eps: text.rmsNormEps,
    topK,
    // mlx-lm defaults: qwen3_5 TextModelArgs norm_topk_prob = True, qwen3_next ModelArgs = False.
    normTopk: typeof raw.norm_topk_prob === 'boolean' ? raw.norm_topk_prob : text.architecture !== 'qwen3_next',
  };
  if (cfg.nHeads % cfg.nKv !== 0) throw new InputError(`num_attention_heads ${cfg.nHeads} is not a multiple of num_key_value_heads ${cfg.nKv}`, { file, field: prefix + 'num_key_value_heads' });
  if (cfg.layerFull.some((f) => !f)) {
    if (cfg.nk <= 0 || cfg.nv % cfg.nk !== 0) throw new InputError(`linear_num_value_heads ${cfg.nv} is not a multiple of linear_num_key_heads ${cfg.nk}`, { file, field: prefix + 'linear_num_value_heads' });
  }
  return cfg;
}
