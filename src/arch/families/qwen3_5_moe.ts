/** Qwen3.5 / Qwen3.6 MoE (ml-explore/mlx-lm mlx_lm/models/qwen3_5_moe.py): VLM wrapper, routed + shared experts. */
import type { ArchProfile } from '../profile';
import { QWEN_ROUTERS, splitGdnProjections } from './qwen3_5';

export const QWEN3_5_MOE: ArchProfile = {
  id: 'qwen3_5_moe',
  modelTypes: ['qwen3_5_moe', 'qwen3_5_moe_text'],
  classNames: ['Qwen3_5MoeForConditionalGeneration', 'Qwen3_5MoeForCausalLM'],
  mlxTextPrefix: 'language_model.',
  hfModelPrefix: 'model.language_model.',
  hasVision: true,
  moe: true,
  routerModules: QWEN_ROUTERS,
  requiresExperts: true,
  // qwen3_5_moe.py reads the text config through qwen3_5.py's TextModelArgs: default 0.
  sharedExpertSizeDefault: 0,
  // Every layer is sparse (qwen3_5.py builds SparseMoeBlock whenever num_experts > 0).
  sparseLayer: () => true,
  gdnProjections: splitGdnProjections,
};
