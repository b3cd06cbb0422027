/**
 * Longer sequences, native vs reference: prefill chunks of 70, 30 and 45 tokens, then single-token decode
 * past position 150 (KV caches grow, RoPE angles get large, GDN state carries across chunks), with two
 * sessions of one model interleaved to show their caches are separate. Both activation modes.
 */
import type { InferenceSession } from '../../src/runtime/engine/types';
import type { ReferenceSession } from '../reference/reference-model';
import { loadPair, type EnginePair } from './engine-pair';
import { ACTIVATION_MODES } from '../../src/runtime/engine/activations';
import { WEIGHT_FORMATS, formatArtifact, type FixtureVariant } from '../support/format-artifacts';
import { checkRows, newStats, tolFor } from './row-check';

const FORMAT = WEIGHT_FORMATS.find((f) => f.id === 'affine4-g64-bfloat16')!;

function tokens(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % 384;
  });
}

const CASES = (['qwen35-dense', 'qwen36-moe', 'qwen3-next'] as FixtureVariant[]).flatMap((v) => ACTIVATION_MODES.map((m) => [v, m] as const));

describe.each(CASES)('%s, %s activations', (variant, mode) => {
  let pair: EnginePair;
  beforeAll(async () => {
    pair = await loadPair(await formatArtifact(variant, FORMAT), mode, 2);
  });
  afterAll(() => pair?.close());

  test('chunked prefill to 145 tokens and decode to 155, two sessions interleaved', async () => {
    const { native, ref } = pair;
    const V = ref.info.vocabSize;
    const seqs = [tokens(155, 1), tokens(155, 2)];
    const pairs: [InferenceSession, ReferenceSession][] = seqs.map(() => [native.newSession(), ref.newSession()]);
    const stats = newStats();
    const chunks = [70, 30, 45, ...Array<number>(10).fill(1)];
    let at = 0;
    for (const n of chunks) {
      for (let s = 0; s < seqs.length; s++) {
        const part = seqs[s].slice(at, at + n);
        const [sn, sr] = pairs[s];
        const a = await sn.forward(part);
        const b = await sr.forward(part);
        checkRows(`${variant} ${mode} session ${s}, tokens [${at}, ${at + n})`, a.logits, b.logits, V, at, sr.firstUndetermined(), stats, tolFor(mode));
      }
      at += n;
    }
    expect(pairs[0][0].position).toBe(155);
  });
});
