/**
 * Transfer progress for humans: one redrawn line (bytes, rate, ETA) on a terminal; plain, throttled
 * lines when stderr is not a TTY or CI=true, so logs stay readable.
 */
import { formatBytes } from '../format';
import { ProgressEvent } from './hub-repo';

export interface ProgressRendererOptions {
  stream?: { write(s: string): unknown; isTTY?: boolean };
  /** Force TTY (redraw) or plain mode; default: stream.isTTY and not CI. */
  tty?: boolean;
  /** Plain mode: at most one summary line per interval (default 10 s). TTY mode redraws every 100 ms. */
  intervalMs?: number;
  now?: () => number;
  env?: NodeJS.ProcessEnv;
  /** Which way the bytes go (default download): the words follow, `uploaded x` / `uploading [..]`. */
  direction?: 'download' | 'upload';
}

export interface ProgressRenderer {
  onProgress(e: ProgressEvent): void;
  /** Final line; call once when transfers are over. */
  finish(): void;
}

/** Sizes in progress lines: one decimal is enough. */
export function formatSize(n: number): string {
  return formatBytes(n, 1);
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function createProgressRenderer(opts: ProgressRendererOptions = {}): ProgressRenderer {
  const stream = opts.stream ?? process.stderr;
  const env = opts.env ?? process.env;
  const ci = env.CI === 'true' || env.CI === '1';
  const tty = opts.tty ?? (!!stream.isTTY && !ci);
  const quiet = ['1', 'ON', 'YES', 'TRUE'].includes((env.HF_HUB_DISABLE_PROGRESS_BARS ?? '').toUpperCase());
  const now = opts.now ?? Date.now;
  const interval = opts.intervalMs ?? (tty ? 100 : 10_000);
  const upload = opts.direction === 'upload';
  const files = new Map<string, { done: number; total: number }>();
  const started = now();
  let lastDraw = 0;
  let drawn = false;

  const totals = () => {
    let done = 0;
    let total = 0;
    for (const f of files.values()) {
      done += f.done;
      total += f.total;
    }
    return { done, total };
  };
  const line = (): string => {
    const { done, total } = totals();
    const secs = (now() - started) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const eta = rate > 0 ? (total - done) / rate : Infinity;
    const finished = [...files.values()].filter((f) => f.done >= f.total).length;
    return `${upload ? 'uploading ' : ''}[${finished}/${files.size} files] ${formatSize(done)} / ${formatSize(total)}  ${formatSize(rate)}/s  ETA ${formatDuration(eta)}`;
  };

  return {
    onProgress(e) {
      if (quiet) return;
      const prev = files.get(e.path);
      files.set(e.path, { done: e.bytesDone, total: e.bytesTotal });
      const justFinished = e.bytesDone >= e.bytesTotal && (!prev || prev.done < prev.total);
      const t = now();
      if (tty) {
        if (t - lastDraw >= interval || justFinished) {
          stream.write(`\r\x1b[2K${line()}`);
          lastDraw = t;
          drawn = true;
        }
        return;
      }
      if (justFinished) stream.write(`${upload ? 'uploaded' : 'fetched'} ${e.path} (${formatSize(e.bytesTotal)})\n`);
      else if (t - lastDraw >= interval) {
        stream.write(`${line()}\n`);
        lastDraw = t;
      }
    },
    finish() {
      if (quiet || files.size === 0) return;
      stream.write(tty && drawn ? `\r\x1b[2K${line()}\n` : `${line()}\n`);
    },
  };
}
