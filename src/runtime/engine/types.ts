/**
 * What an inference engine offers the layers above it (the `run` command, speculative decoding, the
 * smoke test). Two implementations: the native CPU engine (src/runtime/engine) and the plain
 * TypeScript reference forward that the tests compare it with.
 *
 * Positions: the trunk caches hold `position` tokens. `forward` appends M tokens at positions
 * [position, position + M). The MTP head keeps its own KV cache, aligned one to one with trunk
 * positions: MTP slot i holds the pair (trunk hidden at position i, token at position i + 1) and uses
 * RoPE position i (mtp-runtime-contract §11.2, qwen35-architecture §7.6).
 */

export type EngineArchitecture = 'qwen3_5' | 'qwen3_5_moe' | 'qwen3_next';

export interface EngineModelInfo {
  architecture: EngineArchitecture;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  /** The artifact carries an MTP head (inline or sidecar) that the engine loaded. */
  hasMtp: boolean;
  tieWordEmbeddings: boolean;
  /** Bytes of weights one trunk token reads (mapped, as stored): the bandwidth numerator. */
  weightBytesPerToken: number;
}

export interface ForwardOptions {
  /** Which rows' logits to return: every row (verify), the last (prefill), or none. Default 'all'. */
  logits?: 'all' | 'last' | 'none';
}

export interface ForwardResult {
  /** [rows, vocab] float32, rows = M, 1 or 0 according to `logits`. */
  logits: Float32Array;
  /** [M, hidden]: trunk output before the final norm. */
  hiddenPre: Float32Array;
  /** [M, hidden]: after the final norm (what the LM head reads). */
  hiddenPost: Float32Array;
}

export interface MtpResult {
  /** [rows, vocab] float32. */
  logits: Float32Array;
  /** [M, hidden]: the head's output after `mtp.norm` (fed back when drafting deeper). */
  hidden: Float32Array;
}

export interface InferenceSession {
  readonly info: EngineModelInfo;
  /** Tokens held in the trunk caches. */
  readonly position: number;
  /**
   * Runs M >= 1 tokens. For M <= maxRollback (8) the GDN conv and recurrent state after each of the
   * first M - 1 tokens is kept, so `rollback` can return to any position in (start, start + M].
   */
  forward(tokens: ArrayLike<number>, opts?: ForwardOptions): Promise<ForwardResult>;
  /**
   * Back to an earlier position inside the last forward: KV caches truncated, GDN state restored from
   * its snapshot (no re-forward). Throws a MtpkitError outside what the last forward covered.
   */
  rollback(position: number): void;

  /** Pairs held in the MTP head's KV cache. */
  readonly mtpPosition: number;
  /**
   * The MTP head over M pairs: row i combines hidden row i ([M, hidden]) with tokens[i] at MTP position
   * mtpPosition + i: x = fc([pre_fc_norm_embedding(embed(token)), pre_fc_norm_hidden(hidden)]), one
   * decoder layer with its own KV cache, mtp.norm, LM head. Appends M slots.
   */
  mtpForward(hidden: Float32Array, tokens: ArrayLike<number>, opts?: ForwardOptions): Promise<MtpResult>;
  /** Truncates the MTP KV cache to `position` slots (attention only: always possible). */
  mtpRollback(position: number): void;

  /** Empties every cache (a new prompt). */
  reset(): void;
}

export interface InferenceModel {
  readonly info: EngineModelInfo;
  newSession(opts?: { maxContext?: number }): InferenceSession;
  close(): void;
}
