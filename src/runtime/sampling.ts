/**
 * Token sampling as mlx-lm does it (ml-explore/mlx-lm mlx_lm/sample_utils.py make_sampler): greedy at
 * temperature 0; otherwise top-p then top-k filter the untempered log-probabilities, and the token is
 * drawn from softmax(logprobs / temp). `distribution` exposes the final probabilities so speculative
 * decoding can use the same rule for its target and draft distributions. Seeded, reproducible PRNG.
 */
import { InputError, MtpkitError } from '../errors';
import { seededRng, type Rng } from '../numeric/prng';

export interface SamplingOptions {
  /** 0 = greedy. */
  temp: number;
  /** Nucleus mass in (0, 1); 0 or >= 1 = off. */
  topP?: number;
  /** Keep the k most likely tokens; 0 = off. */
  topK?: number;
}

export function checkSamplingOptions(o: SamplingOptions): void {
  if (!(o.temp >= 0) || !Number.isFinite(o.temp)) throw new InputError(`temperature must be >= 0, got ${o.temp}`, { field: 'temp' });
  if (o.topP !== undefined && !(o.topP >= 0 && o.topP <= 1)) throw new InputError(`top-p must be in [0, 1], got ${o.topP}`, { field: 'top-p' });
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 0)) throw new InputError(`top-k must be a non-negative integer, got ${o.topK}`, { field: 'top-k' });
}

/** A NaN anywhere in the logits is an engine failure (exit 1), never a silently sampled token. */
export function checkLogits(logits: ArrayLike<number>, what = 'logits'): void {
  for (let i = 0; i < logits.length; i++) {
    if (Number.isNaN(logits[i])) throw new MtpkitError(`NaN in the ${what} (index ${i}): the weights or the engine produced an invalid value`);
  }
}

/** Index of the largest value; the lowest index on ties (as mlx argmax). */
export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** Deterministic PRNG (src/numeric/prng.ts): the same seed gives the same draws on every machine. */
export class Prng {
  private readonly rng: Rng;
  constructor(seed: number) {
    this.rng = seededRng(seed);
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.rng();
  }
}

/** log-softmax in float64. */
export function logSoftmax(logits: ArrayLike<number>): Float64Array {
  let mx = -Infinity;
  for (let i = 0; i < logits.length; i++) mx = Math.max(mx, logits[i]);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - mx);
  const lse = mx + Math.log(sum);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] - lse;
  return out;
}

/**
 * The probabilities the sampler draws from (temp > 0): top-p keeps the tokens whose ascending
 * cumulative probability exceeds 1 - top_p, top-k the k largest of what is left, then
 * softmax(logprobs / temp) over the survivors.
 */
export function distribution(logits: ArrayLike<number>, o: SamplingOptions): Float64Array {
  if (o.temp <= 0) throw new InputError('distribution() needs temp > 0 (temp 0 is greedy)', { field: 'temp' });
  const lp = logSoftmax(logits);
  const V = lp.length;
  const keep = new Uint8Array(V).fill(1);
  const topP = o.topP ?? 0;
  if (topP > 0 && topP < 1) {
    const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => lp[a] - lp[b] || a - b);
    let cum = 0;
    for (const i of order) {
      cum += Math.exp(lp[i]);
      if (!(cum > 1 - topP)) keep[i] = 0;
    }
  }
  const topK = o.topK ?? 0;
  if (topK > 0 && topK < V) {
    const order = Array.from({ length: V }, (_, i) => i).filter((i) => keep[i]).sort((a, b) => lp[b] - lp[a] || a - b);
    for (const i of order.slice(topK)) keep[i] = 0;
  }
  let mx = -Infinity;
  for (let i = 0; i < V; i++) if (keep[i]) mx = Math.max(mx, lp[i] / o.temp);
  const p = new Float64Array(V);
  let sum = 0;
  for (let i = 0; i < V; i++) {
    if (!keep[i]) continue;
    p[i] = Math.exp(lp[i] / o.temp - mx);
    sum += p[i];
  }
  for (let i = 0; i < V; i++) p[i] /= sum;
  return p;
}

/** Draws an index from probabilities `p` with one uniform number. */
export function drawFrom(p: ArrayLike<number>, u: number): number {
  let cum = 0;
  let last = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] <= 0) continue;
    cum += p[i];
    last = i;
    if (u < cum) return i;
  }
  return last; // rounding left u above the total mass
}

export type Sampler = (logits: ArrayLike<number>) => number;

export function makeSampler(o: SamplingOptions, seed = 0): Sampler {
  checkSamplingOptions(o);
  if (o.temp === 0) {
    return (logits) => {
      checkLogits(logits);
      return argmax(logits);
    };
  }
  const rng = new Prng(seed);
  return (logits) => {
    checkLogits(logits);
    return drawFrom(distribution(logits, o), rng.next());
  };
}
