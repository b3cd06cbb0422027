/**
 * Shard file names. Two conventions exist for "shard K of N":
 *   mlx-lm, Qwen3.6, Qwen3-Next: `model-0000K-of-0000N.safetensors`
 *   Qwen3.5:                     `model.safetensors-0000K-of-0000N.safetensors` (even when N = 1)
 * mlx-lm writes a single shard as plain `model.safetensors`.
 */

export const SINGLE_SHARD_NAME = 'model.safetensors';
export const INDEX_FILE_NAME = 'model.safetensors.index.json';

export type ShardNameStyle = 'mlx' | 'qwen35';

export interface ShardName {
  /** Text before `-K-of-N` (`model`, `model.safetensors`, `model-vision`, ...). */
  prefix: string;
  style: ShardNameStyle;
  /** 1-based. */
  index: number;
  count: number;
}

const SHARD_RE = /^(.+?)-(\d+)-of-(\d+)\.safetensors$/;

/** Parses `<prefix>-K-of-N.safetensors`; undefined for other names or when K is not in 1..N. */
export function parseShardName(fileName: string): ShardName | undefined {
  const m = SHARD_RE.exec(fileName);
  if (!m) return undefined;
  const index = Number(m[2]);
  const count = Number(m[3]);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(count) || index < 1 || index > count) return undefined;
  const prefix = m[1];
  return { prefix, style: prefix.endsWith('.safetensors') ? 'qwen35' : 'mlx', index, count };
}

function pad5(n: number): string {
  return String(n).padStart(5, '0');
}

function checkIndex(i: number, n: number): void {
  if (!Number.isSafeInteger(i) || !Number.isSafeInteger(n) || i < 1 || i > n) {
    throw new RangeError(`shard ${i} of ${n}: need integers with 1 <= i <= n`);
  }
}

/** mlx-lm's name for shard i (1-based) of n; `model.safetensors` when n == 1. */
export function formatMlxShardName(i: number, n: number): string {
  checkIndex(i, n);
  return n === 1 ? SINGLE_SHARD_NAME : `model-${pad5(i)}-of-${pad5(n)}.safetensors`;
}

/** Qwen3.5's name for shard i (1-based) of n (no special case for n == 1). */
export function formatQwen35ShardName(i: number, n: number): string {
  checkIndex(i, n);
  return `model.safetensors-${pad5(i)}-of-${pad5(n)}.safetensors`;
}
