/**
 * Gated DeltaNet, token by token (the chunk-free definition): mlx-lm `_gated_delta_step_ops`
 * (ml-explore/mlx-lm `mlx_lm/models/gated_delta.py`). Per value head, state S[dk][dv], initially zero:
 *   S ← S · g;  kv = Sᵀk;  δ = (v − kv) · β;  S ← S + k δᵀ;  o = Sᵀq   (read from the UPDATED state)
 * with g = exp(−exp(A_log) · softplus(a + dt_bias)) and β = sigmoid(b).
 */
import { rmsNorm, sigmoid, softplus, type Vec } from './ops';

export interface GdnDims {
  nk: number;
  nv: number;
  dk: number;
  dv: number;
}

/** Decay factor g (in (0, 1]) of one value head. */
export function gdnDecay(aLog: number, a: number, dtBias: number): number {
  return Math.exp(-Math.exp(aLog) * softplus(a + dtBias));
}

/**
 * mlx-lm's q/k normalisation (`qwen3_next.py`): q = dk^-1 · rms_norm(q, 1e-6), k = dk^-0.5 · rms_norm(k, 1e-6).
 * The HF form l2norm(x) · (dk^-0.5 for q) differs only by where eps sits (mean vs sum of squares).
 */
export function gdnNormalizeQk(q: ArrayLike<number>, k: ArrayLike<number>, dk: number): { q: Vec; k: Vec } {
  const qn = rmsNorm(q, undefined, 1e-6);
  const kn = rmsNorm(k, undefined, 1e-6);
  for (let i = 0; i < qn.length; i++) qn[i] /= dk;
  const ks = 1 / Math.sqrt(dk);
  for (let i = 0; i < kn.length; i++) kn[i] *= ks;
  return { q: qn, k: kn };
}

/**
 * One token through the recurrence, updating `state` ([nv][dk][dv] flattened) in place.
 * q, k: [nk * dk] (already normalised); v: [nv * dv]; g, beta: [nv]. Returns o: [nv * dv].
 * Value head j reads key head floor(j / (nv / nk)) (HF `repeat_interleave`, mlx-lm `mx.repeat`).
 */
export function gdnStep(
  state: Float64Array,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  g: ArrayLike<number>,
  beta: ArrayLike<number>,
  dims: GdnDims,
): Vec {
  const { nk, nv, dk, dv } = dims;
  const rep = nv / nk;
  const o = new Float64Array(nv * dv);
  for (let j = 0; j < nv; j++) {
    const kh = Math.floor(j / rep);
    const S = j * dk * dv;
    for (let a = 0; a < dk * dv; a++) state[S + a] *= g[j];
    for (let c = 0; c < dv; c++) {
      let kv = 0;
      for (let a = 0; a < dk; a++) kv += state[S + a * dv + c] * k[kh * dk + a];
      const delta = (v[j * dv + c] - kv) * beta[j];
      for (let a = 0; a < dk; a++) state[S + a * dv + c] += k[kh * dk + a] * delta;
      let out = 0;
      for (let a = 0; a < dk; a++) out += state[S + a * dv + c] * q[kh * dk + a];
      o[j * dv + c] = out;
    }
  }
  return o;
}

/** β = sigmoid(b) per value head. */
export function gdnBeta(b: ArrayLike<number>): Vec {
  return Float64Array.from(b, sigmoid);
}
