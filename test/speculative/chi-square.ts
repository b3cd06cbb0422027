/** Pearson's chi-square goodness of fit, for the distribution tests of sampled speculative decoding. */

/** Pearson chi-square over cells with expected count >= 5 (the rest pooled into one cell). */
export function chiSquare(counts: number[], probs: Float64Array, n: number): { stat: number; df: number } {
  let stat = 0;
  let df = -1;
  let poolO = 0;
  let poolE = 0;
  for (let i = 0; i < probs.length; i++) {
    const e = probs[i] * n;
    if (e >= 5) {
      stat += (counts[i] - e) ** 2 / e;
      df++;
    } else {
      poolO += counts[i];
      poolE += e;
    }
  }
  if (poolE > 0) {
    stat += (poolO - poolE) ** 2 / Math.max(poolE, 1e-9);
    df++;
  }
  return { stat, df };
}

/** Upper 0.1 % point of chi-square(df), Wilson-Hilferty approximation (z = 3.0902). */
export function critical001(df: number): number {
  const a = 2 / (9 * df);
  return df * (1 - a + 3.0902 * Math.sqrt(a)) ** 3;
}
