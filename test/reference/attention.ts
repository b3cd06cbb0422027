/**
 * Causal softmax attention for one query position over a KV cache, with grouped KV heads: query head h
 * reads KV head floor(h / (nHeads / nKvHeads)) (MLX `scaled_dot_product_attention` groups query heads
 * that way). The cache holds every earlier position and the current one, so causality is "all of it".
 */
import type { Vec } from './ops';

export interface KvCache {
  /** One [nKvHeads * headDim] vector per position. */
  keys: Vec[];
  values: Vec[];
}

/**
 * q: [nHeads * headDim] for the newest position; returns [nHeads * headDim].
 * `upTo` (default: the whole cache) limits the keys read to positions [0, upTo).
 */
export function attendOne(
  q: ArrayLike<number>,
  cache: KvCache,
  nHeads: number,
  nKvHeads: number,
  headDim: number,
  scale: number,
  upTo: number = cache.keys.length,
): Vec {
  const rep = nHeads / nKvHeads;
  if (!Number.isInteger(rep)) throw new Error(`attention: ${nHeads} heads are not a multiple of ${nKvHeads} KV heads`);
  const out = new Float64Array(nHeads * headDim);
  const scores = new Float64Array(upTo);
  for (let h = 0; h < nHeads; h++) {
    const kvh = Math.floor(h / rep);
    let m = -Infinity;
    for (let p = 0; p < upTo; p++) {
      const k = cache.keys[p];
      let s = 0;
      for (let d = 0; d < headDim; d++) s += q[h * headDim + d] * k[kvh * headDim + d];
      scores[p] = s * scale;
      m = Math.max(m, scores[p]);
    }
    let z = 0;
    for (let p = 0; p < upTo; p++) {
      scores[p] = Math.exp(scores[p] - m);
      z += scores[p];
    }
    for (let p = 0; p < upTo; p++) {
      const v = cache.values[p];
      const w = scores[p] / z;
      for (let d = 0; d < headDim; d++) out[h * headDim + d] += w * v[kvh * headDim + d];
    }
  }
  return out;
}
