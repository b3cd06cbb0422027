/** The N-way cut of the output files: optimal (checked against brute force), contiguous, deterministic. */
import { splitBalanced } from '../../src/convert/partition';
import { partFromArgs } from '../../src/cli/part-spec';

/** Brute force: the least possible heaviest group over every contiguous split into at most n groups. */
function bestMax(w: number[], n: number): number {
  if (!w.length) return 0;
  if (n === 1) return w.reduce((a, x) => a + x, 0);
  let best = Infinity;
  let head = 0;
  for (let i = 1; i <= w.length; i++) {
    head += w[i - 1];
    best = Math.min(best, Math.max(head, bestMax(w.slice(i), n - 1)));
  }
  return best;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

test('splitBalanced: heaviest group as light as brute force; groups contiguous, in order, non-empty when possible', () => {
  const rnd = lcg(7);
  for (let trial = 0; trial < 300; trial++) {
    const len = Math.floor(rnd() * 9);
    const n = 1 + Math.floor(rnd() * 8);
    const w = Array.from({ length: len }, () => 1 + Math.floor(rnd() * (rnd() < 0.2 ? 1000 : 50)));
    const groups = splitBalanced(w, n);
    expect(groups).toHaveLength(n);
    expect(groups.flat()).toEqual(w.map((_, i) => i));
    const heaviest = Math.max(0, ...groups.map((g) => g.reduce((a, i) => a + w[i], 0)));
    expect([w, n, heaviest]).toEqual([w, n, bestMax(w, n)]);
    if (len >= n) expect(groups.every((g) => g.length > 0)).toBe(true);
    // Deterministic: the same input always gives the same cut.
    expect(splitBalanced([...w], n)).toEqual(groups);
  }
});

test('splitBalanced: equal files spread one-or-two per part; huge weights stay exact', () => {
  expect(splitBalanced([10, 10, 10, 10, 10, 10, 10, 10], 7).map((g) => g.length)).toEqual([2, 1, 1, 1, 1, 1, 1]);
  const big = 5 * 2 ** 30;
  expect(splitBalanced([big, big, big, 1], 2)).toEqual([[0, 1], [2, 3]]);
  expect(() => splitBalanced([1], 0)).toThrow(RangeError);
});

test('partFromArgs: i/N explicit, or --parts N with a 0-based index from the job engine', () => {
  expect(partFromArgs({ part: '3/7' }, {})).toEqual({ index: 3, count: 7 });
  expect(partFromArgs({}, { JOB_COMPLETION_INDEX: '0' })).toBeUndefined();
  expect(partFromArgs({ parts: 4 }, { JOB_COMPLETION_INDEX: '3' })).toEqual({ index: 4, count: 4 });
  expect(partFromArgs({ parts: 4 }, { MTPKIT_PART_INDEX: '0' })).toEqual({ index: 1, count: 4 });
  expect(() => partFromArgs({ parts: 4 }, { JOB_COMPLETION_INDEX: '-1' })).toThrow(/JOB_COMPLETION_INDEX/);
  expect(() => partFromArgs({ parts: 4 }, {})).toThrow(/needs --part i\/N or a part index/);
});
