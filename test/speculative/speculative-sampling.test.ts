/**
 * Sampled speculative decoding is distributed exactly as plain sampling: over many short runs on the
 * toy model, the frequencies of whole output sequences match the closed-form probabilities (product of
 * the trunk's filtered distributions), by a chi-square test at a fixed seed.
 */
import { decodePlain } from '../../src/speculative/plain-decode';
import { seededUniform } from '../../src/speculative/rng';
import type { Sampler } from '../../src/speculative/sampling';
import { tokenDistribution } from '../../src/speculative/sampling';
import { decodeSpeculative } from '../../src/speculative/speculative-decode';
import { chiSquare, critical001 } from './chi-square';
import { ToyModel } from './toy-session';

const V = 4;
const L = 3;
const RUNS = 12000;
const PROMPT = [2, 1];
const TARGET: Sampler = { temp: 0.9, topP: 0.9, topK: 3 };
const DRAFT: Sampler = { temp: 1.3 };

/** Exact probability of every output sequence of length L (index = base-V number). */
function exactSequenceProbs(model: ToyModel): Float64Array {
  const probs = new Float64Array(V ** L);
  const walk = (history: number[], depth: number, index: number, p: number): void => {
    if (depth === L) {
      probs[index] = p;
      return;
    }
    const s = ToyModel.stateAfter(history);
    const dist = tokenDistribution(model.trunkLogits(s.last, s.rec), 0, V, TARGET);
    for (let t = 0; t < V; t++) if (dist[t] > 0) walk([...history, t], depth + 1, index * V + t, p * dist[t]);
  };
  walk(PROMPT, 0, 0, 1);
  return probs;
}

async function sequenceCounts(run: (uniform: () => number) => Promise<number[]>, seed: number): Promise<number[]> {
  const uniform = seededUniform(seed);
  const counts = new Array<number>(V ** L).fill(0);
  for (let r = 0; r < RUNS; r++) {
    const toks = await run(uniform);
    counts[toks.reduce((a, t) => a * V + t, 0)]++;
  }
  return counts;
}

describe('sampled speculative decoding matches plain sampling in distribution', () => {
  const model = new ToyModel({ vocab: V, seed: 21, sharpness: 2, headNoise: 1.5 });
  const exact = exactSequenceProbs(model);

  it('plain sampling itself fits the closed form (the test can pass)', async () => {
    const session = model.newSession();
    const counts = await sequenceCounts(async (uniform) => (await decodePlain(session, PROMPT, { maxTokens: L, sampler: TARGET, uniform })).tokens, 1);
    const { stat, df } = chiSquare(counts, exact, RUNS);
    expect(stat).toBeLessThan(critical001(df));
  });

  for (const depth of [1, 2, 3]) {
    it(`depth ${depth}, draft sampler differing from the target`, async () => {
      const session = model.newSession();
      let rejected = 0;
      const counts = await sequenceCounts(async (uniform) => {
        const res = await decodeSpeculative(session, PROMPT, { maxTokens: L, depth, sampler: TARGET, draftSampler: DRAFT, uniform });
        rejected += res.metrics.histogram.slice(0, depth).reduce((a, b) => a + b, 0);
        return res.tokens;
      }, 2 + depth);
      const { stat, df } = chiSquare(counts, exact, RUNS);
      expect(df).toBeGreaterThan(10);
      // The residual path must be exercised a lot for the test to mean anything.
      expect(rejected).toBeGreaterThan(RUNS / 4);
      expect(stat).toBeLessThan(critical001(df));
    });
  }
});
