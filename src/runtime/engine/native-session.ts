/**
 * InferenceModel / InferenceSession over the native engine. Token ids are checked here (InputError,
 * exit 2) before native code sees them; native failures surface as MtpkitError (exit 1).
 */
import { InputError, MtpkitError } from '../../errors';
import type { EngineModelInfo, ForwardOptions, ForwardResult, InferenceModel, InferenceSession, MtpResult } from './types';
import { nativeEngine, type NativeHandle, type NativeLogitsMode } from './native-engine';

/** Default context of a session when the caller gives none (KV caches grow as they fill, up to this). */
export const DEFAULT_MAX_CONTEXT = 32768;

const MODES: Record<NonNullable<ForwardOptions['logits']>, NativeLogitsMode> = { all: 0, last: 1, none: 2 };

function logitsMode(opts?: ForwardOptions): NativeLogitsMode {
  const m = opts?.logits ?? 'all';
  const code = MODES[m];
  if (code === undefined) throw new InputError(`logits must be 'all', 'last' or 'none', got ${JSON.stringify(m)}`, { field: 'logits' });
  return code;
}

export function checkTokenIds(tokens: ArrayLike<number>, vocabSize: number): Int32Array {
  if (tokens.length === 0) throw new InputError('at least one token id is needed', { field: 'tokens' });
  const out = new Int32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (!Number.isInteger(t) || t < 0 || t >= vocabSize) {
      throw new InputError(`token id ${t} (at index ${i}) is out of range [0, ${vocabSize})`, { field: 'tokens' });
    }
    out[i] = t;
  }
  return out;
}

/** Native errors carry no exit code: wrap them as failures while running (exit 1). */
function wrapNative<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof MtpkitError) throw e;
    throw new MtpkitError((e as Error).message);
  }
}

async function wrapNativeAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof MtpkitError) throw e;
    throw new MtpkitError((e as Error).message);
  }
}

class NativeSession implements InferenceSession {
  constructor(readonly info: EngineModelInfo, private readonly handle: NativeHandle) {}

  get position(): number {
    return nativeEngine().engineSessionOp(this.handle, 'position');
  }

  get mtpPosition(): number {
    return nativeEngine().engineSessionOp(this.handle, 'mtpPosition');
  }

  async forward(tokens: ArrayLike<number>, opts?: ForwardOptions): Promise<ForwardResult> {
    const ids = checkTokenIds(tokens, this.info.vocabSize);
    const mode = logitsMode(opts);
    return wrapNativeAsync(() => nativeEngine().engineSessionForward(this.handle, ids, mode));
  }

  rollback(position: number): void {
    wrapNative(() => nativeEngine().engineSessionOp(this.handle, 'rollback', position));
  }

  async mtpForward(hidden: Float32Array, tokens: ArrayLike<number>, opts?: ForwardOptions): Promise<MtpResult> {
    if (!this.info.hasMtp) throw new InputError('this artifact has no MTP head the engine loaded');
    const ids = checkTokenIds(tokens, this.info.vocabSize);
    if (hidden.length !== ids.length * this.info.hiddenSize) {
      throw new InputError(`hidden has ${hidden.length} values, expected ${ids.length} rows of ${this.info.hiddenSize}`, { field: 'hidden' });
    }
    const mode = logitsMode(opts);
    return wrapNativeAsync(() => nativeEngine().engineSessionMtpForward(this.handle, hidden, ids, mode));
  }

  mtpRollback(position: number): void {
    wrapNative(() => nativeEngine().engineSessionOp(this.handle, 'mtpRollback', position));
  }

  reset(): void {
    wrapNative(() => nativeEngine().engineSessionOp(this.handle, 'reset'));
  }
}

export class NativeModel implements InferenceModel {
  private closed = false;

  constructor(readonly info: EngineModelInfo, private readonly handle: NativeHandle) {}

  newSession(opts: { maxContext?: number } = {}): InferenceSession {
    if (this.closed) throw new MtpkitError('the model is closed');
    const max = opts.maxContext ?? DEFAULT_MAX_CONTEXT;
    if (!Number.isInteger(max) || max < 1) throw new InputError(`maxContext must be a positive integer, got ${max}`, { field: 'maxContext' });
    return new NativeSession(this.info, wrapNative(() => nativeEngine().engineSessionNew(this.handle, max)));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    nativeEngine().engineModelClose(this.handle);
  }
}
