/** MoE routing: softmax over all experts, top-k, renormalisation, and the tie rule. */
import { routeTopK } from './moe-route';

test('top-k of the softmax, renormalised to sum 1 (or the raw probabilities without renormalisation)', () => {
  const logits = [0.1, 2.0, -1.0, 1.5];
  const z = logits.reduce((s, x) => s + Math.exp(x), 0);
  const p = logits.map((x) => Math.exp(x) / z);
  const raw = routeTopK(logits, 2, false);
  expect(raw.experts).toEqual([1, 3]);
  expect(raw.weights[0]).toBeCloseTo(p[1], 15);
  expect(raw.weights[1]).toBeCloseTo(p[3], 15);
  const norm = routeTopK(logits, 2, true);
  expect(norm.experts).toEqual([1, 3]);
  expect(norm.weights[0]).toBeCloseTo(p[1] / (p[1] + p[3]), 15);
  expect(norm.weights[0] + norm.weights[1]).toBeCloseTo(1, 15);
});

test('tied router logits: the lower expert index wins the last slot, tied experts get equal weights', () => {
  expect(routeTopK([0.5, 1, 1, 1], 2, true)).toEqual({ experts: [1, 2], weights: [0.5, 0.5] });
  expect(routeTopK([1, 1, 1, 1], 1, true).experts).toEqual([0]);
  const r = routeTopK([3, 1, 1, 0], 2, true);
  expect(r.experts).toEqual([0, 1]);
});
