/** A conversion stopped by SIGINT / SIGTERM: what was kept for `--resume`, exit 128 + signal number. */
import { MtpkitError } from '../errors';

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

/** The abort reason our signal handlers use (AbortController.abort(reason)). */
export interface SignalReason {
  signal: string;
}

export function signalOf(reason: unknown): string {
  return typeof reason === 'object' && reason !== null && typeof (reason as SignalReason).signal === 'string' ? (reason as SignalReason).signal : 'SIGINT';
}
