/** Qwen3.5 / Qwen3.6 dense (ml-explore/mlx-lm mlx_lm/models/qwen3_5.py): VLM wrapper, dense MLP. */
import type { ArchProfile } from '../profile';

export const QWEN3_5: ArchProfile = {
  id: 'qwen3_5',
  modelTypes: ['qwen3_5', 'qwen3_5_text'],
  classNames: ['Qwen3_5ForConditionalGeneration', 'Qwen3_5ForCausalLM'],
  mlxTextPrefix: 'language_model.',
  hasVision: true,
  moe: false,
};
