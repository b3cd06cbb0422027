/** Qwen3.5 / Qwen3.6 dense (ml-explore/mlx-lm mlx_lm/models/qwen3_5.py): VLM wrapper, dense MLP. */
import type { ArchProfile, GdnDims, GdnProjection } from '../profile';

/** Qwen3.5's split GDN projections: in_proj_qkv [2·nk·dk + nv·dv], in_proj_z [nv·dv], in_proj_b / in_proj_a [nv]. */
export function splitGdnProjections(d: GdnDims): GdnProjection[] {
  const kd = d.nk * d.dk;
  const vd = d.nv * d.dv;
  return [
    { name: 'in_proj_qkv', rows: 2 * kd + vd },
    { name: 'in_proj_z', rows: vd },
    { name: 'in_proj_b', rows: d.nv },
    { name: 'in_proj_a', rows: d.nv },
  ];
}

/**
 * The router and the shared expert's gate. mlx-lm's qwen3_5.py builds the sparse MoE block itself when the
 * config has experts, so the dense family names the same routers.
 */
export const QWEN_ROUTERS: readonly string[] = ['mlp.gate', 'mlp.shared_expert_gate'];

export const QWEN3_5: ArchProfile = {
  id: 'qwen3_5',
  modelTypes: ['qwen3_5', 'qwen3_5_text'],
  classNames: ['Qwen3_5ForConditionalGeneration', 'Qwen3_5ForCausalLM'],
  mlxTextPrefix: 'language_model.',
  hfModelPrefix: 'model.language_model.',
  hasVision: true,
  moe: false,
  routerModules: QWEN_ROUTERS,
  requiresExperts: false,
  // TextModelArgs.shared_expert_intermediate_size = 0 (qwen3_5.py).
  sharedExpertSizeDefault: 0,
  sparseLayer: () => true,
  gdnProjections: splitGdnProjections,
};
