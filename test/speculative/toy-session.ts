/**
 * A toy InferenceSession whose distributions are known in closed form, with the rollback rules of the
 * real engines: the token list behaves like a KV cache (trimmable), `rec` like GDN recurrent state
 * (not trimmable: restored from per-token snapshots kept by the last forward of <= 8 tokens).
 *
 * Trunk: a Markov chain on (last token, rec): next-token logits = table[last][rec], and after token t
 * rec' = (A * rec + t + 1) mod R. Hidden rows encode (last, rec) so the head can read them; pre- and
 * post-norm rows differ only by a scale and a marker (post = what the LM head reads).
 * Head: for a pair (h, t) it predicts the token after t from the state h would reach after t, with
 * `headNoise` added (so drafts are wrong sometimes) and a small term from the previous MTP slot's token
 * (so a corrupted MTP cache changes drafts).
 */
import type { EngineModelInfo, ForwardOptions, ForwardResult, InferenceModel, InferenceSession, MtpResult } from '../../src/runtime/engine/types';
import { MtpkitError } from '../../src/errors';
import { seededUniform } from '../../src/speculative/rng';

export const TOY_R = 5;
const TOY_A = 3;
const H = 4;
const MAX_ROLLBACK = 8;

export interface ToyParams {
  vocab: number;
  seed: number;
  /** Scale of the trunk logits table. */
  sharpness: number;
  /** Scale of the head's noise logits (0 = the head knows the trunk exactly). */
  headNoise: number;
}

export class ToyModel implements InferenceModel {
  readonly info: EngineModelInfo;
  /** table[(last * R + rec) * V + t] */
  readonly table: Float64Array;
  /** noise[(t * V + prevSlotToken) * V + u]: the head's deviation. */
  readonly noise: Float64Array;

  constructor(readonly params: ToyParams) {
    const V = params.vocab;
    this.info = { architecture: 'qwen3_5', vocabSize: V, hiddenSize: H, numLayers: 1, hasMtp: true, tieWordEmbeddings: false, weightBytesPerToken: 0 };
    const u = seededUniform(params.seed);
    this.table = Float64Array.from({ length: V * TOY_R * V }, () => (u() * 2 - 1) * params.sharpness);
    this.noise = Float64Array.from({ length: V * V * V }, () => (u() * 2 - 1) * params.headNoise);
  }

  static nextRec(rec: number, token: number): number {
    return (TOY_A * rec + token + 1) % TOY_R;
  }

  /** Closed form: trunk logits after `last` in state `rec`. */
  trunkLogits(last: number, rec: number): Float64Array {
    const V = this.params.vocab;
    return this.table.subarray((last * TOY_R + rec) * V, (last * TOY_R + rec + 1) * V);
  }

  /** Closed form: state after a token sequence from the empty state. */
  static stateAfter(tokens: readonly number[]): { last: number; rec: number } {
    let rec = 0;
    for (const t of tokens) rec = ToyModel.nextRec(rec, t);
    return { last: tokens[tokens.length - 1], rec };
  }

  newSession(): ToySession {
    return new ToySession(this);
  }

  close(): void {}
}

interface MtpSlot {
  hidden: number[];
  token: number;
}

export class ToySession implements InferenceSession {
  readonly info: EngineModelInfo;
  private tokens: number[] = [];
  private rec = 0;
  /** Snapshots of rec after each token of the last forward, and its start. */
  private snaps: number[] = [];
  private lastStart = -1;
  private slots: MtpSlot[] = [];
  /** Counters tests read. */
  forwards = 0;
  mtpForwards = 0;

  constructor(readonly model: ToyModel) {
    this.info = model.info;
  }

  get position(): number {
    return this.tokens.length;
  }

  get mtpPosition(): number {
    return this.slots.length;
  }

  /** Everything that decides future outputs, for exact comparisons. */
  state(): { tokens: number[]; rec: number; slots: MtpSlot[] } {
    return { tokens: [...this.tokens], rec: this.rec, slots: this.slots.map((s) => ({ hidden: [...s.hidden], token: s.token })) };
  }

  static hiddenRows(last: number, rec: number): { pre: number[]; post: number[] } {
    return { pre: [last, rec, 1, 0], post: [last, rec, 0.5, 1] };
  }

  async forward(tokens: ArrayLike<number>, opts: ForwardOptions = {}): Promise<ForwardResult> {
    const M = tokens.length;
    const V = this.info.vocabSize;
    if (M < 1) throw new MtpkitError('forward of zero tokens');
    this.forwards++;
    const mode = opts.logits ?? 'all';
    const rows = mode === 'all' ? M : mode === 'last' ? 1 : 0;
    const logits = new Float32Array(rows * V);
    const hiddenPre = new Float32Array(M * H);
    const hiddenPost = new Float32Array(M * H);
    this.lastStart = this.tokens.length;
    this.snaps = [];
    for (let i = 0; i < M; i++) {
      const t = tokens[i];
      if (!Number.isInteger(t) || t < 0 || t >= V) throw new MtpkitError(`token ${t} out of range`);
      this.tokens.push(t);
      this.rec = ToyModel.nextRec(this.rec, t);
      if (M <= MAX_ROLLBACK) this.snaps.push(this.rec);
      const h = ToySession.hiddenRows(t, this.rec);
      hiddenPre.set(h.pre, i * H);
      hiddenPost.set(h.post, i * H);
      const row = mode === 'all' ? i : mode === 'last' && i === M - 1 ? 0 : -1;
      if (row >= 0) logits.set(this.model.trunkLogits(t, this.rec), row * V);
    }
    return { logits, hiddenPre, hiddenPost };
  }

  rollback(position: number): void {
    const end = this.lastStart + this.snaps.length;
    if (this.lastStart < 0 || !this.snaps.length || position <= this.lastStart || position > end || position > this.tokens.length) {
      throw new MtpkitError(`cannot roll back to ${position}: the last forward covered (${this.lastStart}, ${end}]`);
    }
    this.rec = this.snaps[position - this.lastStart - 1];
    this.tokens.length = position;
  }

  /** Head: reads (last, rec) from hidden (marker 1 = post-norm, 0 = pre-norm: pre rows are read wrongly). */
  async mtpForward(hidden: Float32Array, tokens: ArrayLike<number>, opts: ForwardOptions = {}): Promise<MtpResult> {
    const M = tokens.length;
    const V = this.info.vocabSize;
    if (hidden.length !== M * H) throw new MtpkitError(`mtpForward: hidden has ${hidden.length} values, expected ${M * H}`);
    this.mtpForwards++;
    const mode = opts.logits ?? 'all';
    const rows = mode === 'all' ? M : mode === 'last' ? 1 : 0;
    const logits = new Float32Array(rows * V);
    const out = new Float32Array(M * H);
    for (let i = 0; i < M; i++) {
      const h = Array.from(hidden.subarray(i * H, (i + 1) * H));
      const t = tokens[i];
      // A pre-norm row (marker 0) misleads the head by one state: the "wrong wiring" costs acceptance.
      const rec = h[3] === 1 ? h[1] : (h[1] + 1) % TOY_R;
      const recAfter = ToyModel.nextRec(rec, t);
      const prev = this.slots.length ? this.slots[this.slots.length - 1].token : 0;
      this.slots.push({ hidden: h, token: t });
      const base = this.model.trunkLogits(t, recAfter);
      const noise = this.model.noise.subarray((t * V + prev) * V, (t * V + prev + 1) * V);
      const row = mode === 'all' ? i : mode === 'last' && i === M - 1 ? 0 : -1;
      if (row >= 0) for (let v = 0; v < V; v++) logits[row * V + v] = base[v] + noise[v];
      out.set(ToySession.hiddenRows(t, recAfter).post, i * H);
    }
    return { logits, hidden: out };
  }

  mtpRollback(position: number): void {
    if (!Number.isInteger(position) || position < 0 || position > this.slots.length) throw new MtpkitError(`cannot roll the MTP cache back to ${position}`);
    this.slots.length = position;
  }

  reset(): void {
    this.tokens = [];
    this.rec = 0;
    this.snaps = [];
    this.lastStart = -1;
    this.slots = [];
  }
}
