/**
 * The q8 row quantizer against values worked out by hand, against an oracle (each code is the
 * nearest integer to x/d with ties to even) and at its edges: zero block, extremes, subnormals, NaN.
 */
import { QB, q8AffineDot, quantizeActivationRow, roundTiesToEven } from '../../src/numeric/q8-activations';
import { InputError } from '../../src/errors';
import { seededRng } from '../../src/numeric/prng';

function quantize(x: Float32Array): { xq: Int8Array; d: Float32Array } {
  const xq = new Int8Array(x.length);
  const d = new Float32Array(x.length / QB);
  quantizeActivationRow(x, 0, x.length, xq, d);
  return { xq, d };
}

describe('roundTiesToEven', () => {
  test.each([
    [0.5, 0],
    [1.5, 2],
    [2.5, 2],
    [-0.5, 0],
    [-1.5, -2],
    [-2.5, -2],
    [126.5, 126],
    [-126.5, -126],
    [0.49999997, 0],
    [2.5000002, 3],
    [-3.7, -4],
    [7, 7],
  ])('%p -> %p', (v, r) => {
    expect(roundTiesToEven(v) + 0).toBe(r);
  });
});

describe('quantizeActivationRow', () => {
  test('ties go to the even code', () => {
    // amax = 127 makes d = 1 exactly, so x / d = x and the halves are exact ties.
    const x = new Float32Array(QB);
    x.set([127, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5]);
    const { xq, d } = quantize(x);
    expect(d[0]).toBe(1);
    expect(Array.from(xq.subarray(0, 8))).toEqual([127, 0, 2, 2, 0, -2, -2, 4]);
  });

  test('zero block gives d = 0 and zero codes, next block is independent', () => {
    const x = new Float32Array(2 * QB);
    x[QB] = -2;
    x[QB + 1] = 1;
    const { xq, d } = quantize(x);
    expect(d[0]).toBe(0);
    expect(xq.subarray(0, QB).every((v) => v === 0)).toBe(true);
    expect(d[1]).toBe(Math.fround(2 / 127));
    expect(xq[QB]).toBe(-127);
    expect(xq[QB + 1]).toBe(64); // fround(1 / fround(2/127)) is exactly 63.5: a tie, to the even 64
  });

  test('extremes: largest floats map to +-127, and the clamp holds for coarse subnormal steps', () => {
    const big = 3.4028234663852886e38;
    const { xq, d } = quantize(Float32Array.from({ length: QB }, (_, i) => (i % 2 ? big : -big)));
    expect(d[0]).toBe(Math.fround(big / 127));
    expect(xq.every((v, i) => v === (i % 2 ? 127 : -127))).toBe(true);
    // amax = 190 subnormal units: d rounds to 1 unit and x / d = 190, which must clamp to 127.
    const unit = 2 ** -149;
    const sub = quantize(Float32Array.from({ length: QB }, (_, i) => (i === 0 ? 190 * unit : i === 1 ? -190 * unit : 0)));
    expect(sub.d[0]).toBe(unit);
    expect([sub.xq[0], sub.xq[1]]).toEqual([127, -127]);
    // amax below 63.5 units: d underflows to 0, the block is zero.
    const tiny = quantize(Float32Array.from({ length: QB }, (_, i) => (i === 0 ? 63 * unit : 0)));
    expect(tiny.d[0]).toBe(0);
    expect(tiny.xq[0]).toBe(0);
  });

  test('NaN or Inf in a block makes d NaN and the codes 0; other blocks unaffected', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const x = new Float32Array(2 * QB).fill(1);
      x[QB + 5] = bad;
      const { xq, d } = quantize(x);
      expect(d[0]).toBe(Math.fround(1 / 127));
      expect(xq.subarray(0, QB).every((v) => v === 127)).toBe(true);
      expect(Number.isNaN(d[1])).toBe(true);
      expect(xq.subarray(QB).every((v) => v === 0)).toBe(true);
    }
  });

  test('random rows: each code is the nearest integer to fround(x / d) (oracle), |code| <= 127', () => {
    const rng = seededRng(7);
    const K = 4 * QB;
    const x = new Float32Array(3 * K);
    for (let i = 0; i < x.length; i++) x[i] = (rng() - 0.5) * 10 ** Math.floor(rng() * 8 - 4);
    const xq = new Int8Array(x.length);
    const d = new Float32Array(x.length / QB);
    for (let m = 0; m < 3; m++) quantizeActivationRow(x, m * K, K, xq, d);
    for (let j = 0; j < d.length; j++) {
      let amax = 0;
      for (let i = j * QB; i < (j + 1) * QB; i++) amax = Math.max(amax, Math.abs(x[i]));
      expect(d[j]).toBe(Math.fround(amax / 127));
      for (let i = j * QB; i < (j + 1) * QB; i++) {
        const r = Math.fround(x[i] / d[j]);
        expect(Math.abs(xq[i])).toBeLessThanOrEqual(127);
        expect(Math.abs(r - xq[i])).toBeLessThanOrEqual(0.5);
        if (Math.abs(r - xq[i]) === 0.5) expect(xq[i] % 2).toBe(0);
      }
    }
  });

  test('K not a multiple of QB is an input error', () => {
    expect(() => quantizeActivationRow(new Float32Array(QB + 1), 0, QB + 1, new Int8Array(QB + 1), new Float32Array(2))).toThrow(InputError);
  });
});

describe('q8AffineDot', () => {
  test('matches the float dot product of dequantized weights within the quantization error', () => {
    const rng = seededRng(3);
    const K = 128;
    const group = 64;
    const codes = Array.from({ length: K }, () => Math.floor(rng() * 16));
    const scales = [0.02, -0.03];
    const biases = [-0.1, 0.2];
    const x = Float32Array.from({ length: K }, () => rng() * 2 - 1);
    const { xq, d } = quantize(x);
    let exact = 0;
    let bound = 0;
    for (let k = 0; k < K; k++) {
      const g = Math.floor(k / group);
      exact += (scales[g] * codes[k] + biases[g]) * x[k];
      // |x - d*xq| <= d/2 per element, weighted by |s * q|
      bound += Math.abs(scales[g] * codes[k]) * (d[Math.floor(k / QB)] / 2);
    }
    const y = q8AffineDot(codes, scales, biases, group, x, xq, d, 0, K);
    expect(Math.abs(y - exact)).toBeLessThanOrEqual(bound * (1 + 1e-9));
    expect(y).not.toBe(exact);
  });
});
