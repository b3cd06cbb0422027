/**
 * Ctrl-C (SIGINT) or SIGTERM while an artifact is written: the first asks the run to stop after the
 * current tensor, so finished shards reach the resume manifest and the half-written shard's temp file
 * is removed; a second one quits at once (what was recorded stays reusable). The error then names
 * what was kept and the exact command that resumes.
 */
import { MtpkitError } from '../errors';
import { InterruptedError } from '../convert/interrupted';

export interface InterruptTrap {
  signal: AbortSignal;
  dispose(): void;
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export function trapInterrupts(): InterruptTrap {
  const controller = new AbortController();
  const handler = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.stderr.write(`\nmtpkit: ${sig} again: quitting now\n`);
      process.exit(128 + (sig === 'SIGTERM' ? 15 : 2));
    }
    process.stderr.write(`\nmtpkit: ${sig}: stopping after the current tensor and keeping the finished shards (${sig === 'SIGINT' ? 'Ctrl-C' : 'signal'} again to quit at once)\n`);
    controller.abort({ signal: sig });
  };
  for (const s of SIGNALS) process.on(s, handler);
  return { signal: controller.signal, dispose: () => SIGNALS.forEach((s) => process.off(s, handler)) };
}

function shellQuote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** The command line that was run, with --resume (once). */
export function resumeCommand(args: readonly string[] = process.argv.slice(2)): string {
  const rest = args.filter((a) => a !== '--resume' && a !== '--no-resume');
  return ['mtpkit', ...rest, '--resume'].map(shellQuote).join(' ');
}

/** The user-facing error for an interrupted write (exit 130 for SIGINT). */
export function interruptedError(e: InterruptedError): MtpkitError {
  const lines = [e.message];
  if (e.kept.length) lines.push(`resume with: ${resumeCommand()}`);
  return new MtpkitError(lines.join('\n'), {}, e.exitCode);
}

/** Runs a write with SIGINT / SIGTERM trapped; an interruption becomes the error above. */
export async function withInterruptTrap<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const trap = trapInterrupts();
  try {
    return await run(trap.signal);
  } catch (e) {
    throw e instanceof InterruptedError ? interruptedError(e) : e;
  } finally {
    trap.dispose();
  }
}
