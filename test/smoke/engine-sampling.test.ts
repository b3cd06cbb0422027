/**
 * On the native engine with a planted artifact whose head is right only part of the time, sampled
 * speculative decoding is distributed exactly as plain sampling: the frequencies of whole output
 * sequences over many seeded runs fit, by a chi-square test, the closed-form probabilities taken from
 * plain forwards of the same engine (the product of the target sampler's distributions along each
 * sequence). The draft sampler differs from the target one (no top-k, hotter), so drafts outside the
 * target's support are common and the residual path carries much of the output.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generatePlantedCheckpoint } from '../../fixtures/generator/planted';
import { runConvert } from '../../src/convert/pipeline';
import { loadModel } from '../../src/runtime/engine/load-model';
import type { InferenceModel } from '../../src/runtime/engine/types';
import { seededUniform } from '../../src/speculative/rng';
import { tokenDistribution, type Sampler } from '../../src/speculative/sampling';
import { decodeSpeculative } from '../../src/speculative/speculative-decode';
import { chiSquare, critical001 } from '../speculative/chi-square';
import { convertOptions } from '../support/convert-options';

const PROMPT = [5, 77, 300, 12];
const L = 3;
const RUNS = 2000;
const TARGET: Sampler = { temp: 3, topP: 0.99, topK: 3 };
const DRAFT: Sampler = { temp: 1.5, topK: 4 };

let root: string;
let model: InferenceModel;
/** Exact probability of every reachable output sequence, keyed by its tokens. */
const exact = new Map<string, number>();

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-engine-sampling-'));
  const src = path.join(root, 'src');
  await generatePlantedCheckpoint(src, { variant: 'qwen35-dense', seed: 11, noise: 1.2 });
  const art = path.join(root, 'art');
  await runConvert(convertOptions(src, art, { force: true, policy: { spec: 'uniform' } }));
  model = await loadModel(art, { threads: 1 });
  // Closed form from plain forwards: walk every sequence the target sampler can produce.
  const s = model.newSession();
  const V = model.info.vocabSize;
  const walk = async (prefix: number[], p: number): Promise<void> => {
    if (prefix.length === L) {
      exact.set(prefix.join(','), p);
      return;
    }
    s.reset();
    const out = await s.forward([...PROMPT, ...prefix], { logits: 'last' });
    const dist = tokenDistribution(out.logits, 0, V, TARGET);
    for (let t = 0; t < V; t++) if (dist[t] > 0) await walk([...prefix, t], p * dist[t]);
  };
  await walk([], 1);
});

afterAll(() => {
  model?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

jest.setTimeout(900_000);

for (const depth of [2, 3]) {
  it(`depth ${depth}: output sequences fit the plain-sampling distribution (chi-square, 0.1 %)`, async () => {
    const keys = [...exact.keys()];
    const probs = Float64Array.from(keys, (k) => exact.get(k)!);
    expect(keys.length).toBeGreaterThan(9);
    const counts = new Array<number>(keys.length).fill(0);
    const uniform = seededUniform(100 + depth);
    const session = model.newSession();
    let rejections = 0;
    let unexpected = 0;
    for (let r = 0; r < RUNS; r++) {
      const res = await decodeSpeculative(session, PROMPT, { maxTokens: L, depth, sampler: TARGET, draftSampler: DRAFT, uniform });
      rejections += res.metrics.histogram.slice(0, depth).reduce((a, b) => a + b, 0);
      const i = keys.indexOf(res.tokens.join(','));
      if (i < 0) unexpected++;
      else counts[i]++;
    }
    // No sequence outside the target's support, and the residual path is exercised a lot.
    expect(unexpected).toBe(0);
    expect(rejections).toBeGreaterThan(RUNS / 3);
    const { stat, df } = chiSquare(counts, probs, RUNS);
    expect(df).toBeGreaterThan(5);
    expect(stat).toBeLessThan(critical001(df));
  });
}
