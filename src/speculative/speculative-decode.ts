/**
 * MTP speculative decoding over an InferenceSession (mtp-runtime-contract §11, qwen35-architecture
 * §7.6/§8; the cycle follows mlx-lm PR #990 and MTPLX's committed-history policy):
 *
 * - prefill: one trunk forward over the prompt, then one MTP forward over the pairs
 *   (h_i, t_{i+1}) for every prompt position i (the last pair holds the first sampled token y), whose
 *   last row is the first draft distribution;
 * - each cycle: draft a chain d_1..d_k (step i > 1 feeds back the head's post-`mtp.norm` output and
 *   d_{i-1}); the chained MTP slots are trimmed right away, so drafts never persist in the MTP cache;
 *   verify [y, d_1..d_k] in one trunk forward; accept left to right; emit the correction or the bonus;
 *   roll the trunk back to just after the last accepted token; commit the pairs (verify hidden at j,
 *   committed token j + 1) for the accepted positions in one MTP forward, whose last row drafts the
 *   next cycle.
 *
 * Invariant at the top of a cycle: trunk position = MTP position = position of y (y not yet forwarded).
 */
import { InputError } from '../errors';
import type { ForwardResult, InferenceSession } from '../runtime/engine/types';
import { decideDraft } from './acceptance';
import { MetricsCounter } from './metrics';
import type { SpecMetrics } from './metrics';
import type { DecodeOptions, DecodeResult } from './plain-decode';
import { checkPrompt } from './plain-decode';
import { seededUniform } from './rng';
import type { Sampler } from './sampling';
import { GREEDY, sampleIndex, tokenDistribution } from './sampling';

/** Which trunk hidden feeds the head: before or after the final norm (qwen35-architecture §7.8). */
export type HiddenVariant = 'pre_norm' | 'post_norm';

/** Engines keep GDN snapshots for verify chunks of up to 8 tokens (types.ts `maxRollback`). */
export const MAX_VERIFY_TOKENS = 8;

export interface SpeculativeOptions extends DecodeOptions {
  /** Drafts per cycle, k >= 1. */
  depth: number;
  /** Default post_norm (MTPLX's default `base_hidden_variant`). */
  hiddenVariant?: HiddenVariant;
  /** Sampler the drafts are drawn with; default: the target sampler. */
  draftSampler?: Sampler;
  /** Called with each emitted token, in order. */
  onToken?: (id: number) => void;
  /** Called after every cycle once the caches are committed (tests inspect the session here). */
  onCycle?: (cycle: { accepted: number; committed: readonly number[] }) => void;
}

export interface SpeculativeResult extends DecodeResult {
  metrics: SpecMetrics;
}

function hiddenOf(r: ForwardResult, variant: HiddenVariant): Float32Array {
  return variant === 'pre_norm' ? r.hiddenPre : r.hiddenPost;
}

export async function decodeSpeculative(session: InferenceSession, prompt: ArrayLike<number>, opts: SpeculativeOptions): Promise<SpeculativeResult> {
  checkPrompt(prompt, opts.maxTokens);
  const k = opts.depth;
  if (!Number.isInteger(k) || k < 1 || k + 1 > MAX_VERIFY_TOKENS) {
    throw new RangeError(`draft depth must be an integer from 1 to ${MAX_VERIFY_TOKENS - 1}, got ${k}`);
  }
  if (!session.info.hasMtp) throw new InputError('speculative decoding needs an MTP head, and this model has none');
  const sampler = opts.sampler ?? GREEDY;
  const draftSampler = opts.draftSampler ?? sampler;
  const variant = opts.hiddenVariant ?? 'post_norm';
  const uniform = opts.uniform ?? seededUniform(0);
  const eos = new Set(opts.eosTokenIds ?? []);
  const V = session.info.vocabSize;
  const H = session.info.hiddenSize;
  const counter = new MetricsCounter(k);

  session.reset();
  const t0 = performance.now();
  const pre = await session.forward(prompt, { logits: 'last' });
  let y = sampleIndex(tokenDistribution(pre.logits, 0, V, sampler), uniform());
  const tokens: number[] = [y];
  opts.onToken?.(y);
  let t1 = performance.now();
  const finish = (): SpeculativeResult => ({ tokens, prefillMs: t1 - t0, decodeMs: performance.now() - t1, metrics: counter.result() });
  if (tokens.length >= opts.maxTokens || eos.has(y)) return finish();
  const pairs = Array.from(prompt).slice(1);
  pairs.push(y);
  let head = await session.mtpForward(hiddenOf(pre, variant), pairs, { logits: 'last' });
  t1 = performance.now();

  for (;;) {
    const base = session.position;
    // Draft: the first distribution comes from the last committed pair; deeper ones chain.
    const drafts: number[] = [];
    const qs: Float64Array[] = [];
    let logits = head.logits;
    let hidden = head.hidden.subarray(head.hidden.length - H);
    for (let i = 0; i < k; i++) {
      if (i > 0) {
        const step = await session.mtpForward(hidden, [drafts[i - 1]], { logits: 'last' });
        logits = step.logits;
        hidden = step.hidden;
      }
      const q = tokenDistribution(logits, 0, V, draftSampler);
      qs.push(q);
      drafts.push(sampleIndex(q, uniform()));
    }
    if (k > 1) session.mtpRollback(base);

    // Verify all drafts in one trunk forward; row j is the target distribution after token j.
    const verify = await session.forward([y, ...drafts], { logits: 'all' });
    let accepted = 0;
    let next = -1;
    for (; accepted < k; accepted++) {
      const p = tokenDistribution(verify.logits, accepted * V, V, sampler);
      const d = decideDraft(p, qs[accepted], drafts[accepted], uniform);
      if (!d.accepted) {
        next = d.correction!;
        break;
      }
    }
    if (accepted === k) next = sampleIndex(tokenDistribution(verify.logits, k * V, V, sampler), uniform());
    counter.addCycle(accepted);
    if (accepted < k) session.rollback(base + accepted + 1);

    const committed = [...drafts.slice(0, accepted), next];
    let done = false;
    for (const t of committed) {
      tokens.push(t);
      opts.onToken?.(t);
      if (tokens.length >= opts.maxTokens || eos.has(t)) {
        done = true;
        break;
      }
    }
    if (done) return finish();
    // MTP slots base..base+accepted: (verify hidden at j, committed token j + 1).
    head = await session.mtpForward(hiddenOf(verify, variant).subarray(0, (accepted + 1) * H), committed, { logits: 'last' });
    y = next;
    opts.onCycle?.({ accepted, committed });
  }
}
