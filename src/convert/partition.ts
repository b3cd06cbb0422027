/**
 * Cutting a conversion into N parts by output file. Every part computes the whole layout from headers
 * (so shard names and the index agree everywhere) and then takes a contiguous run of output files.
 * Contiguous runs read neighbouring source bytes, so merged range requests of two parts seldom overlap.
 * The cut minimises the heaviest part, weighing each file by the source bytes it reads plus the bytes
 * it writes (download and compute both scale with these).
 */
import { InputError } from '../errors';
import type { ArtifactLayout } from './artifact-layout';
import type { OutputShard } from './shard-layout';
import { planReads } from './plan-reads';
import type { SourceRead } from '../source/checkpoint-source';

/** Which part of how many (index 1-based, as in shard names). */
export interface PartSpec {
  index: number;
  count: number;
}

export interface PartAssignment extends PartSpec {
  /** Output files of this part, in write order. */
  files: string[];
  outputBytes: number;
  /** Source tensor bytes the part reads (before range merging). */
  readBytes: number;
}

/** Largest part count accepted (a Kubernetes Indexed Job allows 100000 completions). */
export const MAX_PARTS = 100000;

export function checkPartSpec(p: PartSpec, what = '--part'): PartSpec {
  if (!Number.isSafeInteger(p.count) || p.count < 1 || p.count > MAX_PARTS) {
    throw new InputError(`the part count must be an integer in [1, ${MAX_PARTS}], got ${p.count}`, { field: what });
  }
  if (!Number.isSafeInteger(p.index) || p.index < 1 || p.index > p.count) {
    throw new InputError(`the part index must be an integer in [1, ${p.count}], got ${p.index}`, { field: what });
  }
  return p;
}

/** Greedy contiguous fill under `cap`: the number of groups it needs. */
function groupsUnder(weights: number[], cap: number): number {
  let groups = 0;
  let cur = 0;
  for (const w of weights) {
    if (groups === 0 || cur + w > cap) {
      groups++;
      cur = 0;
    }
    cur += w;
  }
  return groups;
}

/**
 * Splits `weights` (in order) into `n` contiguous groups (lists of indices) whose heaviest group is as
 * light as possible; when there are at least `n` items no group is empty. Deterministic.
 */
export function splitBalanced(weights: number[], n: number): number[][] {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`part count must be a positive integer, got ${n}`);
  const out: number[][] = Array.from({ length: n }, () => []);
  if (!weights.length) return out;
  // Smallest cap a greedy fill meets with at most n groups (binary search over integers).
  let lo = Math.max(...weights);
  let hi = weights.reduce((a, w) => a + w, 0);
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (groupsUnder(weights, mid) <= n) hi = mid;
    else lo = mid + 1;
  }
  // Fill again under that cap, but leave at least one item for every part still to come.
  let g = 0;
  let cur = 0;
  for (let i = 0; i < weights.length; i++) {
    const itemsLeft = weights.length - i;
    const partsLeft = n - g - 1;
    const mustMove = out[g].length > 0 && (cur + weights[i] > lo || itemsLeft <= partsLeft);
    if (mustMove && g < n - 1) {
      g++;
      cur = 0;
    }
    out[g].push(i);
    cur += weights[i];
  }
  return out;
}

/** Output files of a layout in write order. */
export function layoutShards(layout: ArtifactLayout): OutputShard[] {
  return layout.all.flatMap((l) => l.shards);
}

/** The source reads of some output shards (what a part must fetch). */
export function shardReads(shards: OutputShard[]): SourceRead[] {
  return planReads(shards.flatMap((s) => s.units.map((u) => u.tensor)));
}

const readBytesOf = (reads: SourceRead[]) => reads.reduce((a, r) => a + r.end - r.start, 0);

/** Every part of an N-way split of the layout. */
export function partitionLayout(layout: ArtifactLayout, count: number): PartAssignment[] {
  checkPartSpec({ index: 1, count });
  const shards = layoutShards(layout);
  const read = shards.map((s) => readBytesOf(shardReads([s])));
  const groups = splitBalanced(
    shards.map((s, i) => s.dataBytes + read[i]),
    count,
  );
  return groups.map((g, i) => ({
    index: i + 1,
    count,
    files: g.map((j) => shards[j].file),
    outputBytes: g.reduce((a, j) => a + shards[j].dataBytes, 0),
    readBytes: g.reduce((a, j) => a + read[j], 0),
  }));
}

/** The output shards of one part. */
export function shardsOfPart(layout: ArtifactLayout, part: PartSpec): OutputShard[] {
  checkPartSpec(part);
  const files = new Set(partitionLayout(layout, part.count)[part.index - 1].files);
  return layoutShards(layout).filter((s) => files.has(s.file));
}
