/**
 * A position's logits (and hidden states) are bit-identical whether computed alone, inside an
 * M-token verify batch or inside a prefill chunk; rollback inside a verify batch followed by the
 * accepted continuation equals the never-rejected path bit for bit (GDN snapshots, KV truncation).
 * Both activation modes: q8 quantizes each row on its own, so its rows must not depend on the batch either.
 */
import * as fs from 'fs';
import { loadModel } from '../../src/runtime/engine/load-model';
import type { InferenceModel, InferenceSession } from '../../src/runtime/engine/types';
import { convertFixture, rows, sameBits, tempDir } from './engine-artifacts';
import { ACTIVATION_MODES, type ActivationMode } from '../../src/runtime/engine/activations';

const tmp = tempDir('batch');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const TOKENS = [3, 17, 250, 99, 4, 311, 42, 42, 7, 120, 64, 5, 200];

const ARTIFACTS: [string, Record<string, unknown>][] = [
  ['qwen35-dense', { policy: { spec: 'gdn8-speed4' } }],
  ['qwen35-moe', { policy: { spec: 'uniform' } }],
  ['qwen3-next', { policy: { spec: 'none' } }],
];
const CASES: [string, Record<string, unknown>, ActivationMode][] = ARTIFACTS.flatMap(([v, extra]) => ACTIVATION_MODES.map((m) => [v, extra, m] as [string, Record<string, unknown>, ActivationMode]));
const converted = new Map<string, Promise<string>>();

/** Logits, pre- and post-norm hidden of every position, one token per forward. */
async function oneByOne(s: InferenceSession, tokens: number[]): Promise<Float32Array[][]> {
  const out: Float32Array[][] = [];
  for (const t of tokens) {
    const r = await s.forward([t]);
    out.push([r.logits, r.hiddenPre, r.hiddenPost]);
  }
  return out;
}

describe.each(CASES)('%s %j, %s activations', (variant, extra, mode) => {
  let model: InferenceModel;
  let single: Float32Array[][];

  beforeAll(async () => {
    const key = `${variant} ${JSON.stringify(extra)}`;
    if (!converted.has(key)) converted.set(key, convertFixture(tmp, variant, extra as never));
    model = await loadModel(await converted.get(key)!, { threads: 2, activations: mode });
    single = await oneByOne(model.newSession(), TOKENS);
  });
  afterAll(() => model.close());

  const V = () => model.info.vocabSize;
  const H = () => model.info.hiddenSize;

  function expectRowsEqual(r: { logits: Float32Array; hiddenPre: Float32Array; hiddenPost: Float32Array }, start: number, m: number): void {
    for (let i = 0; i < m; i++) {
      const [l, pre, post] = single[start + i];
      expect(sameBits(rows(r.logits, V(), i, i + 1), l)).toBe(true);
      expect(sameBits(rows(r.hiddenPre, H(), i, i + 1), pre)).toBe(true);
      expect(sameBits(rows(r.hiddenPost, H(), i, i + 1), post)).toBe(true);
    }
  }

  test('a prefill chunk of every token equals one token at a time, bit for bit', async () => {
    const s = model.newSession();
    expectRowsEqual(await s.forward(TOKENS), 0, TOKENS.length);
    expect(s.position).toBe(TOKENS.length);
  });

  test.each([1, 2, 3, 4, 5])('verify batches of M = %i after a prefill equal single tokens', async (m) => {
    const s = model.newSession();
    await s.forward(TOKENS.slice(0, 3), { logits: 'none' });
    for (let start = 3; start + m <= TOKENS.length; start += m) {
      expectRowsEqual(await s.forward(TOKENS.slice(start, start + m)), start, m);
    }
  });

  test("logits 'last' is the last row of 'all'", async () => {
    const s = model.newSession();
    const r = await s.forward(TOKENS.slice(0, 6), { logits: 'last' });
    expect(sameBits(r.logits, single[5][0])).toBe(true);
  });

  test.each([1, 2, 3, 4, 5])('rolling back a 5-token verify batch to keep %i, then continuing, equals the never-rejected path', async (keep) => {
    const s = model.newSession();
    await s.forward(TOKENS.slice(0, 4), { logits: 'none' });
    // Verify [t4..t8] with the wrong last tokens, keep `keep` of them.
    const drafts = TOKENS.slice(4, 4 + keep).concat([1, 2, 3, 4, 5].slice(0, 5 - keep));
    await s.forward(drafts);
    s.rollback(4 + keep);
    expect(s.position).toBe(4 + keep);
    expectRowsEqual(await s.forward(TOKENS.slice(4 + keep, 12)), 4 + keep, 12 - 4 - keep);
  });

  test('rollback twice inside one verify batch, and errors outside it', async () => {
    const s = model.newSession();
    await s.forward(TOKENS.slice(0, 4), { logits: 'none' });
    await s.forward([TOKENS[4], 9, 9, 9, 9]);
    s.rollback(8);
    s.rollback(5);
    expect(() => s.rollback(4)).toThrow(/cannot roll back/);
    expect(() => s.rollback(7)).toThrow(/cannot roll back/);
    expectRowsEqual(await s.forward(TOKENS.slice(5, 9)), 5, 4);
  });

  test('the MTP head is batch invariant and its rollback truncates its cache', async () => {
    if (!model.info.hasMtp) return;
    const s = model.newSession();
    const r = await s.forward(TOKENS.slice(0, 6));
    const hidden = r.hiddenPre.slice(0, 5 * H());
    const next = TOKENS.slice(1, 6);
    const batch = await s.mtpForward(hidden, next);
    expect(s.mtpPosition).toBe(5);
    s.mtpRollback(2);
    const rest = [];
    for (let i = 2; i < 5; i++) rest.push(await s.mtpForward(rows(hidden, H(), i, i + 1), [next[i]]));
    for (let i = 2; i < 5; i++) {
      expect(sameBits(rest[i - 2].logits, rows(batch.logits, V(), i, i + 1))).toBe(true);
      expect(sameBits(rest[i - 2].hidden, rows(batch.hidden, H(), i, i + 1))).toBe(true);
    }
    expect(() => s.mtpRollback(9)).toThrow(/MTP/);
  });
});
