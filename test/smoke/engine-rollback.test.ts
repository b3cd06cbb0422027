/**
 * On the native engine, with a planted head that is right only part of the time (fc noise), every
 * verify row that speculative decoding commits equals, bit for bit, the logits plain decoding computes
 * at that position: after a rejection at any draft position the rolled-back trunk (KV trimmed, GDN state
 * restored from its snapshot) is exactly the state of plain decoding. Dense and MoE.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generatePlantedCheckpoint, type PlantedVariant } from '../../fixtures/generator/planted';
import { runConvert } from '../../src/convert/pipeline';
import { loadModel } from '../../src/runtime/engine/load-model';
import type { ForwardOptions, InferenceSession } from '../../src/runtime/engine/types';
import { decodeSpeculative } from '../../src/speculative/speculative-decode';
import { convertOptions } from '../support/convert-options';

let root: string;
beforeAll(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-rollback-'))));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Records every trunk forward (start position, tokens, logits rows) of a session it delegates to. */
function recording(s: InferenceSession) {
  const forwards: { start: number; tokens: number[]; logits: Float32Array }[] = [];
  const proxy = Object.create(s) as InferenceSession;
  Object.defineProperty(proxy, 'position', { get: () => s.position });
  Object.defineProperty(proxy, 'mtpPosition', { get: () => s.mtpPosition });
  proxy.forward = async (tokens: ArrayLike<number>, opts?: ForwardOptions) => {
    const start = s.position;
    const r = await s.forward(tokens, opts);
    if (opts?.logits === 'all') forwards.push({ start, tokens: Array.from(tokens), logits: r.logits });
    return r;
  };
  proxy.rollback = (p) => s.rollback(p);
  proxy.mtpForward = (h, t, o) => s.mtpForward(h, t, o);
  proxy.mtpRollback = (p) => s.mtpRollback(p);
  proxy.reset = () => s.reset();
  return { proxy, forwards };
}

for (const variant of ['qwen35-dense', 'qwen35-moe'] as PlantedVariant[]) {
  it(`${variant}: committed verify rows equal plain decoding bit for bit, rejections at every position`, async () => {
    const src = path.join(root, `${variant}-src`);
    await generatePlantedCheckpoint(src, { variant, seed: 11, noise: 1.2 });
    const art = path.join(root, variant);
    await runConvert(convertOptions(src, art, { force: true, policy: { spec: 'uniform' } }));
    const model = await loadModel(art, { threads: 1 });
    try {
      const depth = 3;
      const V = model.info.vocabSize;
      const hist = new Array<number>(depth + 1).fill(0);
      let compared = 0;
      for (let k = 0; k < 12; k++) {
        const prompt = [5 + k, 77 + 13 * k, 300 - 7 * k, 12 + 29 * k];
        const { proxy, forwards } = recording(model.newSession());
        const spec = await decodeSpeculative(proxy, prompt, { maxTokens: 24, depth });
        spec.metrics.histogram.forEach((n, j) => (hist[j] += n));
        const all = [...prompt, ...spec.tokens];
        const plain = model.newSession();
        const plainRows = new Map<number, Float32Array>();
        let out = await plain.forward(prompt, { logits: 'last' });
        plainRows.set(prompt.length - 1, out.logits);
        for (let q = prompt.length; q < all.length - 1; q++) {
          out = await plain.forward([all[q]], { logits: 'last' });
          plainRows.set(q, out.logits);
        }
        for (const f of forwards) {
          for (let j = 0; j < f.tokens.length; j++) {
            const q = f.start + j;
            if (all[q] !== f.tokens[j] || !plainRows.has(q)) break; // a rejected draft: later rows are not plain's
            expect(Buffer.from(f.logits.buffer, f.logits.byteOffset + j * V * 4, V * 4).equals(Buffer.from(plainRows.get(q)!.buffer))).toBe(true);
            compared++;
          }
        }
      }
      // Rejections happened at every draft position, and full acceptance too.
      for (const n of hist) expect(n).toBeGreaterThan(0);
      expect(compared).toBeGreaterThan(100);
    } finally {
      model.close();
    }
  });
}
