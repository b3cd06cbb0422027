/**
 * What to download for a conversion: small files whole, and for each shard either the byte ranges of
 * the tensors we need (merged when close) or, when most of the shard is needed anyway, the whole shard.
 * Pure planning (so `mtpkit plan` can show the bytes to fetch); executeFetch() carries it out.
 */
import { InputError } from '../errors';
import { RepoFile } from './cache';
import { coalesceRanges, DEFAULT_GAP_BYTES, HubRepo } from './hub-repo';
import { ByteRange } from './range-store';

export interface TensorRange {
  shard: string;
  start: number;
  end: number;
}

export interface FetchNeeds {
  smallFiles: string[];
  tensorRanges: TensorRange[];
}

export interface FetchPlanOptions {
  /** Above this fraction of a shard's bytes (after merging), fetch the whole shard. Default 0.5. */
  wholeShardFraction?: number;
  /** Ranges separated by at most this many bytes are fetched as one. Default 1 MiB. */
  gapBytes?: number;
  /** What the cache already holds, so the totals count only bytes still to fetch. */
  cached?: { whole(path: string): boolean; range(path: string, start: number, end: number): boolean };
}

export interface ShardDecision {
  path: string;
  size: number;
  /** Bytes of the requested tensors (overlaps counted once). */
  neededBytes: number;
  /** Bytes the merged ranges span. */
  rangeBytes: number;
  mode: 'whole' | 'ranges';
}

export interface FetchPlan {
  wholeFiles: { path: string; size: number; cached: boolean }[];
  ranges: { path: string; start: number; end: number; cached: boolean }[];
  shards: ShardDecision[];
  /** Bytes still to download, by kind and in total. */
  bytesWhole: number;
  bytesRanges: number;
  bytesToFetch: number;
}

export const DEFAULT_WHOLE_SHARD_FRACTION = 0.5;

function spanBytes(ranges: ByteRange[]): number {
  return ranges.reduce((n, r) => n + r.end - r.start, 0);
}

export function planFetch(repoFiles: RepoFile[], needs: FetchNeeds, opts: FetchPlanOptions = {}): FetchPlan {
  const fraction = opts.wholeShardFraction ?? DEFAULT_WHOLE_SHARD_FRACTION;
  if (!(fraction >= 0 && fraction <= 1)) throw new InputError(`must be in [0, 1], got ${fraction}`, { field: 'wholeShardFraction' });
  const gap = opts.gapBytes ?? DEFAULT_GAP_BYTES;
  const byPath = new Map(repoFiles.map((f) => [f.path, f]));
  const lookup = (p: string): RepoFile => {
    const f = byPath.get(p);
    if (!f) throw new InputError('not in the repo', { file: p });
    return f;
  };

  const whole = new Map<string, number>();
  for (const p of needs.smallFiles) whole.set(p, lookup(p).size);

  const perShard = new Map<string, ByteRange[]>();
  for (const r of needs.tensorRanges) {
    const f = lookup(r.shard);
    if (!Number.isSafeInteger(r.start) || !Number.isSafeInteger(r.end) || r.start < 0 || r.start > r.end || r.end > f.size) {
      throw new InputError(`byte range [${r.start}, ${r.end}) is outside the file's ${f.size} bytes`, { file: r.shard });
    }
    const list = perShard.get(r.shard) ?? [];
    list.push({ start: r.start, end: r.end });
    perShard.set(r.shard, list);
  }

  const shards: ShardDecision[] = [];
  const ranges: FetchPlan['ranges'] = [];
  for (const [p, list] of [...perShard].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const size = lookup(p).size;
    const neededBytes = spanBytes(coalesceRanges(list, 0));
    const merged = coalesceRanges(list, gap);
    const rangeBytes = spanBytes(merged);
    const asWhole = whole.has(p) || rangeBytes > fraction * size || !!opts.cached?.whole(p);
    shards.push({ path: p, size, neededBytes, rangeBytes, mode: asWhole ? 'whole' : 'ranges' });
    if (asWhole) whole.set(p, size);
    else for (const r of merged) ranges.push({ path: p, ...r, cached: !!opts.cached?.range(p, r.start, r.end) });
  }

  const wholeFiles = [...whole].map(([path, size]) => ({ path, size, cached: !!opts.cached?.whole(path) }));
  const bytesWhole = wholeFiles.reduce((n, f) => n + (f.cached ? 0 : f.size), 0);
  const bytesRanges = ranges.reduce((n, r) => n + (r.cached ? 0 : r.end - r.start), 0);
  return { wholeFiles, ranges, shards, bytesWhole, bytesRanges, bytesToFetch: bytesWhole + bytesRanges };
}

/** The `cached` hook of planFetch for a repo. */
export function cacheProbe(repo: HubRepo): NonNullable<FetchPlanOptions['cached']> {
  return {
    whole: (p) => repo.isWholeCached(p),
    range: (p, s, e) => repo.isRangeCached(p, s, e),
  };
}

/** Downloads everything the plan lists (cached parts are skipped by the repo). Returns bytes received. */
export async function executeFetch(repo: HubRepo, plan: FetchPlan): Promise<{ bytesFetched: number }> {
  const before = repo.bytesFetched;
  const byPath = new Map<string, ByteRange[]>();
  for (const r of plan.ranges) {
    const list = byPath.get(r.path) ?? [];
    list.push({ start: r.start, end: r.end });
    byPath.set(r.path, list);
  }
  await Promise.all([
    ...plan.wholeFiles.map((f) => repo.ensureFile(f.path)),
    // Already merged by the plan: no further gap filling.
    ...[...byPath].map(([p, list]) => repo.fetchRanges(p, list, { gapBytes: 0 })),
  ]);
  return { bytesFetched: repo.bytesFetched - before };
}
