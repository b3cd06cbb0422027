/** Progress for long commands: a redrawn bar on a terminal, a few plain lines in CI or when piped. */
import type { ExecuteProgress } from '../convert/execute-plan';
import { formatBytes } from './output';

export interface ProgressSink {
  update: (p: ExecuteProgress) => void;
  done: () => void;
}

export function createProgress(json: boolean): ProgressSink {
  if (json) return { update: () => undefined, done: () => undefined };
  const tty = Boolean(process.stderr.isTTY) && !process.env.CI;
  const started = Date.now();
  let lastPrint = 0;
  let lastDecile = -1;
  let drew = false;
  const line = (p: ExecuteProgress): string => {
    const secs = (Date.now() - started) / 1000;
    const rate = p.bytesWritten / Math.max(secs, 1e-3);
    const eta = rate > 0 ? (p.bytesTotal - p.bytesWritten) / rate : 0;
    const frac = p.bytesTotal ? p.bytesWritten / p.bytesTotal : 1;
    return `${(frac * 100).toFixed(0).padStart(3)}%  stored tensors ${p.tensorsDone}/${p.tensorsTotal}  ${formatBytes(p.bytesWritten)}/${formatBytes(p.bytesTotal)}  ${formatBytes(rate)}/s  ETA ${eta.toFixed(0)} s`;
  };
  return {
    update: (p) => {
      const now = Date.now();
      if (tty) {
        if (now - lastPrint < 100 && p.tensorsDone < p.tensorsTotal) return;
        lastPrint = now;
        const bar = 24;
        const filled = Math.round(bar * (p.bytesTotal ? p.bytesWritten / p.bytesTotal : 1));
        process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(bar - filled)}] ${line(p)}\x1b[K`);
        drew = true;
      } else {
        // Plain lines: at most one per 10 % and per 5 s, plus the last one, so short jobs print one line.
        const decile = Math.floor((p.bytesTotal ? p.bytesWritten / p.bytesTotal : 1) * 10);
        const finished = p.tensorsDone === p.tensorsTotal;
        if (!finished && p.bytesWritten === 0) return; // a "0 %" line says nothing
        if (decile === lastDecile || (!finished && now - lastPrint < 5000)) return;
        lastDecile = decile;
        lastPrint = now;
        process.stderr.write(line(p) + '\n');
      }
    },
    done: () => {
      if (drew) process.stderr.write('\n');
    },
  };
}
