/**
 * The native engine against the independent float64 TypeScript reference (test/reference): logits of
 * every position and of the MTP head agree within max|Δ| / max|logit| < 1e-4 and greedy continuations
 * are token-identical, for every fixture variant and the weight formats we write.
 */
import * as fs from 'fs';
import { loadModel } from '../../src/runtime/engine/load-model';
import type { InferenceModel } from '../../src/runtime/engine/types';
import { argmax } from '../../src/runtime/sampling';
import { loadReferenceModel } from '../reference/reference-model';
import { VARIANTS, convertFixture, tempDir } from './engine-artifacts';

const tmp = tempDir('ref');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const TOL = 1e-4;
const PROMPT = [11, 250, 3, 97, 300, 42];

const CASES: [string, Record<string, unknown>][] = [
  ...VARIANTS.map((v) => [v, { policy: { spec: 'gdn8-speed4' } }] as [string, Record<string, unknown>]),
  ['qwen3-next', { policy: { spec: 'none' }, dtype: 'float32' }],
  ['qwen35-dense-tied', { policy: { spec: 'none' }, dtype: 'float16' }],
  ['qwen35-dense-tied', { policy: { spec: 'uniform', mode: 'mxfp4' } }],
  ['qwen35-dense-tied', { policy: { spec: 'uniform', mode: 'mxfp8' } }],
  ['qwen35-dense-tied', { policy: { spec: 'uniform', mode: 'nvfp4' } }],
  ['qwen35-dense', { policy: { spec: 'uniform', bits: 2, groupSize: 32 } }],
  ['qwen35-dense', { policy: { spec: 'uniform', bits: 3, groupSize: 64 } }],
  ['qwen35-moe', { policy: { spec: 'uniform', bits: 5, groupSize: 32 } }],
  ['qwen36-moe', { policy: { spec: 'uniform', bits: 6, groupSize: 64 } }],
  ['qwen35-dense', { policy: { spec: 'uniform', bits: 8, groupSize: 32 }, mtpLayout: 'inline' }],
  ['qwen35-dense', { policy: { spec: 'gdn8-speed4+fp16' } }],
  ['qwen35-moe', { policy: { spec: 'uniform' }, dtype: 'float32' }],
];

function relErr(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

async function greedy(model: InferenceModel, n: number): Promise<number[]> {
  const s = model.newSession();
  let logits = (await s.forward(PROMPT, { logits: 'last' })).logits;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(argmax(logits));
    logits = (await s.forward([out[i]])).logits;
  }
  return out;
}

test.each(CASES)('%s %j', async (variant, extra) => {
  const dir = await convertFixture(tmp, variant, extra as never);
  const native = await loadModel(dir, { threads: 2 });
  const ref = await loadReferenceModel(dir);
  try {
    const sn = native.newSession();
    const sr = ref.newSession();
    const a = await sn.forward(PROMPT);
    const b = await sr.forward(PROMPT);
    expect(relErr(a.logits, b.logits)).toBeLessThan(TOL);
    expect(relErr(a.hiddenPre, b.hiddenPre)).toBeLessThan(TOL);
    expect(native.info.hasMtp).toBe(ref.info.hasMtp);
    if (native.info.hasMtp) {
      const H = native.info.hiddenSize;
      const hidden = a.hiddenPost.slice(0, 4 * H);
      const c = await sn.mtpForward(hidden, PROMPT.slice(1, 5));
      const d = await sr.mtpForward(hidden, PROMPT.slice(1, 5));
      expect(relErr(c.logits, d.logits)).toBeLessThan(TOL);
      expect(relErr(c.hidden, d.hidden)).toBeLessThan(TOL);
    }
    expect(await greedy(native, 6)).toEqual(await greedy(ref, 6));
  } finally {
    native.close();
    ref.close();
  }
});
