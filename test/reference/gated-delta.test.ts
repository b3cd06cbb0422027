/**
 * The token-by-token GDN recurrence against closed forms computed independently:
 *  - dk = dv = 1: S_T = Σ_t β_t k_t v_t Π_{s>t} g_s (1 − β_s k_s²), o_t = q_t S_t;
 *  - dk = 2, dv = 1: S_t = g_t (I − β_t k_t k_tᵀ) S_{t−1} + β_t k_t v_t as explicit 2×2 matrix products.
 * Over odd lengths (1, 3, 65, 100 tokens), and the GQA head mapping of value heads to key heads.
 */
import { gdnDecay, gdnNormalizeQk, gdnStep } from './gated-delta';

function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

interface Tok {
  q: number[];
  k: number[];
  v: number[];
  g: number;
  beta: number;
}

function tokens(n: number, dk: number, seed: number): Tok[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => ({
    q: Array.from({ length: dk }, () => r() - 0.5),
    k: Array.from({ length: dk }, () => (r() - 0.5) * 1.2),
    v: [r() - 0.5],
    g: 0.6 + 0.4 * r(),
    beta: r(),
  }));
}

describe.each([1, 3, 65, 100])('%i tokens', (T) => {
  test('dk = dv = 1: state and outputs equal the unrolled sum', () => {
    const toks = tokens(T, 1, T);
    const state = new Float64Array(1);
    toks.forEach((t, i) => {
      const o = gdnStep(state, t.q, t.k, t.v, [t.g], [t.beta], { nk: 1, nv: 1, dk: 1, dv: 1 });
      let s = 0;
      for (let a = 0; a <= i; a++) {
        let prod = toks[a].beta * toks[a].k[0] * toks[a].v[0];
        for (let b = a + 1; b <= i; b++) prod *= toks[b].g * (1 - toks[b].beta * toks[b].k[0] ** 2);
        s += prod;
      }
      expect(state[0]).toBeCloseTo(s, 12);
      expect(o[0]).toBeCloseTo(t.q[0] * s, 12);
    });
  });

  test('dk = 2, dv = 1: state equals the matrix form g (I − β k kᵀ) S + β k v', () => {
    const toks = tokens(T, 2, 1000 + T);
    const state = new Float64Array(2);
    let S = [0, 0];
    for (const t of toks) {
      const o = gdnStep(state, t.q, t.k, t.v, [t.g], [t.beta], { nk: 1, nv: 1, dk: 2, dv: 1 });
      const [k0, k1] = t.k;
      const m = [
        [1 - t.beta * k0 * k0, -t.beta * k0 * k1],
        [-t.beta * k1 * k0, 1 - t.beta * k1 * k1],
      ];
      S = [
        t.g * (m[0][0] * S[0] + m[0][1] * S[1]) + t.beta * k0 * t.v[0],
        t.g * (m[1][0] * S[0] + m[1][1] * S[1]) + t.beta * k1 * t.v[0],
      ];
      expect(state[0]).toBeCloseTo(S[0], 12);
      expect(state[1]).toBeCloseTo(S[1], 12);
      expect(o[0]).toBeCloseTo(t.q[0] * S[0] + t.q[1] * S[1], 12);
    }
  });
});

test('value heads j = 0, 1 both read key head 0 when nv = 2 nk (not tiled)', () => {
  // nk = 2, nv = 4: value heads 0,1 -> key head 0; 2,3 -> key head 1.
  const r = rng(5);
  const dims = { nk: 2, nv: 4, dk: 2, dv: 1 };
  const state = new Float64Array(4 * 2);
  const single = Array.from({ length: 4 }, () => new Float64Array(2));
  for (let t = 0; t < 7; t++) {
    const q = Array.from({ length: 4 }, () => r() - 0.5);
    const k = Array.from({ length: 4 }, () => r() - 0.5);
    const v = Array.from({ length: 4 }, () => r() - 0.5);
    const g = Array.from({ length: 4 }, () => 0.5 + r() / 2);
    const beta = Array.from({ length: 4 }, () => r());
    const o = gdnStep(state, q, k, v, g, beta, dims);
    for (let j = 0; j < 4; j++) {
      const kh = j < 2 ? 0 : 1;
      const oj = gdnStep(single[j], q.slice(kh * 2, kh * 2 + 2), k.slice(kh * 2, kh * 2 + 2), [v[j]], [g[j]], [beta[j]], { nk: 1, nv: 1, dk: 2, dv: 1 });
      expect(o[j]).toBe(oj[0]);
    }
  }
});

test('decay g = exp(−exp(A_log) · softplus(a + dt_bias))', () => {
  expect(gdnDecay(Math.log(2), 0.3, 0.7)).toBeCloseTo(Math.exp(-2 * Math.log(1 + Math.exp(1))), 15);
  expect(gdnDecay(0, 50, 0)).toBeCloseTo(Math.exp(-50), 20);
});

test("mlx-lm's q/k normalisation equals the HF l2norm form with eps · dk on the sum of squares", () => {
  const dk = 4;
  const q = [0.3, -0.1, 0.02, 0.5];
  const k = [1e-3, -2e-3, 5e-4, 0];
  const n = gdnNormalizeQk(q, k, dk);
  const l2 = (x: number[], eps: number): number[] => {
    const s = x.reduce((a, b) => a + b * b, 0);
    return x.map((v) => v / Math.sqrt(s + eps));
  };
  const hq = l2(q, dk * 1e-6).map((v) => v / Math.sqrt(dk));
  const hk = l2(k, dk * 1e-6);
  for (let i = 0; i < dk; i++) {
    expect(n.q[i]).toBeCloseTo(hq[i], 14);
    expect(n.k[i]).toBeCloseTo(hk[i], 14);
  }
});
