/**
 * Every fixture variant, converted with several policies and both MTP layouts, loads and runs; the
 * post-norm hidden is the final norm of the pre-norm hidden; one corrupted scale changes the logits.
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadModel } from '../../src/runtime/engine/load-model';
import { Checkpoint } from '../../src/safetensors/checkpoint';
import { bf16ToF32 } from '../../src/numeric/float-bits';
import { VARIANTS, convertFixture, copyArtifact, sameBits, tempDir, tensorOffset } from './engine-artifacts';

const tmp = tempDir('load');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const POLICIES: Record<string, unknown>[] = [
  { policy: { spec: 'none' } },
  { policy: { spec: 'gdn8-speed4' } },
  { policy: { spec: 'uniform', bits: 3, groupSize: 32 }, mtpLayout: 'inline' },
];

const TOKENS = [5, 77, 300, 12, 1];

describe.each(VARIANTS.flatMap((v) => POLICIES.map((p) => [v, p] as const)))('%s %j', (variant, extra) => {
  test('loads, runs a prefill and a decode step, the MTP head too', async () => {
    const dir = await convertFixture(tmp, variant, extra as never);
    const model = await loadModel(dir, { threads: 1 });
    try {
      const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
      const text = cfg.text_config ?? cfg;
      expect(model.info).toMatchObject({ vocabSize: text.vocab_size, hiddenSize: text.hidden_size, numLayers: text.num_hidden_layers, hasMtp: true });
      expect(model.info.weightBytesPerToken).toBeGreaterThan(0);
      const s = model.newSession();
      const r = await s.forward(TOKENS);
      const V = model.info.vocabSize;
      const H = model.info.hiddenSize;
      expect(r.logits.length).toBe(TOKENS.length * V);
      expect(r.hiddenPre.length).toBe(TOKENS.length * H);
      expect(r.logits.every(Number.isFinite)).toBe(true);
      // hiddenPost = rms_norm(hiddenPre) * final norm weight (recomputed here in float64).
      const ck = await Checkpoint.open(dir);
      const normName = [...ck.tensors.keys()].find((n) => /^(language_model\.)?model\.norm\.weight$/.test(n))!;
      const raw = await ck.readTensor(normName);
      await ck.close();
      const w = Array.from({ length: H }, (_, i) => bf16ToF32(raw.readUInt16LE(2 * i)));
      const pre = r.hiddenPre.subarray(0, H);
      const rms = Math.sqrt(pre.reduce((a, x) => a + x * x, 0) / H + text.rms_norm_eps);
      for (let i = 0; i < H; i++) expect(r.hiddenPost[i]).toBeCloseTo((pre[i] / rms) * w[i], 4);
      const step = await s.forward([9], { logits: 'last' });
      expect(step.logits.length).toBe(V);
      expect(s.position).toBe(TOKENS.length + 1);
      const m = await s.mtpForward(r.hiddenPost.slice(0, 2 * H), TOKENS.slice(1, 3));
      expect(m.logits.length).toBe(2 * V);
      expect(m.hidden.length).toBe(2 * H);
      expect(m.logits.every(Number.isFinite)).toBe(true);
      s.reset();
      expect(s.position).toBe(0);
      expect(s.mtpPosition).toBe(0);
      expect(sameBits((await s.forward(TOKENS)).logits, r.logits)).toBe(true);
    } finally {
      model.close();
    }
  });
});

test('corrupting one scale of one expert changes the logits', async () => {
  const dir = await convertFixture(tmp, 'qwen35-moe', { policy: { spec: 'gdn8-speed4' } } as never);
  const bad = copyArtifact(dir, path.join(tmp, 'corrupt-scale'));
  const before = await loadModel(dir, { threads: 1 });
  const want = (await before.newSession().forward(TOKENS)).logits;
  before.close();
  const file = path.join(bad, 'model.safetensors');
  const { offset } = await tensorOffset(file, 'language_model.model.layers.1.mlp.switch_mlp.down_proj.scales');
  const fd = fs.openSync(file, 'r+');
  const b = Buffer.alloc(2);
  fs.readSync(fd, b, 0, 2, offset);
  b.writeUInt16LE(b.readUInt16LE(0) ^ 0x0100, 0); // flips one exponent bit of a bf16 scale
  fs.writeSync(fd, b, 0, 2, offset);
  fs.closeSync(fd);
  const after = await loadModel(bad, { threads: 1 });
  const got = (await after.newSession().forward(TOKENS)).logits;
  after.close();
  expect(sameBits(got, want)).toBe(false);
  const same = await loadModel(dir, { threads: 1 });
  expect(sameBits((await same.newSession().forward(TOKENS)).logits, want)).toBe(true);
  same.close();
});
