/** Worst row of max|a − b| / max|b| over consecutive rows of `width` values (default: one row). */
export function rowRelErr(a: Float32Array, b: Float32Array, width: number = b.length): number {
  if (a.length !== b.length) throw new Error(`compared arrays differ in length: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let r = 0; r < b.length / width; r++) worst = Math.max(worst, spanRelErr(a, b, r * width, (r + 1) * width));
  return worst;
}

/** max|a − b| / max|b| over the values [from, to). */
export function spanRelErr(a: Float32Array, b: Float32Array, from: number, to: number): number {
  let d = 0;
  let m = 0;
  for (let i = from; i < to; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}
