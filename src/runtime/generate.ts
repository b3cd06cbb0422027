/**
 * Autoregressive generation over an InferenceSession: one prefill forward (last row's logits), then
 * one token per forward until an end-of-sequence id or the token budget; timings for both phases.
 */
import { checkLogits, type Sampler } from './sampling';
import type { InferenceSession } from './engine/types';

export interface GenerateOptions {
  maxTokens: number;
  sampler: Sampler;
  /** Ids that stop generation (not emitted). */
  eosTokenIds?: readonly number[];
  /** Called with each generated id, in order. */
  onToken?: (id: number) => void;
  /** Prompt tokens per prefill forward (bounds scratch memory on long prompts). */
  prefillChunk?: number;
}

export interface GenerateResult {
  ids: number[];
  stop: 'eos' | 'max-tokens';
  prefillSeconds: number;
  /** Seconds of the decode forwards (each produced one more token's logits). */
  decodeSeconds: number;
  decodeForwards: number;
}

const now = () => Number(process.hrtime.bigint()) / 1e9;

export async function generate(session: InferenceSession, prompt: readonly number[], o: GenerateOptions): Promise<GenerateResult> {
  const chunk = o.prefillChunk ?? 512;
  const eos = new Set(o.eosTokenIds ?? []);
  const t0 = now();
  let logits: Float32Array = new Float32Array(0);
  for (let i = 0; i < prompt.length; i += chunk) {
    const part = prompt.slice(i, i + chunk);
    const last = i + chunk >= prompt.length;
    logits = (await session.forward(part, { logits: last ? 'last' : 'none' })).logits;
  }
  const prefillSeconds = now() - t0;
  const ids: number[] = [];
  let decodeSeconds = 0;
  let decodeForwards = 0;
  for (;;) {
    checkLogits(logits);
    const id = o.sampler(logits);
    if (eos.has(id)) return { ids, stop: 'eos', prefillSeconds, decodeSeconds, decodeForwards };
    ids.push(id);
    o.onToken?.(id);
    if (ids.length >= o.maxTokens) return { ids, stop: 'max-tokens', prefillSeconds, decodeSeconds, decodeForwards };
    const t = now();
    logits = (await session.forward([id], { logits: 'last' })).logits;
    decodeSeconds += now() - t;
    decodeForwards++;
  }
}

/** Emits decoded text as tokens arrive, holding back an incomplete UTF-8 sequence (shown as U+FFFD). */
export class TextStream {
  private readonly ids: number[] = [];
  private printed = 0;
  constructor(private readonly decode: (ids: readonly number[]) => string, private readonly write: (s: string) => void) {}

  push(id: number): void {
    this.ids.push(id);
    const text = this.decode(this.ids);
    if (text.endsWith('\uFFFD')) return;
    if (text.length > this.printed) this.write(text.slice(this.printed));
    this.printed = text.length;
  }

  flush(): void {
    const text = this.decode(this.ids);
    if (text.length > this.printed) this.write(text.slice(this.printed));
    this.printed = text.length;
  }
}
