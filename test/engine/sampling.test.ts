/** Sampling against closed forms: greedy, top-p / top-k masks as mlx-lm applies them, temperature, seeds, NaN. */
import { MtpkitError, InputError } from '../../src/errors';
import { argmax, distribution, drawFrom, makeSampler, Prng } from '../../src/runtime/sampling';

const L = Math.log;
// Probabilities 0.1, 0.2, 0.3, 0.4 (as logits: their logs plus an arbitrary shift).
const logits = [L(0.1) + 3, L(0.2) + 3, L(0.3) + 3, L(0.4) + 3];

test('greedy picks the first maximum', () => {
  expect(argmax([1, 5, 5, 2])).toBe(1);
  const s = makeSampler({ temp: 0 });
  expect(s(logits)).toBe(3);
});

test('temperature 1 without filters is the softmax', () => {
  const p = distribution(logits, { temp: 1 });
  [0.1, 0.2, 0.3, 0.4].forEach((v, i) => expect(p[i]).toBeCloseTo(v, 12));
});

test('temperature scales log-probabilities: p_i ∝ p_i^(1/T)', () => {
  const p = distribution(logits, { temp: 0.5 });
  const z = 0.01 + 0.04 + 0.09 + 0.16;
  [0.01, 0.04, 0.09, 0.16].forEach((v, i) => expect(p[i]).toBeCloseTo(v / z, 12));
});

test('top-p keeps the smallest top set whose mass reaches p (ascending cumsum > 1 - p)', () => {
  // Ascending cumsum: 0.1, 0.3, 0.6, 1.0; top_p 0.7 keeps cumsum > 0.3 -> tokens 2 and 3.
  const p = distribution(logits, { temp: 1, topP: 0.7 });
  expect(Array.from(p).map((x) => +x.toFixed(12))).toEqual([0, 0, +(0.3 / 0.7).toFixed(12), +(0.4 / 0.7).toFixed(12)]);
});

test('top-k after top-p (mlx-lm order), then the tempered softmax over survivors', () => {
  const p = distribution(logits, { temp: 1, topP: 0.95, topK: 2 });
  // top-p 0.95 keeps cumsum > 0.05: all four; top-k 2 keeps 2 and 3.
  expect(p[0]).toBe(0);
  expect(p[1]).toBe(0);
  expect(p[2]).toBeCloseTo(3 / 7, 12);
  const q = distribution(logits, { temp: 1, topP: 0.35, topK: 3 });
  // top-p 0.35 keeps only token 3 (cumsum 1.0 > 0.65; 0.6 is not), so top-k has nothing more to drop.
  expect(Array.from(q)).toEqual([0, 0, 0, 1]);
});

test('drawFrom walks the cumulative mass in index order', () => {
  const p = [0, 0.25, 0, 0.75];
  expect(drawFrom(p, 0)).toBe(1);
  expect(drawFrom(p, 0.2499)).toBe(1);
  expect(drawFrom(p, 0.25)).toBe(3);
  expect(drawFrom(p, 0.99999999)).toBe(3);
});

test('a seed gives the same draws; draws follow the distribution', () => {
  const a = makeSampler({ temp: 1 }, 7);
  const b = makeSampler({ temp: 1 }, 7);
  const xs = Array.from({ length: 50 }, () => a(logits));
  expect(Array.from({ length: 50 }, () => b(logits))).toEqual(xs);
  const rng = new Prng(1);
  const counts = [0, 0, 0, 0];
  const n = 40000;
  const p = distribution(logits, { temp: 1 });
  for (let i = 0; i < n; i++) counts[drawFrom(p, rng.next())]++;
  counts.forEach((c, i) => expect(Math.abs(c / n - p[i])).toBeLessThan(0.01));
});

test('NaN in the logits is a failure (exit 1); bad options are InputErrors', () => {
  const s = makeSampler({ temp: 0 });
  let err: unknown;
  try {
    s([0, NaN, 1]);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(MtpkitError);
  expect((err as MtpkitError).exitCode).toBe(1);
  expect(() => makeSampler({ temp: -1 })).toThrow(InputError);
  expect(() => makeSampler({ temp: 1, topP: 2 })).toThrow(InputError);
  expect(() => makeSampler({ temp: 1, topK: 1.5 })).toThrow(InputError);
});
