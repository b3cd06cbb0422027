/** Qwen3-Next (ml-explore/mlx-lm mlx_lm/models/qwen3_next.py): flat config, no wrapper, no vision, MoE. */
import type { ArchProfile } from '../profile';

export const QWEN3_NEXT: ArchProfile = {
  id: 'qwen3_next',
  modelTypes: ['qwen3_next'],
  classNames: ['Qwen3NextForCausalLM'],
  mlxTextPrefix: '',
  hasVision: false,
  moe: true,
};
