/** Causal attention with grouped KV heads against the same attention with the KV heads repeated. */
import { attendOne, type KvCache } from './attention';

function rand(n: number, seed: number): Float64Array {
  let s = seed;
  return Float64Array.from({ length: n }, () => {
    s = (s * 69069 + 1) % 4294967296;
    return s / 4294967296 - 0.5;
  });
}

const HD = 4;

test('GQA (4 query heads, 2 KV heads) equals MHA with each KV head repeated for its group', () => {
  const nH = 4;
  const nKv = 2;
  const gqa: KvCache = { keys: [], values: [] };
  const mha: KvCache = { keys: [], values: [] };
  for (let p = 0; p < 5; p++) {
    const k = rand(nKv * HD, 10 + p);
    const v = rand(nKv * HD, 20 + p);
    gqa.keys.push(k);
    gqa.values.push(v);
    // Query head h reads KV head floor(h / 2): heads 0,1 -> 0; 2,3 -> 1.
    const rep = (x: Float64Array): Float64Array => Float64Array.from({ length: nH * HD }, (_, i) => x[Math.floor(Math.floor(i / HD) / 2) * HD + (i % HD)]);
    mha.keys.push(rep(k));
    mha.values.push(rep(v));
  }
  const q = rand(nH * HD, 99);
  for (let upTo = 1; upTo <= 5; upTo++) {
    const a = attendOne(q, gqa, nH, nKv, HD, 0.5, upTo);
    const b = attendOne(q, mha, nH, nH, HD, 0.5, upTo);
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 14);
  }
});

test('one position returns its value; a zero query averages the values it may see', () => {
  const cache: KvCache = { keys: [rand(HD, 1), rand(HD, 2), rand(HD, 3)], values: [rand(HD, 4), rand(HD, 5), rand(HD, 6)] };
  expect(Array.from(attendOne(rand(HD, 7), cache, 1, 1, HD, 1, 1))).toEqual(Array.from(cache.values[0]));
  const avg = attendOne(new Float64Array(HD), cache, 1, 1, HD, 1, 2);
  for (let d = 0; d < HD; d++) expect(avg[d]).toBeCloseTo((cache.values[0][d] + cache.values[1][d]) / 2, 15);
});
