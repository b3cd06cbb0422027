/**
 * Seeded synthetic weights for the quantizer tests and benchmark: ordinary Gaussian groups plus the
 * adversarial groups that exercise every branch of MLX's algorithms (ties, constant, zero, one-signed,
 * subnormal, huge, outlier). Values are plain numbers; callers encode them to a dtype.
 */
import { gaussian, seededRng, type Rng } from '../../numeric/prng';
import type { FloatDType } from './types';

export { gaussian, seededRng, type Rng };

export const GROUP_KINDS = [
  'normal', // N(0, 0.02^2), the typical weight
  'wide', // N(0, 1) and N(0, 100^2)
  'codeTies', // (x - bias) / scale lands on k + 0.5
  'q0Ties', // edge / scale lands on k + 0.5 (the scale itself differs between cpu and metal)
  'constant',
  'zero', // +0 and -0
  'negative',
  'positive',
  'subnormal', // f16 subnormals and tiny f32 / bf16 values
  'huge', // near the f16 and bf16 maxima, one-signed (their range does not overflow fp32)
  'outlier', // one value 100x the rest
] as const;
export type GroupKind = (typeof GROUP_KINDS)[number];

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[Math.floor(rng() * xs.length)];
}

function shuffle(rng: Rng, xs: number[]): number[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/** One group of g values of the given kind, built for `bits`-bit affine codes. */
export function makeGroup(kind: GroupKind, g: number, bits: number, rng: Rng, dtype: FloatDType = 'F32'): number[] {
  const n = (1 << bits) - 1;
  const out: number[] = [];
  // A power of two keeps constructed values exact in every dtype.
  const p2 = 2 ** (Math.floor(rng() * 12) - 8);
  const sign = rng() < 0.5 ? -1 : 1;
  switch (kind) {
    case 'normal':
      for (let i = 0; i < g; i++) out.push(gaussian(rng, 0.02));
      return out;
    case 'wide': {
      const s = pick(rng, [1, 100]);
      for (let i = 0; i < g; i++) out.push(gaussian(rng, s));
      return out;
    }
    case 'codeTies': {
      // {0, n} fixes scale = -1, bias = n (before the sign flip), so j + 0.5 is a tie; few
      // significant bits keep the values exact in bf16.
      const top = Math.min(n, 127);
      out.push(0, top);
      for (let i = 2; i < g; i++) out.push(rng() < 0.6 ? Math.floor(rng() * top) + 0.5 : Math.floor(rng() * (top + 1)));
      return shuffle(rng, out.map((v) => sign * v * p2));
    }
    case 'q0Ties': {
      // range n gives scale0 = 1; w_max = k + 0.5 >= n/2 makes edge / scale0 a tie.
      const k = Math.ceil(n / 2) + Math.floor(rng() * 3);
      const hi = k + 0.5;
      const lo = hi - n;
      out.push(hi, lo);
      for (let i = 2; i < g; i++) out.push(lo + Math.floor(rng() * (n + 1)));
      return shuffle(rng, out.map((v) => sign * v * p2));
    }
    case 'constant': {
      const c = sign * Math.abs(gaussian(rng, 0.3)) + 0;
      return new Array<number>(g).fill(c);
    }
    case 'zero':
      for (let i = 0; i < g; i++) out.push(rng() < 0.5 ? 0 : -0);
      return out;
    case 'negative':
    case 'positive': {
      const s = kind === 'negative' ? -1 : 1;
      for (let i = 0; i < g; i++) out.push(s * (0.001 + Math.abs(gaussian(rng, 0.02))));
      return out;
    }
    case 'subnormal': {
      const scale = pick(rng, [2 ** -20, 2 ** -24, 1e-38, 1e-40, 1e-44]);
      for (let i = 0; i < g; i++) out.push(gaussian(rng, scale));
      return out;
    }
    case 'huge': {
      const top = dtype === 'F16' ? 65504 : pick(rng, [65504, 3.3e38, 1e30]);
      for (let i = 0; i < g; i++) out.push(sign * top * (0.25 + 0.75 * rng()));
      return out;
    }
    case 'outlier': {
      for (let i = 0; i < g; i++) out.push(gaussian(rng, 0.02));
      out[Math.floor(rng() * g)] = sign * 2;
      return out;
    }
  }
}

/** rows x cols values, group by group, cycling through `kinds`; finite once encoded to `dtype`. */
export function makeTensor(
  kinds: readonly GroupKind[],
  rows: number,
  cols: number,
  g: number,
  bits: number,
  seed: number,
  dtype: FloatDType = 'F32',
): number[] {
  const rng = seededRng(seed);
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < (rows * cols) / g; i++) out.push(...makeGroup(kinds[k++ % kinds.length], g, bits, rng, dtype));
  return out;
}
