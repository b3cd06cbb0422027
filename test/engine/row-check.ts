/**
 * Row-by-row comparison of native and reference outputs, with the tolerances the activation modes need.
 * A row the math determines must agree within TOL in f32 mode (fp32 vs float64 round-off) and within
 * TOL_Q8 in q8 mode. In q8 mode a row at or after the reference's first undetermined position
 * (test/reference/ops.ts Q8_UNDETERMINED: an int8 activation code close enough to a rounding midpoint that
 * the native engine's float32 activations may legitimately round it the other way) can carry code flips
 * of a full step d: such rows are held to FLIP_TOL only, which catches wiring errors (O(1)), not round-off.
 */
import type { ActivationMode } from '../../src/runtime/engine/activations';
import { spanRelErr } from '../support/rel-err';

export const TOL = 2e-5;
/**
 * q8 rows the math determines: y = Σ s·Σ d·I + Σ b·Σx sums two large terms of opposite sign (b ≈ −s·2^(bits−1)),
 * so float32 round-off is larger than in f32 mode, and a flip of a code with a small product is not
 * caught by Q8_UNDETERMINED's margin; measured <= 4e-5 on the fixtures.
 */
export const TOL_Q8 = 1e-4;
/**
 * Rows after an undetermined code: measured up to 8.9e-2 native vs reference over the format matrix, and
 * up to 1.1e-1 when the reference's own q8 inputs are perturbed by 1e-7 relative (about one fp32 ulp): a
 * flipped code changes one product by d·s·q, and the random tiny fixtures amplify it ~20x, as they amplify
 * fp32 round-off from 6e-8 to 2e-6. q8 vs f32 moves the logits by 5e-2..8e-2, so FLIP_TOL does not tell
 * the modes apart: the determined rows do (a reference computing affine linears in float while still
 * marking codes fails 18 of 20 affine q8 cases of one variant).
 */
export const FLIP_TOL = 0.3;

/** The tolerance of determined rows in each activation mode. */
export const tolFor = (mode: ActivationMode): number => (mode === 'q8' ? TOL_Q8 : TOL);

export interface RowStats {
  /** Rows held to TOL / to FLIP_TOL, and the worst error of each kind. */
  tight: number;
  flip: number;
  worstTight: number;
  worstFlip: number;
}

export const newStats = (): RowStats => ({ tight: 0, flip: 0, worstTight: 0, worstFlip: 0 });

/**
 * Compares rows of `width` values; row r sits at position firstPos + r, and rows from position
 * `undetermined` on get FLIP_TOL (Infinity = every row determined), the others `tol` (TOL, or TOL_Q8 in
 * q8 mode). Throws naming the first bad row.
 */
export function checkRows(what: string, a: Float32Array, b: Float32Array, width: number, firstPos: number, undetermined: number, stats: RowStats, tol = TOL): void {
  if (a.length !== b.length) throw new Error(`${what}: ${a.length} vs ${b.length} values`);
  for (let r = 0; r < b.length / width; r++) {
    const err = spanRelErr(a, b, r * width, (r + 1) * width);
    const tight = firstPos + r < undetermined;
    if (tight) {
      stats.tight++;
      stats.worstTight = Math.max(stats.worstTight, err);
    } else {
      stats.flip++;
      stats.worstFlip = Math.max(stats.worstFlip, err);
    }
    const bound = tight ? tol : FLIP_TOL;
    if (!(err < bound)) {
      throw new Error(`${what}: row ${r} (position ${firstPos + r}${tight ? '' : ', after a q8 code the math leaves undetermined'}): max|Δ|/max|ref| = ${err.toExponential(3)} ≥ ${bound}`);
    }
  }
}
