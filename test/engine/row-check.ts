/**
 * Row-by-row comparison of native and reference outputs, with the two tolerances the activation modes
 * need. A row the math determines must agree within TOL (fp32 vs float64 round-off). In q8 mode a row at
 * or after the reference's first undetermined position (test/reference/ops.ts Q8_UNDETERMINED: an int8
 * activation code within 2e-4 of a rounding midpoint, which the native engine's float32 activations may
 * legitimately round the other way) carries one or more code flips of a full step d: those rows are held
 * to FLIP_TOL only, which still catches wiring errors (O(1)) but not round-off.
 */
export const TOL = 2e-5;
/**
 * Measured on the fixtures by perturbing the reference's own q8 inputs by 1e-7 relative (about one fp32
 * ulp): the logits move by up to 1.1e-1 (a flipped code changes one product by d·s·q, and the random
 * tiny fixtures amplify it ~20x, as they amplify fp32 round-off from 6e-8 to 2e-6). q8 vs f32 moves them
 * by 5e-2..8e-2, so FLIP_TOL does not tell the modes apart: the determined rows do.
 */
export const FLIP_TOL = 0.3;

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
 * `undetermined` on get FLIP_TOL (Infinity = every row determined). Throws naming the first bad row.
 */
export function checkRows(what: string, a: Float32Array, b: Float32Array, width: number, firstPos: number, undetermined: number, stats: RowStats): void {
  if (a.length !== b.length) throw new Error(`${what}: ${a.length} vs ${b.length} values`);
  for (let r = 0; r < b.length / width; r++) {
    let d = 0;
    let m = 0;
    for (let i = r * width; i < (r + 1) * width; i++) {
      d = Math.max(d, Math.abs(a[i] - b[i]));
      m = Math.max(m, Math.abs(b[i]));
    }
    const err = d / m;
    const tight = firstPos + r < undetermined;
    if (tight) {
      stats.tight++;
      stats.worstTight = Math.max(stats.worstTight, err);
    } else {
      stats.flip++;
      stats.worstFlip = Math.max(stats.worstFlip, err);
    }
    const tol = tight ? TOL : FLIP_TOL;
    if (!(err < tol)) {
      throw new Error(`${what}: row ${r} (position ${firstPos + r}${tight ? '' : ', after a q8 code the math leaves undetermined'}): max|Δ|/max|ref| = ${err.toExponential(3)} ≥ ${tol}`);
    }
  }
}
