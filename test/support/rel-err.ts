/** Worst row of max|a − b| / max|b| over consecutive rows of `width` values (default: one row). */
export function rowRelErr(a: Float32Array, b: Float32Array, width: number = b.length): number {
  if (a.length !== b.length) throw new Error(`compared arrays differ in length: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let r = 0; r < b.length / width; r++) {
    let d = 0;
    let m = 0;
    for (let i = r * width; i < (r + 1) * width; i++) {
      d = Math.max(d, Math.abs(a[i] - b[i]));
      m = Math.max(m, Math.abs(b[i]));
    }
    worst = Math.max(worst, d / m);
  }
  return worst;
}
