/**
 * Plain autoregressive decoding over an InferenceSession: the baseline speculative decoding must
 * reproduce (greedy: token for token; sampled: in distribution) and the AR side of the speed figures.
 */
import type { InferenceSession } from '../runtime/engine/types';
import type { Uniform } from './rng';
import { seededUniform } from './rng';
import type { Sampler } from './sampling';
import { GREEDY, sampleIndex, tokenDistribution } from './sampling';

export interface DecodeOptions {
  maxTokens: number;
  sampler?: Sampler;
  /** Uniform numbers for sampling (default: seed 0). */
  uniform?: Uniform;
  /** Stop after emitting one of these. */
  eosTokenIds?: readonly number[];
}

export interface DecodeResult {
  tokens: number[];
  /** Wall time of the prompt forward, ms. */
  prefillMs: number;
  /** Wall time from the first emitted token to the last, ms (decode only). */
  decodeMs: number;
}

export function checkPrompt(prompt: ArrayLike<number>, maxTokens: number): void {
  if (prompt.length < 1) throw new RangeError('decoding needs a prompt of at least one token');
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new RangeError(`maxTokens must be a positive integer, got ${maxTokens}`);
}

export async function decodePlain(session: InferenceSession, prompt: ArrayLike<number>, opts: DecodeOptions): Promise<DecodeResult> {
  checkPrompt(prompt, opts.maxTokens);
  const sampler = opts.sampler ?? GREEDY;
  const uniform = opts.uniform ?? seededUniform(0);
  const eos = new Set(opts.eosTokenIds ?? []);
  const V = session.info.vocabSize;
  session.reset();
  const t0 = performance.now();
  let out = await session.forward(prompt, { logits: 'last' });
  const t1 = performance.now();
  const tokens: number[] = [];
  for (;;) {
    const tok = sampleIndex(tokenDistribution(out.logits, 0, V, sampler), uniform());
    tokens.push(tok);
    if (tokens.length >= opts.maxTokens || eos.has(tok)) break;
    out = await session.forward([tok], { logits: 'last' });
  }
  return { tokens, prefillMs: t1 - t0, decodeMs: performance.now() - t1 };
}
