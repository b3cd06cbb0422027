/**
 * The MLX tensor names and shapes a sanitized checkpoint must have, written from the reference
 * (sanitize-rules.md §12, qwen35-architecture.md §4) and the config alone — independent of src/.
 */
export interface Expected {
  name: string;
  shape: number[];
}

export function expectedMlxTensors(config: any): Expected[] {
  const t = config.text_config ?? config;
  const next = config.model_type === 'qwen3_next';
  const P = next ? 'model.' : 'language_model.model.';
  const H = t.hidden_size;
  const L = t.num_hidden_layers;
  const types: string[] =
    t.layer_types ?? Array.from({ length: L }, (_, i) => ((i + 1) % (t.full_attention_interval ?? 4) === 0 ? 'full_attention' : 'linear_attention'));
  const nk = t.linear_num_key_heads, nv = t.linear_num_value_heads, dk = t.linear_key_head_dim, dv = t.linear_value_head_dim;
  const keyDim = nk * dk, valueDim = nv * dv, convDim = 2 * keyDim + valueDim;
  const K = t.linear_conv_kernel_dim ?? 4;
  const nH = t.num_attention_heads, nKV = t.num_key_value_heads, hd = t.head_dim;
  const moe = t.num_experts !== undefined && t.num_experts !== null;
  const E = t.num_experts, Im = t.moe_intermediate_size, Is = t.shared_expert_intermediate_size, I = t.intermediate_size;
  const out: Expected[] = [];
  const add = (name: string, shape: number[]) => out.push({ name, shape });

  const attention = (p: string) => {
    add(`${p}self_attn.q_proj.weight`, [2 * nH * hd, H]);
    add(`${p}self_attn.k_proj.weight`, [nKV * hd, H]);
    add(`${p}self_attn.v_proj.weight`, [nKV * hd, H]);
    add(`${p}self_attn.o_proj.weight`, [H, nH * hd]);
    add(`${p}self_attn.q_norm.weight`, [hd]);
    add(`${p}self_attn.k_norm.weight`, [hd]);
  };
  const mlp = (p: string) => {
    if (!moe) {
      add(`${p}mlp.gate_proj.weight`, [I, H]);
      add(`${p}mlp.up_proj.weight`, [I, H]);
      add(`${p}mlp.down_proj.weight`, [H, I]);
      return;
    }
    add(`${p}mlp.gate.weight`, [E, H]);
    add(`${p}mlp.switch_mlp.gate_proj.weight`, [E, Im, H]);
    add(`${p}mlp.switch_mlp.up_proj.weight`, [E, Im, H]);
    add(`${p}mlp.switch_mlp.down_proj.weight`, [E, H, Im]);
    add(`${p}mlp.shared_expert.gate_proj.weight`, [Is, H]);
    add(`${p}mlp.shared_expert.up_proj.weight`, [Is, H]);
    add(`${p}mlp.shared_expert.down_proj.weight`, [H, Is]);
    add(`${p}mlp.shared_expert_gate.weight`, [1, H]);
  };

  add(`${P}embed_tokens.weight`, [t.vocab_size, H]);
  add(`${P}norm.weight`, [H]);
  const tied = t.tie_word_embeddings ?? config.tie_word_embeddings ?? false;
  if (!tied) add(next ? 'lm_head.weight' : 'language_model.lm_head.weight', [t.vocab_size, H]);
  for (let i = 0; i < L; i++) {
    const p = `${P}layers.${i}.`;
    add(`${p}input_layernorm.weight`, [H]);
    add(`${p}post_attention_layernorm.weight`, [H]);
    if (types[i] === 'linear_attention') {
      const la = `${p}linear_attn.`;
      if (next) {
        add(`${la}in_proj_qkvz.weight`, [2 * keyDim + 2 * valueDim, H]);
        add(`${la}in_proj_ba.weight`, [2 * nv, H]);
      } else {
        add(`${la}in_proj_qkv.weight`, [convDim, H]);
        add(`${la}in_proj_z.weight`, [valueDim, H]);
        add(`${la}in_proj_b.weight`, [nv, H]);
        add(`${la}in_proj_a.weight`, [nv, H]);
      }
      add(`${la}conv1d.weight`, [convDim, K, 1]);
      add(`${la}A_log`, [nv]);
      add(`${la}dt_bias`, [nv]);
      add(`${la}norm.weight`, [dv]);
      add(`${la}out_proj.weight`, [H, valueDim]);
    } else {
      attention(p);
    }
    mlp(p);
  }
  const mtpLayers = t.mtp_num_hidden_layers ?? (next ? 1 : 0);
  if (mtpLayers > 0) {
    const M = next ? 'mtp.' : 'language_model.mtp.';
    add(`${M}fc.weight`, [H, 2 * H]);
    add(`${M}pre_fc_norm_embedding.weight`, [H]);
    add(`${M}pre_fc_norm_hidden.weight`, [H]);
    add(`${M}norm.weight`, [H]);
    for (let j = 0; j < mtpLayers; j++) {
      const p = `${M}layers.${j}.`;
      add(`${p}input_layernorm.weight`, [H]);
      add(`${p}post_attention_layernorm.weight`, [H]);
      attention(p);
      mlp(p);
    }
  }
  return out;
}

/** Zero-centred norms (get +1 when sanitizing a raw checkpoint), by MLX name. */
export function isZeroCentredMlxNorm(name: string): boolean {
  return (
    /\.(input_layernorm|post_attention_layernorm|q_norm|k_norm|pre_fc_norm_hidden|pre_fc_norm_embedding)\.weight$/.test(name) ||
    /(^|\.)model\.norm\.weight$/.test(name) ||
    /(^|\.)mtp\.norm\.weight$/.test(name)
  );
}

/** Exact bf16 of (bf16 value + 1), via the f32 sum and round-to-nearest-even on the f32 bits. */
export function bf16PlusOne(bits: number): number {
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  u[0] = bits << 16;
  f[0] = f[0] + 1;
  const x = u[0];
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return 0x7fc0;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}
