/**
 * Greedy speculative decoding against plain greedy decoding on the toy model: identical tokens at
 * depths 1-3, every rejection position exercised, and after every cycle the session (trunk tokens,
 * recurrent state, MTP cache) equals what plain decoding of the same committed tokens leaves.
 */
import { decodePlain } from '../../src/speculative/plain-decode';
import { decodeSpeculative } from '../../src/speculative/speculative-decode';
import { ToyModel, ToySession } from './toy-session';

const PROMPTS = [[1], [0, 3, 2], [5, 5, 5, 1, 0, 2, 4, 3, 1, 2]];

describe('greedy speculative decoding on the toy model', () => {
  for (const depth of [1, 2, 3]) {
    it(`depth ${depth}: same tokens as plain greedy, every rejection position seen`, async () => {
      const hist = new Array<number>(depth + 1).fill(0);
      for (const seed of [1, 2, 3]) {
        const model = new ToyModel({ vocab: 7, seed, sharpness: 3, headNoise: 2.5 });
        for (const prompt of PROMPTS) {
          const plain = await decodePlain(model.newSession(), prompt, { maxTokens: 40 });
          const spec = await decodeSpeculative(model.newSession(), prompt, { maxTokens: 40, depth });
          expect(spec.tokens).toEqual(plain.tokens);
          spec.metrics.histogram.forEach((n, j) => (hist[j] += n));
          const m = spec.metrics;
          expect(m.meanAcceptedLength).toBeCloseTo(1 + m.acceptanceByPosition.reduce((a, b) => a + b, 0), 12);
        }
      }
      // Each number of accepted drafts 0..depth (each rejection position, and full acceptance) occurred.
      for (const n of hist) expect(n).toBeGreaterThan(0);
    });
  }

  it('a perfect head is always accepted; eos stops both decoders at the same token', async () => {
    const model = new ToyModel({ vocab: 7, seed: 4, sharpness: 3, headNoise: 0 });
    const spec = await decodeSpeculative(model.newSession(), [2, 3], { maxTokens: 30, depth: 3 });
    expect(spec.metrics.acceptanceByPosition).toEqual([1, 1, 1]);
    const plain = await decodePlain(model.newSession(), [2, 3], { maxTokens: 30 });
    const eos = plain.tokens[5];
    const a = await decodePlain(model.newSession(), [2, 3], { maxTokens: 30, eosTokenIds: [eos] });
    const b = await decodeSpeculative(model.newSession(), [2, 3], { maxTokens: 30, depth: 2, eosTokenIds: [eos] });
    expect(b.tokens).toEqual(a.tokens);
    expect(a.tokens[a.tokens.length - 1]).toBe(eos);
  });

  for (const variant of ['post_norm', 'pre_norm'] as const) {
    it(`${variant}: after every cycle the caches equal those of plain decoding of the committed tokens`, async () => {
      for (const depth of [1, 2, 3]) {
        const hist = new Array<number>(depth + 1).fill(0);
        for (let seed = 9; seed < 29; seed++) {
          const model = new ToyModel({ vocab: 7, seed, sharpness: 3, headNoise: 2.5 });
          const prompt = [4, 1, 6];
          const first = (await decodePlain(model.newSession(), prompt, { maxTokens: 1 })).tokens[0];
          const session = model.newSession();
          const all = [...prompt, first];
          let checked = 0;
          await decodeSpeculative(session, prompt, {
            maxTokens: 30,
            depth,
            hiddenVariant: variant,
            onCycle: ({ accepted, committed }) => {
              hist[accepted]++;
              all.push(...committed);
              checked++;
              // Plain decoding has forwarded every token but the last one (y, not yet run).
              expect(session.state()).toEqual(expectedState(all.slice(0, -1), all, variant));
            },
          });
          expect(checked).toBeGreaterThan(3);
        }
        for (const n of hist) expect(n).toBeGreaterThan(0);
      }
    });
  }
});

/** What a session holds after plain decoding forwarded `forwarded` token by token, with MTP pairs (h_i, t_{i+1}). */
function expectedState(forwarded: number[], all: number[], variant: 'pre_norm' | 'post_norm') {
  const slots = forwarded.map((_, i) => {
    const s = ToyModel.stateAfter(forwarded.slice(0, i + 1));
    const h = ToySession.hiddenRows(s.last, s.rec);
    return { hidden: variant === 'pre_norm' ? h.pre : h.post, token: all[i + 1] };
  });
  return { tokens: forwarded, rec: ToyModel.stateAfter(forwarded).rec, slots };
}
