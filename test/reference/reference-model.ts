/**
 * Independent plain-TypeScript reference of the inference engine (test-only): float64, one token at a time
 * through every layer, weights dequantized once at load. It implements the same InferenceModel /
 * InferenceSession interfaces as the native engine so tests can run both side by side.
 *
 * Rollback keeps a deep copy of every GDN layer's conv and recurrent state after each token of the last
 * forward (and truncates the KV caches); the MTP head has its own KV cache (slot i = RoPE position i).
 */
import { MtpkitError, InputError } from '../../src/errors';
import type {
  EngineModelInfo,
  ForwardOptions,
  ForwardResult,
  InferenceModel,
  InferenceSession,
  MtpResult,
} from '../../src/runtime/engine/types';
import type { KvCache } from './attention';
import { linear, q8Undetermined, rmsNorm, row, type Vec } from './ops';
import { parseReferenceConfig, type ReferenceConfig } from './reference-config';
import { RefWeights, attentionMixer, decoderLayer, gdnMixer, newGdnState, type GdnState } from './reference-layers';
import { loadReferenceWeights } from './reference-weights';
import { resolveActivations, type ActivationMode } from '../../src/runtime/engine/activations';

/** Snapshots are kept for forwards of at most this many tokens (types.ts `maxRollback`). */
export const MAX_ROLLBACK = 8;

function cloneGdn(s: GdnState): GdnState {
  return { conv: s.conv.slice(), rec: s.rec.slice() };
}

function flat(rows: Vec[], width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, i) => out.set(r, i * width));
  return out;
}

export class ReferenceModel implements InferenceModel {
  readonly info: EngineModelInfo;

  constructor(
    readonly cfg: ReferenceConfig,
    readonly w: RefWeights,
    weightBytesPerToken: number,
  ) {
    this.info = {
      architecture: cfg.architecture,
      vocabSize: cfg.vocab,
      hiddenSize: cfg.hidden,
      numLayers: cfg.numLayers,
      hasMtp: w.has('mtp.fc.weight'),
      tieWordEmbeddings: cfg.tie,
      weightBytesPerToken,
    };
  }

  newSession(opts?: { maxContext?: number }): ReferenceSession {
    return new ReferenceSession(this, opts?.maxContext);
  }

  close(): void {}

  embed(token: number): Vec {
    if (!Number.isInteger(token) || token < 0 || token >= this.cfg.vocab) {
      throw new InputError(`token id ${token} is out of range [0, ${this.cfg.vocab})`);
    }
    return row(this.w.mat('model.embed_tokens.weight'), token);
  }

  lmHead(h: Vec): Vec {
    return linear(this.w.mat(this.cfg.tie ? 'model.embed_tokens.weight' : 'lm_head.weight'), h);
  }
}

export class ReferenceSession implements InferenceSession {
  private kv = new Map<number, KvCache>();
  private gdn = new Map<number, GdnState>();
  private mtpKv: KvCache = { keys: [], values: [] };
  private pos = 0;
  /** Positions / MTP slots whose q8 codes were not all determined by the math (see ops.ts Q8_UNDETERMINED). */
  private undetermined: number[] = [];
  private mtpUndetermined: number[] = [];
  /** Start of the last forward and the GDN states after each of its tokens (index i = after token i). */
  private last: { start: number; count: number; snaps: Map<number, GdnState>[] } | undefined;

  constructor(
    private readonly model: ReferenceModel,
    private readonly maxContext?: number,
  ) {
    this.reset();
  }

  get info(): EngineModelInfo {
    return this.model.info;
  }

  get position(): number {
    return this.pos;
  }

  get mtpPosition(): number {
    return this.mtpKv.keys.length;
  }

  reset(): void {
    const c = this.model.cfg;
    this.kv.clear();
    this.gdn.clear();
    for (let i = 0; i < c.numLayers; i++) {
      if (c.isLinear[i]) this.gdn.set(i, newGdnState(c));
      else this.kv.set(i, { keys: [], values: [] });
    }
    this.mtpKv = { keys: [], values: [] };
    this.pos = 0;
    this.last = undefined;
    this.undetermined = [];
    this.mtpUndetermined = [];
  }

  /**
   * q8 mode: the first trunk position (MTP slot) from which an engine computing in float32 may
   * legitimately round an int8 activation code the other way (Infinity = none in the current state).
   * A position's rows and every later one depend on it (KV cache, GDN state); rollback forgets it.
   */
  firstUndetermined(): number {
    return Math.min(Infinity, ...this.undetermined);
  }

  firstMtpUndetermined(): number {
    return Math.min(Infinity, ...this.mtpUndetermined);
  }

  /** One token through the trunk at the current position; returns the hidden state before the final norm. */
  private step(token: number): Vec {
    const { cfg: c, w } = this.model;
    let x = this.model.embed(token);
    for (let i = 0; i < c.numLayers; i++) {
      const p = `model.layers.${i}.`;
      x = c.isLinear[i]
        ? decoderLayer(w, c, p, x, (h) => gdnMixer(w, c, `${p}linear_attn.`, h, this.gdn.get(i)!))
        : decoderLayer(w, c, p, x, (h) => attentionMixer(w, c, `${p}self_attn.`, h, this.pos, this.kv.get(i)!));
    }
    this.pos++;
    return x;
  }

  async forward(tokens: ArrayLike<number>, opts: ForwardOptions = {}): Promise<ForwardResult> {
    const m = tokens.length;
    if (m < 1) throw new InputError('forward needs at least one token');
    if (this.maxContext !== undefined && this.pos + m > this.maxContext) {
      throw new InputError(`${this.pos + m} positions exceed the session's maxContext ${this.maxContext}`);
    }
    const { cfg: c, w } = this.model;
    const start = this.pos;
    const snaps: Map<number, GdnState>[] = [];
    const pre: Vec[] = [];
    const post: Vec[] = [];
    const logits: Vec[] = [];
    for (let t = 0; t < m; t++) {
      const before = q8Undetermined.count;
      const h = this.step(tokens[t]);
      const hn = rmsNorm(h, w.vec('model.norm.weight'), c.eps);
      pre.push(h);
      post.push(hn);
      if (opts.logits !== 'none' && (opts.logits !== 'last' || t === m - 1)) logits.push(this.model.lmHead(hn));
      if (q8Undetermined.count !== before) this.undetermined.push(start + t);
      if (m <= MAX_ROLLBACK) snaps.push(new Map([...this.gdn].map(([i, s]) => [i, cloneGdn(s)])));
    }
    this.last = { start, count: m, snaps };
    return { logits: flat(logits, c.vocab), hiddenPre: flat(pre, c.hidden), hiddenPost: flat(post, c.hidden) };
  }

  rollback(position: number): void {
    const l = this.last;
    if (!l || !Number.isInteger(position) || position <= l.start || position > this.pos) {
      const range = l ? `(${l.start}, ${this.pos}]` : 'nothing (no forward yet)';
      throw new MtpkitError(`cannot roll back to position ${position}: the last forward covers ${range}`);
    }
    if (position === this.pos) return;
    const snap = l.snaps[position - l.start - 1];
    if (!snap) throw new MtpkitError(`cannot roll back to position ${position}: forwards of more than ${MAX_ROLLBACK} tokens keep no snapshots`);
    for (const [i, s] of snap) this.gdn.set(i, cloneGdn(s));
    for (const cache of this.kv.values()) {
      cache.keys.length = position;
      cache.values.length = position;
    }
    this.pos = position;
    this.undetermined = this.undetermined.filter((p) => p < position);
  }

  async mtpForward(hidden: Float32Array, tokens: ArrayLike<number>, opts: ForwardOptions = {}): Promise<MtpResult> {
    const { cfg: c, w } = this.model;
    if (!this.model.info.hasMtp) throw new InputError('this artifact has no MTP head');
    const m = tokens.length;
    if (m < 1 || hidden.length !== m * c.hidden) {
      throw new InputError(`mtpForward: ${m} tokens need ${m * c.hidden} hidden values, got ${hidden.length}`);
    }
    const out: Vec[] = [];
    const logits: Vec[] = [];
    for (let i = 0; i < m; i++) {
      const before = q8Undetermined.count;
      // fc([pre_fc_norm_embedding(embed(token)), pre_fc_norm_hidden(hidden)]): embedding first.
      const e = rmsNorm(this.model.embed(tokens[i]), w.vec('mtp.pre_fc_norm_embedding.weight'), c.eps);
      const hh = rmsNorm(hidden.subarray(i * c.hidden, (i + 1) * c.hidden), w.vec('mtp.pre_fc_norm_hidden.weight'), c.eps);
      const cat = new Float64Array(2 * c.hidden);
      cat.set(e, 0);
      cat.set(hh, c.hidden);
      let x = linear(w.mat('mtp.fc.weight'), cat);
      const slot = this.mtpKv.keys.length;
      x = decoderLayer(w, c, 'mtp.layers.0.', x, (h) => attentionMixer(w, c, 'mtp.layers.0.self_attn.', h, slot, this.mtpKv));
      const y = rmsNorm(x, w.vec('mtp.norm.weight'), c.eps);
      out.push(y);
      if (opts.logits !== 'none' && (opts.logits !== 'last' || i === m - 1)) logits.push(this.model.lmHead(y));
      if (q8Undetermined.count !== before) this.mtpUndetermined.push(slot);
    }
    return { logits: flat(logits, c.vocab), hidden: flat(out, c.hidden) };
  }

  mtpRollback(position: number): void {
    if (!Number.isInteger(position) || position < 0 || position > this.mtpKv.keys.length) {
      throw new MtpkitError(`cannot roll the MTP cache back to ${position}: it holds ${this.mtpKv.keys.length} slots`);
    }
    this.mtpKv.keys.length = position;
    this.mtpKv.values.length = position;
    this.mtpUndetermined = this.mtpUndetermined.filter((p) => p < position);
  }
}

/**
 * Loads an MLX artifact folder into the reference engine. `activations` as the native engine's option
 * (default the same: MTPKIT_ACTIVATIONS or q8): q8 applies linears over affine weights to int8 activations.
 */
export async function loadReferenceModel(artifactDir: string, opts: { activations?: ActivationMode } = {}): Promise<ReferenceModel> {
  const { config, weights, bytesPerToken } = await loadReferenceWeights(artifactDir, resolveActivations(opts.activations));
  return new ReferenceModel(parseReferenceConfig(config), new RefWeights(weights), bytesPerToken);
}
