/**
 * Which model family a checkpoint belongs to, from its config.json (never from tensor data).
 * The families share one MLX layout family but differ in prefixes, expert storage and GDN projections.
 */
import { InputError } from '../errors';

export type Architecture = 'qwen3_5' | 'qwen3_5_moe' | 'qwen3_next';

export const SUPPORTED_ARCHITECTURES: readonly Architecture[] = ['qwen3_5', 'qwen3_5_moe', 'qwen3_next'];

const BY_MODEL_TYPE: Record<string, Architecture> = {
  qwen3_5: 'qwen3_5',
  qwen3_5_text: 'qwen3_5',
  qwen3_5_moe: 'qwen3_5_moe',
  qwen3_5_moe_text: 'qwen3_5_moe',
  qwen3_next: 'qwen3_next',
};

const BY_CLASS: Record<string, Architecture> = {
  Qwen3_5ForConditionalGeneration: 'qwen3_5',
  Qwen3_5ForCausalLM: 'qwen3_5',
  Qwen3_5MoeForConditionalGeneration: 'qwen3_5_moe',
  Qwen3_5MoeForCausalLM: 'qwen3_5_moe',
  Qwen3NextForCausalLM: 'qwen3_next',
};

/** Detects the architecture; an unknown one is an InputError that lists the supported ones. */
export function detectArchitecture(config: Record<string, unknown>, file = 'config.json'): Architecture {
  const modelType = config.model_type;
  if (typeof modelType === 'string' && BY_MODEL_TYPE[modelType]) return BY_MODEL_TYPE[modelType];
  const archs = Array.isArray(config.architectures) ? config.architectures : [];
  for (const a of archs) {
    if (typeof a === 'string' && BY_CLASS[a]) return BY_CLASS[a];
  }
  const seen = typeof modelType === 'string' ? `model_type '${modelType}'` : 'no model_type';
  throw new InputError(
    `unsupported architecture (${seen}, architectures ${JSON.stringify(archs)}); ` +
      `supported: ${SUPPORTED_ARCHITECTURES.join(', ')}`,
    { file, field: 'model_type' },
  );
}
