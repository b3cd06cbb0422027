import { argmaxRow, sampleIndex, tokenDistribution } from '../../src/speculative/sampling';
import { residual } from '../../src/speculative/acceptance';

const logp = (ps: number[]) => ps.map(Math.log);

describe('tokenDistribution (mlx-lm order: top-p, then top-k, then temperature)', () => {
  it('greedy is the one-hot argmax, first index on ties', () => {
    expect(Array.from(tokenDistribution([1, 3, 3, 0], 0, 4, { temp: 0 }))).toEqual([0, 1, 0, 0]);
    expect(argmaxRow([0, 9, 1, 2, 9], 1, 4)).toBe(0);
  });

  it('temperature 1 without filters is the softmax', () => {
    const d = tokenDistribution(logp([0.5, 0.3, 0.15, 0.05]), 0, 4, { temp: 1 });
    [0.5, 0.3, 0.15, 0.05].forEach((p, i) => expect(d[i]).toBeCloseTo(p, 12));
  });

  it('top-p keeps the smallest head whose mass exceeds top_p, measured at temperature 1', () => {
    // ascending cumulative: 0.05, 0.2, 0.5, 1.0; kept where > 1 - 0.7 = 0.3: the 0.3 and 0.5 tokens.
    const d = tokenDistribution(logp([0.5, 0.3, 0.15, 0.05]), 0, 4, { temp: 1, topP: 0.7 });
    expect(d[0]).toBeCloseTo(0.5 / 0.8, 12);
    expect(d[1]).toBeCloseTo(0.3 / 0.8, 12);
    expect(d[2]).toBe(0);
    expect(d[3]).toBe(0);
    // At temperature 2 the same two survive (filters see temperature-1 mass), reweighted by sqrt.
    const t2 = tokenDistribution(logp([0.5, 0.3, 0.15, 0.05]), 0, 4, { temp: 2, topP: 0.7 });
    const z = Math.sqrt(0.5) + Math.sqrt(0.3);
    expect(t2[0]).toBeCloseTo(Math.sqrt(0.5) / z, 12);
    expect(t2[2]).toBe(0);
  });

  it('top-p runs before top-k', () => {
    // top-p 0.95 keeps 0.5, 0.3, 0.15 (cum from bottom 0.05 is not > 0.05), then top-k 2 keeps 0.5, 0.3.
    const d = tokenDistribution(logp([0.15, 0.05, 0.5, 0.3]), 0, 4, { temp: 1, topP: 0.95, topK: 2 });
    expect(d[2]).toBeCloseTo(0.5 / 0.8, 12);
    expect(d[3]).toBeCloseTo(0.3 / 0.8, 12);
    expect(d[0] + d[1]).toBe(0);
  });

  it('reads the row at the given offset', () => {
    const d = tokenDistribution([9, 9, ...logp([0.25, 0.75])], 2, 2, { temp: 1 });
    expect(d[1]).toBeCloseTo(0.75, 12);
  });
});

describe('sampleIndex and residual', () => {
  it('inverse CDF skips zero-probability tokens', () => {
    const p = [0, 0.25, 0, 0.75];
    expect(sampleIndex(p, 0)).toBe(1);
    expect(sampleIndex(p, 0.2499)).toBe(1);
    expect(sampleIndex(p, 0.25)).toBe(3);
    expect(sampleIndex(p, 0.999999)).toBe(3);
  });

  it('residual is norm(max(0, p - q)), or p when q covers p', () => {
    const r = residual(Float64Array.from([0.5, 0.5, 0]), Float64Array.from([0.2, 0.7, 0.1]));
    expect(Array.from(r)).toEqual([1, 0, 0]);
    const same = Float64Array.from([0.4, 0.6]);
    expect(Array.from(residual(same, same))).toEqual([0.4, 0.6]);
  });
});
