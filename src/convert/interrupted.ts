/** A conversion stopped by SIGINT / SIGTERM: what was kept for `--resume`, exit 128 + signal number. */
import { MtpkitError } from '../errors';
import type { HubConfigOptions } from '../hub/hub-config';

const SIGNAL_NUMBERS: Record<string, number> = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 };

export class InterruptedError extends MtpkitError {
  constructor(
    readonly signal: string,
    /** The hidden folder holding the kept shards (removed when none was kept). */
    readonly partialDir: string,
    /** Finished shards recorded in the resume manifest. */
    readonly kept: string[],
  ) {
    super(
      kept.length
        ? `interrupted by ${signal}: kept ${kept.length} finished shard(s) in ${partialDir} (${kept.join(', ')})`
        : `interrupted by ${signal} before any shard was finished; nothing was kept`,
      {},
      128 + (SIGNAL_NUMBERS[signal] ?? 0),
    );
  }
}

/**
 * Hub options that abort with `signal` (downloads, listing, retry waits), so Ctrl-C is noticed during
 * the transfer rather than at the first tensor after it.
 */
export function abortableHub(hub: HubConfigOptions | undefined, signal: AbortSignal | undefined): HubConfigOptions | undefined {
  return signal ? { ...hub, signal } : hub;
}

/** Runs `run`; an abort of `signal` that surfaced as another error (a cancelled download) becomes an InterruptedError. */
export async function asInterruption<T>(signal: AbortSignal | undefined, partialDir: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (signal?.aborted && !(e instanceof InterruptedError)) throw new InterruptedError(signalOf(signal.reason), partialDir, []);
    throw e;
  }
}

/** The abort reason our signal handlers use (AbortController.abort(reason)). */
export interface SignalReason {
  signal: string;
}

export function signalOf(reason: unknown): string {
  return typeof reason === 'object' && reason !== null && typeof (reason as SignalReason).signal === 'string' ? (reason as SignalReason).signal : 'SIGINT';
}
