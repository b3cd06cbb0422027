/**
 * Exact speculative acceptance (Leviathan et al. 2022, "Fast Inference from Transformers via
 * Speculative Decoding", §2.3): accept a draft d ~ q with probability min(1, p(d)/q(d)); on rejection
 * draw from the residual norm(max(0, p - q)). The output is then distributed exactly as p. Greedy is
 * the special case where p and q are one-hot.
 */
import { sampleIndex } from './sampling';
import type { Uniform } from './rng';

export interface AcceptDecision {
  accepted: boolean;
  /** On rejection: the token emitted instead (the correction). */
  correction?: number;
}

/** Decides one draft. `p` is the target row, `q` the distribution the draft was drawn from. */
export function decideDraft(p: Float64Array, q: Float64Array, draft: number, uniform: Uniform): AcceptDecision {
  const pd = p[draft];
  const qd = q[draft];
  // q(d) = 0 cannot happen for a drawn token; treat it as "p covers it" (MTPLX accepts when p > 0).
  const ratio = qd > 0 ? pd / qd : pd > 0 ? 1 : 0;
  if (ratio >= 1 || uniform() < ratio) return { accepted: true };
  return { accepted: false, correction: sampleIndex(residual(p, q), uniform()) };
}

/** norm(max(0, p - q)); falls back to p when nothing is left (p <= q everywhere, up to rounding). */
export function residual(p: Float64Array, q: Float64Array): Float64Array {
  const r = new Float64Array(p.length);
  let z = 0;
  for (let i = 0; i < p.length; i++) {
    const v = p[i] - q[i];
    if (v > 0) {
      r[i] = v;
      z += v;
    }
  }
  if (!(z > 1e-12)) return Float64Array.from(p);
  for (let i = 0; i < r.length; i++) r[i] /= z;
  return r;
}
