/**
 * One token through each kind of block, from the dequantized float64 weights (test-only reference).
 * Math: Hugging Face transformers `models/qwen3_5/modeling_qwen3_5.py`; where mlx-lm differs, mlx-lm
 * (ml-explore/mlx-lm `mlx_lm/models/qwen3_5.py`, `qwen3_next.py`, `gated_delta.py`):
 *  - GDN q/k normalisation in mlx-lm's form (rms_norm with eps on the mean, then dk^-1 / dk^-0.5);
 *  - every norm weight is used as stored (MLX artifacts hold the final gamma, `1 + w` folded in),
 *    the GDN output norm included.
 */
import { attendOne, type KvCache } from './attention';
import { gdnBeta, gdnDecay, gdnNormalizeQk, gdnStep } from './gated-delta';
import { routeTopK } from './moe-route';
import { add, linear, rmsNorm, sigmoid, silu, swiglu, type Mat, type Vec } from './ops';
import type { ReferenceConfig } from './reference-config';
import type { RefTensor } from './reference-weights';
import { applyPartialRope } from './rope';

/** The dequantized weights by canonical name, with shape-checked accessors. */
export class RefWeights {
  constructor(readonly map: Map<string, RefTensor>) {}

  has(name: string): boolean {
    return this.map.has(name);
  }

  vec(name: string): Float64Array {
    const t = this.map.get(name);
    if (!t) throw new Error(`reference: tensor '${name}' is missing`);
    return t.data;
  }

  /** A 2-D weight, or expert `expert` of a 3-D [E, out, in] one. */
  mat(name: string, expert?: number): Mat {
    const t = this.map.get(name);
    if (!t) throw new Error(`reference: tensor '${name}' is missing`);
    if (expert === undefined) {
      if (t.shape.length !== 2) throw new Error(`reference: '${name}' has shape [${t.shape}], expected 2-D`);
      return { rows: t.shape[0], cols: t.shape[1], data: t.data, q8: t.q8 };
    }
    if (t.shape.length !== 3) throw new Error(`reference: '${name}' has shape [${t.shape}], expected [E, out, in]`);
    const [, rows, cols] = t.shape;
    const n = rows * cols;
    const mat: Mat = { rows, cols, data: t.data.subarray(expert * n, (expert + 1) * n) };
    if (t.q8) {
      const ng = n / t.q8.groupSize;
      const { codes, scales, biases, groupSize } = t.q8;
      mat.q8 = { codes: codes.subarray(expert * n, (expert + 1) * n), scales: scales.subarray(expert * ng, (expert + 1) * ng), biases: biases.subarray(expert * ng, (expert + 1) * ng), groupSize };
    }
    return mat;
  }
}

/** GDN state of one layer: the last K-1 pre-conv inputs ([K-1][convDim]) and S ([nv][dk][dv]). */
export interface GdnState {
  conv: Float64Array;
  rec: Float64Array;
}

export function newGdnState(c: ReferenceConfig): GdnState {
  const convDim = 2 * c.nk * c.dk + c.nv * c.dv;
  return { conv: new Float64Array((c.convK - 1) * convDim), rec: new Float64Array(c.nv * c.dk * c.dv) };
}

/** Projections of one token into (mixed qkv [q all | k all | v all], z [nv*dv], b [nv], a [nv]). */
function gdnProjections(w: RefWeights, c: ReferenceConfig, p: string, x: Vec): { mixed: Vec; z: Vec; b: Vec; a: Vec } {
  if (c.architecture !== 'qwen3_next') {
    return {
      mixed: linear(w.mat(`${p}in_proj_qkv.weight`), x),
      z: linear(w.mat(`${p}in_proj_z.weight`), x),
      b: linear(w.mat(`${p}in_proj_b.weight`), x),
      a: linear(w.mat(`${p}in_proj_a.weight`), x),
    };
  }
  // Qwen3-Next: rows grouped per key head g: [q_g (dk) | k_g (dk) | v_g (r·dv) | z_g (r·dv)] and
  // [b_g (r) | a_g (r)] (mlx-lm `fix_query_key_value_ordering`); value head index = g·r + j.
  const { nk, nv, dk, dv } = c;
  const r = nv / nk;
  const qkvz = linear(w.mat(`${p}in_proj_qkvz.weight`), x);
  const ba = linear(w.mat(`${p}in_proj_ba.weight`), x);
  const keyDim = nk * dk;
  const mixed = new Float64Array(2 * keyDim + nv * dv);
  const z = new Float64Array(nv * dv);
  const b = new Float64Array(nv);
  const a = new Float64Array(nv);
  const gw = 2 * dk + 2 * r * dv;
  for (let g = 0; g < nk; g++) {
    const o = g * gw;
    for (let i = 0; i < dk; i++) {
      mixed[g * dk + i] = qkvz[o + i];
      mixed[keyDim + g * dk + i] = qkvz[o + dk + i];
    }
    for (let i = 0; i < r * dv; i++) {
      mixed[2 * keyDim + g * r * dv + i] = qkvz[o + 2 * dk + i];
      z[g * r * dv + i] = qkvz[o + 2 * dk + r * dv + i];
    }
    for (let j = 0; j < r; j++) {
      b[g * r + j] = ba[g * 2 * r + j];
      a[g * r + j] = ba[g * 2 * r + r + j];
    }
  }
  return { mixed, z, b, a };
}

/** Gated DeltaNet mixer for one token; updates `st` in place. `p` ends with `linear_attn.`. */
export function gdnMixer(w: RefWeights, c: ReferenceConfig, p: string, x: Vec, st: GdnState): Vec {
  const { nk, nv, dk, dv, convK } = c;
  const keyDim = nk * dk;
  const convDim = 2 * keyDim + nv * dv;
  const { mixed, z, b, a } = gdnProjections(w, c, p, x);
  // Causal depthwise conv over [K-1 cached inputs, this input]; MLX weight [convDim, K, 1]; tap K-1 = now.
  const conv = w.vec(`${p}conv1d.weight`);
  const y = new Float64Array(convDim);
  for (let ch = 0; ch < convDim; ch++) {
    let s = conv[ch * convK + convK - 1] * mixed[ch];
    for (let j = 0; j < convK - 1; j++) s += conv[ch * convK + j] * st.conv[j * convDim + ch];
    y[ch] = silu(s);
  }
  st.conv.copyWithin(0, convDim);
  st.conv.set(mixed, (convK - 2) * convDim);

  const q = new Float64Array(keyDim);
  const k = new Float64Array(keyDim);
  for (let h = 0; h < nk; h++) {
    const n = gdnNormalizeQk(y.subarray(h * dk, (h + 1) * dk), y.subarray(keyDim + h * dk, keyDim + (h + 1) * dk), dk);
    q.set(n.q, h * dk);
    k.set(n.k, h * dk);
  }
  const v = y.subarray(2 * keyDim);
  const aLog = w.vec(`${p}A_log`);
  const dtBias = w.vec(`${p}dt_bias`);
  const g = Float64Array.from({ length: nv }, (_, j) => gdnDecay(aLog[j], a[j], dtBias[j]));
  const o = gdnStep(st.rec, q, k, v, g, gdnBeta(b), { nk, nv, dk, dv });
  // Gated RMSNorm per value head: norm first (plain weight), then · silu(z).
  const nw = w.vec(`${p}norm.weight`);
  const gated = new Float64Array(nv * dv);
  for (let j = 0; j < nv; j++) {
    const n = rmsNorm(o.subarray(j * dv, (j + 1) * dv), nw, c.eps);
    for (let i = 0; i < dv; i++) gated[j * dv + i] = n[i] * silu(z[j * dv + i]);
  }
  return linear(w.mat(`${p}out_proj.weight`), gated);
}

/** Gated full attention for one token at `position`; appends its K/V to `cache`. `p` ends with `self_attn.`. */
export function attentionMixer(w: RefWeights, c: ReferenceConfig, p: string, x: Vec, position: number, cache: KvCache): Vec {
  const { nHeads, nKvHeads, headDim: hd, ropeDims, ropeTheta, eps } = c;
  const qg = linear(w.mat(`${p}q_proj.weight`), x);
  const qn = w.vec(`${p}q_norm.weight`);
  const kn = w.vec(`${p}k_norm.weight`);
  const q = new Float64Array(nHeads * hd);
  const gate = new Float64Array(nHeads * hd);
  for (let h = 0; h < nHeads; h++) {
    // Per head: [query (hd) | gate (hd)].
    const qh = rmsNorm(qg.subarray(h * 2 * hd, h * 2 * hd + hd), qn, eps);
    q.set(applyPartialRope(qh, position, ropeDims, ropeTheta), h * hd);
    gate.set(qg.subarray(h * 2 * hd + hd, (h + 1) * 2 * hd), h * hd);
  }
  const kr = linear(w.mat(`${p}k_proj.weight`), x);
  const v = linear(w.mat(`${p}v_proj.weight`), x);
  const k = new Float64Array(nKvHeads * hd);
  for (let h = 0; h < nKvHeads; h++) {
    k.set(applyPartialRope(rmsNorm(kr.subarray(h * hd, (h + 1) * hd), kn, eps), position, ropeDims, ropeTheta), h * hd);
  }
  if (cache.keys.length !== position) throw new Error(`reference: KV cache holds ${cache.keys.length} positions, writing position ${position}`);
  cache.keys.push(k);
  cache.values.push(v);
  const att = attendOne(q, cache, nHeads, nKvHeads, hd, 1 / Math.sqrt(hd));
  for (let i = 0; i < att.length; i++) att[i] *= sigmoid(gate[i]);
  return linear(w.mat(`${p}o_proj.weight`), att);
}

/** Dense SwiGLU or MoE (top-k of a softmax over all experts + sigmoid-gated shared expert). `p` ends with `mlp.`. */
export function mlpBlock(w: RefWeights, c: ReferenceConfig, p: string, x: Vec): Vec {
  if (!w.has(`${p}gate.weight`)) return swiglu(w.mat(`${p}gate_proj.weight`), w.mat(`${p}up_proj.weight`), w.mat(`${p}down_proj.weight`), x);
  const route = routeTopK(linear(w.mat(`${p}gate.weight`), x), c.topK, c.normTopK);
  const out = new Float64Array(x.length);
  route.experts.forEach((e, i) => {
    const y = swiglu(w.mat(`${p}switch_mlp.gate_proj.weight`, e), w.mat(`${p}switch_mlp.up_proj.weight`, e), w.mat(`${p}switch_mlp.down_proj.weight`, e), x);
    for (let d = 0; d < out.length; d++) out[d] += route.weights[i] * y[d];
  });
  const shared = swiglu(w.mat(`${p}shared_expert.gate_proj.weight`), w.mat(`${p}shared_expert.up_proj.weight`), w.mat(`${p}shared_expert.down_proj.weight`), x);
  const sg = sigmoid(linear(w.mat(`${p}shared_expert_gate.weight`), x)[0]);
  for (let d = 0; d < out.length; d++) out[d] += sg * shared[d];
  return out;
}

/** Pre-norm residual block: x + mixer(norm(x)), then + mlp(norm(·)). `p` ends with `layers.N.`. */
export function decoderLayer(w: RefWeights, c: ReferenceConfig, p: string, x: Vec, mixer: (h: Vec) => Vec): Vec {
  const h = add(x, mixer(rmsNorm(x, w.vec(`${p}input_layernorm.weight`), c.eps)));
  return add(h, mlpBlock(w, c, `${p}mlp.`, rmsNorm(h, w.vec(`${p}post_attention_layernorm.weight`), c.eps)));
}
