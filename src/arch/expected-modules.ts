/**
 * Every module of a model, under canonical names (the MLX key without its prefix:
 * `layers.3.self_attn.q_proj`, `mtp.fc`, ...), with the shape the config implies
 * (ml-explore/mlx-lm mlx_lm/models/qwen3_5.py, qwen3_next.py: the modules `Model` builds and `sanitize`
 * produces). The one source of the expected tensor set for conversion, validation and the engine.
 */
import type { ModelDims } from './model-dims';

/** The sizes the modules depend on (everything of ModelDims but the parsed text config). */
export type ShapeDims = Omit<ModelDims, 'text'>;
import { archProfile } from './registry';

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
  /** Full tensor name (with `.weight`, or a bare parameter such as `A_log`). */
  name: string;
  shape: number[];
}

export type ModuleSpec = LinearSpec | VectorSpec;

const lin = (name: string, rows: number, cols: number, experts = 0): LinearSpec => ({ kind: 'linear', name, rows, cols, experts });
const vec = (name: string, shape: number[]): VectorSpec => ({ kind: 'vector', name, shape });

function layerModules(d: ShapeDims, p: string, full: boolean, moe: boolean): ModuleSpec[] {
  const H = d.hidden;
  const out: ModuleSpec[] = [vec(`${p}input_layernorm.weight`, [H]), vec(`${p}post_attention_layernorm.weight`, [H])];
  if (full) {
    // q_proj carries the output gate: per head [query | gate] (attn_output_gate).
    out.push(
      lin(`${p}self_attn.q_proj`, 2 * d.nHeads * d.headDim, H),
      lin(`${p}self_attn.k_proj`, d.nKv * d.headDim, H),
      lin(`${p}self_attn.v_proj`, d.nKv * d.headDim, H),
      lin(`${p}self_attn.o_proj`, H, d.nHeads * d.headDim),
      vec(`${p}self_attn.q_norm.weight`, [d.headDim]),
      vec(`${p}self_attn.k_norm.weight`, [d.headDim]),
    );
  } else {
    const vd = d.nv * d.dv;
    const convDim = 2 * d.nk * d.dk + vd;
    const a = `${p}linear_attn.`;
    for (const g of archProfile(d.arch).gdnProjections(d)) out.push(lin(`${a}${g.name}`, g.rows, H));
    out.push(
      lin(`${a}out_proj`, H, vd),
      vec(`${a}conv1d.weight`, [convDim, d.convK, 1]),
      vec(`${a}A_log`, [d.nv]),
      vec(`${a}dt_bias`, [d.nv]),
      vec(`${a}norm.weight`, [d.dv]),
    );
  }
  const m = `${p}mlp.`;
  if (moe) {
    out.push(
      lin(`${m}gate`, d.nExperts, H),
      lin(`${m}switch_mlp.gate_proj`, d.moeInter, H, d.nExperts),
      lin(`${m}switch_mlp.up_proj`, d.moeInter, H, d.nExperts),
      lin(`${m}switch_mlp.down_proj`, H, d.moeInter, d.nExperts),
    );
    if (d.sharedInter > 0) {
      out.push(
        lin(`${m}shared_expert.gate_proj`, d.sharedInter, H),
        lin(`${m}shared_expert.up_proj`, d.sharedInter, H),
        lin(`${m}shared_expert.down_proj`, H, d.sharedInter),
        lin(`${m}shared_expert_gate`, 1, H),
      );
    }
  } else {
    out.push(lin(`${m}gate_proj`, d.intermediate, H), lin(`${m}up_proj`, d.intermediate, H), lin(`${m}down_proj`, H, d.intermediate));
  }
  return out;
}

/** The trunk: embedding, final norm, lm_head unless tied, every decoder layer. */
export function trunkModules(d: ShapeDims): ModuleSpec[] {
  const out: ModuleSpec[] = [lin('embed_tokens', d.vocab, d.hidden), vec('norm.weight', [d.hidden])];
  if (!d.tie) out.push(lin('lm_head', d.vocab, d.hidden));
  for (let i = 0; i < d.layers; i++) out.push(...layerModules(d, `layers.${i}.`, d.layerFull[i], d.layerMoe[i]));
  return out;
}

/** The MTP head with `layers` layers (always full attention; MoE in MoE models). */
export function mtpModules(d: ShapeDims, layers = d.mtpLayers): ModuleSpec[] {
  if (layers <= 0) return [];
  const H = d.hidden;
  const out: ModuleSpec[] = [
    lin('mtp.fc', H, 2 * H),
    vec('mtp.pre_fc_norm_embedding.weight', [H]),
    vec('mtp.pre_fc_norm_hidden.weight', [H]),
    vec('mtp.norm.weight', [H]),
  ];
  for (let l = 0; l < layers; l++) out.push(...layerModules(d, `mtp.layers.${l}.`, true, d.nExperts > 0));
  return out;
}

/** The logical (unquantized) shape of a module's weight. */
export function weightShape(m: ModuleSpec): number[] {
  return m.kind === 'vector' ? [...m.shape] : m.experts > 0 ? [m.experts, m.rows, m.cols] : [m.rows, m.cols];
}

/** The tensor name of a module's (only or main) weight. */
export function weightName(m: ModuleSpec): string {
  return m.kind === 'vector' ? m.name : `${m.name}.weight`;
}
