/** Partial RoPE against its defining properties (rotation: norm kept, relative positions, pass-through dims). */
import { applyPartialRope } from './rope';

function rand(n: number, seed: number): Float64Array {
  let s = seed;
  return Float64Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  });
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => Array.from(a).reduce((s, x, i) => s + x * b[i], 0);
const HD = 32;
const DIMS = 8;
const BASE = 1e7;

test('rotating keeps the norm of the rotated part and leaves dims beyond it unchanged', () => {
  const x = rand(HD, 1);
  for (const pos of [0, 1, 7, 1000, 123456]) {
    const y = applyPartialRope(x, pos, DIMS, BASE);
    expect(dot(y.subarray(0, DIMS), y.subarray(0, DIMS))).toBeCloseTo(dot(x.subarray(0, DIMS), x.subarray(0, DIMS)), 12);
    expect(Array.from(y.subarray(DIMS))).toEqual(Array.from(x.subarray(DIMS)));
  }
  expect(Array.from(applyPartialRope(x, 0, DIMS, BASE))).toEqual(Array.from(x));
});

test('q·k after rotation depends only on the position difference', () => {
  const q = rand(HD, 2);
  const k = rand(HD, 3);
  for (const delta of [0, 1, 5, 40]) {
    const ref = dot(applyPartialRope(q, delta, DIMS, BASE), applyPartialRope(k, 0, DIMS, BASE));
    for (const start of [1, 17, 3000]) {
      expect(dot(applyPartialRope(q, start + delta, DIMS, BASE), applyPartialRope(k, start, DIMS, BASE))).toBeCloseTo(ref, 10);
    }
  }
});

test('pair (i, i + dims/2) turns by position · base^(-2i/dims) (rotate-half, not interleaved)', () => {
  const x = new Float64Array(HD);
  x[1] = 1; // pair (1, 5)
  const pos = 3;
  const angle = pos * Math.pow(BASE, -2 / DIMS);
  const y = applyPartialRope(x, pos, DIMS, BASE);
  expect(y[1]).toBeCloseTo(Math.cos(angle), 14);
  expect(y[1 + DIMS / 2]).toBeCloseTo(Math.sin(angle), 14);
  expect(y[2]).toBe(0);
});
