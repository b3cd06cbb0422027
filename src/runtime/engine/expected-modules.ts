/**
 * Every module the forward reads, under canonical names (the MLX key without its prefix:
 * `layers.3.self_attn.q_proj`, `mtp.fc`, ...), with the shape the config implies
 * (sanitize-rules §12; ml-explore/mlx-lm mlx_lm/models/qwen3_5.py, qwen3_next.py).
 */
import type { EngineConfig } from './engine-config';

export interface LinearSpec {
  kind: 'linear';
  name: string;
  /** Logical [rows, cols] of one matrix; `experts` > 0 for stacked [E, rows, cols]. */
  rows: number;
  cols: number;
  experts: number;
}

export interface VectorSpec {
  kind: 'vector';
  name: string;
  shape: number[];
}

export type ModuleSpec = LinearSpec | VectorSpec;

const lin = (name: string, rows: number, cols: number, experts = 0): LinearSpec => ({ kind: 'linear', name, rows, cols, experts });
const vec = (name: string, shape: number[]): VectorSpec => ({ kind: 'vector', name, shape });

function layerModules(c: EngineConfig, p: string, full: boolean, moe: boolean): ModuleSpec[] {
  const H = c.hidden;
  const out: ModuleSpec[] = [vec(`${p}input_layernorm.weight`, [H]), vec(`${p}post_attention_layernorm.weight`, [H])];
  if (full) {
    out.push(
      lin(`${p}self_attn.q_proj`, 2 * c.nHeads * c.headDim, H),
      lin(`${p}self_attn.k_proj`, c.nKv * c.headDim, H),
      lin(`${p}self_attn.v_proj`, c.nKv * c.headDim, H),
      lin(`${p}self_attn.o_proj`, H, c.nHeads * c.headDim),
      vec(`${p}self_attn.q_norm.weight`, [c.headDim]),
      vec(`${p}self_attn.k_norm.weight`, [c.headDim]),
    );
  } else {
    const kd = c.nk * c.dk;
    const vd = c.nv * c.dv;
    const convDim = 2 * kd + vd;
    const a = `${p}linear_attn.`;
    if (c.arch === 'qwen3_next') {
      out.push(lin(`${a}in_proj_qkvz`, 2 * kd + 2 * vd, H), lin(`${a}in_proj_ba`, 2 * c.nv, H));
    } else {
      out.push(lin(`${a}in_proj_qkv`, convDim, H), lin(`${a}in_proj_z`, vd, H), lin(`${a}in_proj_b`, c.nv, H), lin(`${a}in_proj_a`, c.nv, H));
    }
    out.push(
      lin(`${a}out_proj`, H, vd),
      vec(`${a}conv1d.weight`, [convDim, c.convK, 1]),
      vec(`${a}A_log`, [c.nv]),
      vec(`${a}dt_bias`, [c.nv]),
      vec(`${a}norm.weight`, [c.dv]),
    );
  }
  const m = `${p}mlp.`;
  if (moe) {
    out.push(
      lin(`${m}gate`, c.nExperts, H),
      lin(`${m}switch_mlp.gate_proj`, c.moeInter, H, c.nExperts),
      lin(`${m}switch_mlp.up_proj`, c.moeInter, H, c.nExperts),
      lin(`${m}switch_mlp.down_proj`, H, c.moeInter, c.nExperts),
    );
    if (c.sharedInter > 0) {
      out.push(
        lin(`${m}shared_expert.gate_proj`, c.sharedInter, H),
        lin(`${m}shared_expert.up_proj`, c.sharedInter, H),
        lin(`${m}shared_expert.down_proj`, H, c.sharedInter),
        lin(`${m}shared_expert_gate`, 1, H),
      );
    }
  } else {
    out.push(lin(`${m}gate_proj`, c.intermediate, H), lin(`${m}up_proj`, c.intermediate, H), lin(`${m}down_proj`, H, c.intermediate));
  }
  return out;
}

export function trunkModules(c: EngineConfig): ModuleSpec[] {
  const out: ModuleSpec[] = [lin('embed_tokens', c.vocab, c.hidden), vec('norm.weight', [c.hidden])];
  if (!c.tie) out.push(lin('lm_head', c.vocab, c.hidden));
  for (let i = 0; i < c.layers; i++) out.push(...layerModules(c, `layers.${i}.`, c.layerFull[i], c.layerMoe[i]));
  return out;
}

/** One MTP layer (the engine runs `mtp.layers.0`), always full attention, MoE in MoE models. */
export function mtpModules(c: EngineConfig): ModuleSpec[] {
  const H = c.hidden;
  return [
    lin('mtp.fc', H, 2 * H),
    vec('mtp.pre_fc_norm_embedding.weight', [H]),
    vec('mtp.pre_fc_norm_hidden.weight', [H]),
    vec('mtp.norm.weight', [H]),
    ...layerModules(c, 'mtp.layers.0.', true, c.nExperts > 0),
  ];
}
