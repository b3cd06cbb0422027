/**
 * Numeric command-line values checked where they are parsed, so a bad one is an error naming the
 * option (exit 2), not a failure deep in a kernel naming whichever tensor ran first.
 */
import { InputError } from '../errors';

/** `--threads N`: a whole number >= 0 (0 = all cores). */
export function parseThreads(value: unknown, option = '--threads'): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim();
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) throw new InputError(`${option} takes a whole number of threads, 0 for all cores (got '${text}')`);
  return n;
}

const UNITS: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30 };
/**
 * Below one page a shard limit is a slip (`10` meant as GB): every tensor would get its own file. Small
 * limits above it are legitimate: tests and partitioned runs of tiny checkpoints use tens of KB.
 */
export const MIN_SHARD_BYTES = 4096;

/** `--max-shard-bytes`: bytes, or with a unit (`500MB`, `2GiB`); at least MIN_SHARD_BYTES. */
export function parseShardBytes(value: unknown, option = '--max-shard-bytes'): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim();
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  const bytes = m && unit ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!Number.isSafeInteger(bytes)) {
    throw new InputError(`${option} takes a size in bytes, optionally with a unit (5GB, 500MiB); got '${text}'`);
  }
  if (bytes < MIN_SHARD_BYTES) {
    throw new InputError(`${option} ${text} is below the 4 KiB minimum (every tensor would get its own shard); mlx-lm's default is 5GB`);
  }
  return bytes;
}
