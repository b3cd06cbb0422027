/** RMSNorm variants against closed forms. */
import { rmsNorm, rmsNormZeroCentred } from './ops';

test('a constant vector normalises to the weight (up to eps)', () => {
  const w = [0.5, 2, -1];
  const y = rmsNorm([3, 3, 3], w, 0);
  expect(Array.from(y)).toEqual(w.map((x) => x));
  const withEps = rmsNorm([3, 3, 3], w, 1e-6);
  expect(withEps[1]).toBeCloseTo(2 * 3 / Math.sqrt(9 + 1e-6), 15);
});

test('zero-centred (HF, 1 + w) equals the plain norm with the folded weight (MLX artifacts store 1 + w)', () => {
  const x = [0.1, -0.4, 2.5, 0];
  const delta = [0.01, -0.2, 0, 0.3];
  const a = rmsNormZeroCentred(x, delta, 1e-6);
  const b = rmsNorm(x, delta.map((d) => 1 + d), 1e-6);
  expect(Array.from(a)).toEqual(Array.from(b));
  const rms = Math.sqrt(x.reduce((s, v) => s + v * v, 0) / 4 + 1e-6);
  for (let i = 0; i < 4; i++) expect(a[i]).toBeCloseTo((x[i] / rms) * (1 + delta[i]), 15);
});

test('scale invariance once eps is negligible', () => {
  const x = [1, 2, 3, 4];
  const a = rmsNorm(x, undefined, 1e-6);
  const b = rmsNorm(x.map((v) => v * 1000), undefined, 1e-6);
  for (let i = 0; i < 4; i++) expect(b[i]).toBeCloseTo(a[i], 6);
});
