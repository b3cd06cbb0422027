/** Qwen3-Next (ml-explore/mlx-lm mlx_lm/models/qwen3_next.py): flat config, no wrapper, no vision, MoE. */
import type { ArchProfile } from '../profile';
import { QWEN_ROUTERS } from './qwen3_5';

export const QWEN3_NEXT: ArchProfile = {
  id: 'qwen3_next',
  modelTypes: ['qwen3_next'],
  classNames: ['Qwen3NextForCausalLM'],
  mlxTextPrefix: '',
  hfModelPrefix: 'model.',
  hasVision: false,
  moe: true,
  routerModules: QWEN_ROUTERS,
  requiresExperts: false,
  // qwen3_next.py's ModelArgs declares shared_expert_intermediate_size without a default.
  sharedExpertSizeDefault: undefined,
  // qwen3_next.py: a layer is sparse unless listed in mlp_only_layers, every decoder_sparse_step-th layer.
  sparseLayer: (layer, text) => {
    const mlpOnly = Array.isArray(text.mlp_only_layers) ? (text.mlp_only_layers as unknown[]) : [];
    const step = typeof text.decoder_sparse_step === 'number' && Number.isFinite(text.decoder_sparse_step) ? text.decoder_sparse_step : 1;
    return !mlpOnly.includes(layer) && (layer + 1) % step === 0;
  },
  // Fused projections: in_proj_qkvz [2·nk·dk + 2·nv·dv], in_proj_ba [2·nv].
  gdnProjections: (d) => [
    { name: 'in_proj_qkvz', rows: 2 * d.nk * d.dk + 2 * d.nv * d.dv },
    { name: 'in_proj_ba', rows: 2 * d.nv },
  ],
};
