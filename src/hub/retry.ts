/** Bounded retries with exponential backoff for transient transfer failures (5xx, 429, dropped connections). */
import { HubApiError } from '@huggingface/hub';
import { MtpkitError } from '../errors';

/** A failure worth another attempt (short body, stalled connection, ...). */
export class TransientError extends MtpkitError {}

/** An HTTP error answer seen by our own fetch wrapper (the library's stream errors lose the status). */
export class HttpStatusError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'HttpStatusError';
  }
}

const NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
]);

function isTransientStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/** HTTP status an error is about, if any (HubApiError, or the library's string-only stream errors). */
export function errorStatus(err: unknown): number | undefined {
  if (err instanceof HubApiError) return err.statusCode;
  if (err instanceof HttpStatusError) return err.status;
  const msg = typeof err === 'string' ? err : asErrorLike(err)?.message ?? '';
  const m = /Api error with status (\d{3})/.exec(msg);
  return m ? Number(m[1]) : undefined;
}

interface ErrorLike {
  name?: string;
  message: string;
  code?: string;
  cause?: { code?: string };
}

/**
 * Duck-typed, since errors raised inside Node's fetch come from another realm than test sandboxes
 * (`instanceof Error` is false there).
 */
export function asErrorLike(err: unknown): ErrorLike | undefined {
  return typeof err === 'object' && err !== null && typeof (err as ErrorLike).message === 'string' ? (err as ErrorLike) : undefined;
}

export function errorMessage(err: unknown): string {
  const e = asErrorLike(err);
  if (e) return e.name && e.name !== 'Error' && !(err instanceof MtpkitError) ? `${e.name}: ${e.message}` : e.message;
  return String(err);
}

export function isRetryable(err: unknown): boolean {
  if (err instanceof TransientError) return true;
  if (err instanceof MtpkitError) return false;
  const status = errorStatus(err);
  if (status !== undefined) return isTransientStatus(status);
  const e = asErrorLike(err);
  if (e) {
    if (e.name === 'AbortError' || e.name === 'TimeoutError') return true;
    const code = e.code ?? e.cause?.code;
    if (code && NETWORK_CODES.has(code)) return true;
    // undici: "fetch failed" (connect), "terminated" / "other side closed" (body cut).
    return /fetch failed|terminated|other side closed|socket hang up|network/i.test(e.message);
  }
  // WebBlob.stream() aborts with the error's message string; without a 4xx status it is a network failure.
  return typeof err === 'string';
}

export interface RetryOptions {
  maxAttempts: number;
  baseMs: number;
  maxDelayMs?: number;
  /** Called before each wait (for logs); never given the token. */
  onRetry?: (attempt: number, delayMs: number, err: unknown) => void;
  /**
   * Bytes transferred so far: an attempt that moved it forward before failing restarts the count,
   * so a long download over a flaky link is not abandoned while it still advances.
   */
  progress?: () => number;
  /** Once aborted, the last error is thrown instead of waiting and retrying (an abort is not a network fault). */
  signal?: AbortSignal;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Runs `fn(attempt)` until it succeeds, fails permanently, or `maxAttempts` is used up. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  let failures = 0;
  for (let attempt = 1; ; attempt++) {
    const before = opts.progress?.();
    try {
      return await fn(attempt);
    } catch (err) {
      failures = before !== undefined && opts.progress!() > before ? 1 : failures + 1;
      if (failures >= opts.maxAttempts || !isRetryable(err) || opts.signal?.aborted) throw err;
      const delay = Math.min(opts.baseMs * 2 ** (failures - 1), opts.maxDelayMs ?? 30_000);
      opts.onRetry?.(attempt, delay, err);
      await sleep(delay, opts.signal);
      if (opts.signal?.aborted) throw err;
    }
  }
}
