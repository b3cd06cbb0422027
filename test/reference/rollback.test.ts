/**
 * Rollback in the reference engine: forward M tokens, roll back to p, forward the rest == the same tokens
 * forwarded without the rejected ones (exact equality: the reference computes each token alone, in order).
 */
import { FIXTURE_VARIANTS, WEIGHT_FORMATS, formatArtifact } from '../support/format-artifacts';
import { loadReferenceModel } from './reference-model';
import type { InferenceModel } from '../../src/runtime/engine/types';

const FORMAT = WEIGHT_FORMATS.find((f) => f.id === 'affine4-g64-bfloat16')!;
const PROMPT = [11, 200, 37, 5, 99, 300];

describe.each(FIXTURE_VARIANTS)('%s', (variant) => {
  let model: InferenceModel;
  beforeAll(async () => {
    model = await loadReferenceModel(await formatArtifact(variant, FORMAT));
  });

  test('verify batch, rollback to the accepted prefix, continue == never drafting the rejected tokens', async () => {
    const a = model.newSession();
    await a.forward(PROMPT, { logits: 'last' });
    const verify = await a.forward([7, 8, 9, 10]);
    a.rollback(PROMPT.length + 2); // [7, 8] accepted, [9, 10] rejected
    expect(a.position).toBe(PROMPT.length + 2);
    const cont = await a.forward([42, 43]);

    const b = model.newSession();
    await b.forward(PROMPT, { logits: 'last' });
    const acc = await b.forward([7, 8]);
    const plain = await b.forward([42, 43]);
    expect(cont.logits).toEqual(plain.logits);
    expect(cont.hiddenPre).toEqual(plain.hiddenPre);
    expect(cont.hiddenPost).toEqual(plain.hiddenPost);
    const v = model.info.vocabSize;
    expect(verify.logits.subarray(0, 2 * v)).toEqual(acc.logits);
  });

  test('rolling back twice within one forward, and rows do not depend on how tokens are batched', async () => {
    const a = model.newSession();
    await a.forward(PROMPT);
    a.rollback(4);
    a.rollback(2);
    const after = await a.forward([PROMPT[2], PROMPT[3]]);
    const b = model.newSession();
    const one: Float32Array[] = [];
    for (const t of PROMPT.slice(0, 4)) one.push((await b.forward([t])).logits);
    expect(after.logits.subarray(0, model.info.vocabSize)).toEqual(one[2]);
    expect(after.logits.subarray(model.info.vocabSize)).toEqual(one[3]);
  });

  test('rollback outside the last forward throws', async () => {
    const s = model.newSession();
    expect(() => s.rollback(0)).toThrow(/no forward yet/);
    await s.forward([1, 2, 3]);
    await s.forward([4, 5]);
    expect(() => s.rollback(3)).toThrow(/covers \(3, 5\]/);
    expect(() => s.rollback(6)).toThrow();
    await s.forward(Array.from({ length: 9 }, (_, i) => i + 1));
    expect(() => s.rollback(10)).toThrow(/no snapshots/);
    s.rollback(14); // the current position: nothing to do
  });

  test('MTP: truncating its cache and re-running == never having run the dropped pairs', async () => {
    if (!model.info.hasMtp) return;
    const s = model.newSession();
    const h = (await s.forward(PROMPT)).hiddenPost;
    const H = model.info.hiddenSize;
    await s.mtpForward(h.subarray(0, 3 * H), PROMPT.slice(1, 4));
    s.mtpRollback(1);
    expect(s.mtpPosition).toBe(1);
    const redo = await s.mtpForward(h.subarray(H, 3 * H), [77, 78]);

    const t = model.newSession();
    await t.mtpForward(h.subarray(0, H), PROMPT.slice(1, 2));
    const direct = await t.mtpForward(h.subarray(H, 3 * H), [77, 78]);
    expect(redo.logits).toEqual(direct.logits);
    expect(redo.hidden).toEqual(direct.hidden);
    expect(() => s.mtpRollback(4)).toThrow();
  });
});
