/**
 * Token distributions for decoding, as plain functions over one row of logits.
 *
 * Written here because the engine branch has no sampling module yet. The filter order follows
 * mlx-lm (ml-explore/mlx-lm mlx_lm/sample_utils.py, `make_sampler`): top-p, then top-k, both on the
 * temperature-1 log-probabilities, then the survivors are sampled at `temperature`. Speculative
 * acceptance needs the very distribution a token is drawn from, so `tokenDistribution` returns it
 * whole (float64) and sampling is a separate inverse-CDF draw.
 */

export interface Sampler {
  /** 0 = greedy (argmax). */
  temperature: number;
  /** Nucleus mass in (0, 1); 0 or >= 1 disables it. */
  topP?: number;
  /** Keep the k most likely tokens; 0 disables it. */
  topK?: number;
}

export const GREEDY: Readonly<Sampler> = { temperature: 0 };

export function isGreedy(s: Sampler): boolean {
  return !(s.temperature > 0);
}

/** Index of the largest value in logits[offset, offset + n) (first one on ties). */
export function argmaxRow(logits: ArrayLike<number>, offset: number, n: number): number {
  let best = 0;
  let bestV = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = logits[offset + i];
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  return best;
}

/**
 * The distribution a token is sampled from: softmax of the filtered log-probs divided by the
 * temperature. For a greedy sampler it is the one-hot argmax (what greedy "samples").
 */
export function tokenDistribution(logits: ArrayLike<number>, offset: number, n: number, s: Sampler): Float64Array {
  const out = new Float64Array(n);
  if (isGreedy(s)) {
    out[argmaxRow(logits, offset, n)] = 1;
    return out;
  }
  // Temperature-1 probabilities decide which tokens survive the filters.
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[offset + i]);
  let z = 0;
  for (let i = 0; i < n; i++) z += (out[i] = Math.exp(logits[offset + i] - max));
  for (let i = 0; i < n; i++) out[i] /= z;
  const keep = new Uint8Array(n).fill(1);
  const topP = s.topP ?? 0;
  const topK = s.topK ?? 0;
  if ((topP > 0 && topP < 1) || (topK > 0 && topK < n)) {
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => out[a] - out[b] || b - a);
    if (topP > 0 && topP < 1) {
      // mlx-lm keeps a token when the ascending cumulative mass up to it exceeds 1 - top_p.
      let cum = 0;
      for (const i of order) {
        cum += out[i];
        if (!(cum > 1 - topP)) keep[i] = 0;
      }
    }
    if (topK > 0 && topK < n) {
      for (let r = 0; r < n - topK; r++) keep[order[r]] = 0;
    }
  }
  // Sample at temperature over the survivors.
  let m2 = -Infinity;
  for (let i = 0; i < n; i++) if (keep[i]) m2 = Math.max(m2, logits[offset + i] / s.temperature);
  let z2 = 0;
  for (let i = 0; i < n; i++) {
    out[i] = keep[i] ? Math.exp(logits[offset + i] / s.temperature - m2) : 0;
    z2 += out[i];
  }
  for (let i = 0; i < n; i++) out[i] /= z2;
  return out;
}

/** Inverse-CDF draw from `probs` with a uniform u in [0, 1). */
export function sampleIndex(probs: ArrayLike<number>, u: number): number {
  let total = 0;
  for (let i = 0; i < probs.length; i++) total += probs[i];
  const target = u * total;
  let cum = 0;
  let last = -1;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] <= 0) continue;
    cum += probs[i];
    last = i;
    if (target < cum) return i;
  }
  return last; // rounding left u*total just above the final cumulative sum
}
