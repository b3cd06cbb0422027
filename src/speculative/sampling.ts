/**
 * Row-wise views of the engine's sampling rule (src/runtime/sampling.ts, which follows mlx-lm:
 * top-p, then top-k on the temperature-1 log-probs, then temperature). Speculative acceptance needs
 * the very distribution a token is drawn from, so greedy is expressed as the one-hot argmax.
 */
import { argmax, distribution, drawFrom } from '../runtime/sampling';
import type { SamplingOptions } from '../runtime/sampling';

export type Sampler = SamplingOptions;

export const GREEDY: Readonly<Sampler> = { temp: 0 };

export function isGreedy(s: Sampler): boolean {
  return !(s.temp > 0);
}

function row(logits: ArrayLike<number>, offset: number, n: number): ArrayLike<number> {
  const typed = logits as Float32Array;
  return typeof typed.subarray === 'function' ? typed.subarray(offset, offset + n) : Array.prototype.slice.call(logits, offset, offset + n);
}

/** Index of the largest value in logits[offset, offset + n) (first one on ties). */
export function argmaxRow(logits: ArrayLike<number>, offset: number, n: number): number {
  return argmax(row(logits, offset, n));
}

/** The distribution a token is sampled from; for a greedy sampler the one-hot argmax. */
export function tokenDistribution(logits: ArrayLike<number>, offset: number, n: number, s: Sampler): Float64Array {
  if (!isGreedy(s)) return distribution(row(logits, offset, n), s);
  const out = new Float64Array(n);
  out[argmaxRow(logits, offset, n)] = 1;
  return out;
}

/** Inverse-CDF draw from normalized `probs` with a uniform u in [0, 1). */
export const sampleIndex = drawFrom;
