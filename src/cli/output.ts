/** How commands talk to the user: human text on a terminal, one JSON document with --json. */
import { MtpkitError, EXIT_FAILURE } from '../errors';

export { formatBytes } from '../format';

export interface OutputOptions {
  json: boolean;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function printLines(lines: string[]): void {
  if (lines.length) process.stdout.write(lines.join('\n') + '\n');
}

/**
 * Right-pads columns so a list of rows reads as a table. With `maxWidth`, the `shrink` columns (in that
 * order) are cut with `…` until each line fits, never below `minColumn` characters.
 */
export function formatTable(header: string[], rows: string[][], fit: { maxWidth?: number; shrink?: number[]; minColumn?: number } = {}): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  if (fit.maxWidth) {
    const total = () => widths.reduce((a, w) => a + w, 0) + 2 * (widths.length - 1);
    for (const i of fit.shrink ?? [widths.length - 1]) {
      const over = total() - fit.maxWidth;
      if (over <= 0) break;
      widths[i] = Math.max(fit.minColumn ?? 12, widths[i] - over);
    }
  }
  const clip = (c: string, w: number) => (c.length > w ? `${c.slice(0, Math.max(0, w - 1))}…` : c);
  const fmt = (r: string[]) =>
    r.map((c, i) => (i === r.length - 1 ? clip(c, widths[i]) : clip(c, widths[i]).padEnd(widths[i]))).join('  ').trimEnd();
  return [fmt(header), ...rows.map(fmt)];
}

/** The terminal's width when stdout is one, else undefined (pipes and files get whole lines). */
export function terminalWidth(): number | undefined {
  return process.stdout.isTTY && process.stdout.columns ? process.stdout.columns : undefined;
}

/** Prints an error as one line (or a JSON object) and returns the exit code to use. */
export function reportError(err: unknown, opts: OutputOptions): number {
  const known = err instanceof MtpkitError;
  const exitCode = known ? err.exitCode : EXIT_FAILURE;
  const message = err instanceof Error ? err.message : String(err);
  if (opts.json) {
    const place = known ? err.place : {};
    printJson({ ok: false, error: { message, exitCode, ...place } });
  } else {
    process.stderr.write(`mtpkit: error: ${message}\n`);
    if (!known && err instanceof Error && process.env.MTPKIT_DEBUG && err.stack) {
      process.stderr.write(err.stack + '\n');
    }
  }
  return exitCode;
}
