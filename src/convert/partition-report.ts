/** `mtpkit plan SRC --parts N`: how the conversion splits, and what each part downloads and stores. */
import type { CheckpointSource } from '../source/checkpoint-source';
import type { ArtifactLayout } from './artifact-layout';
import { layoutShards, partitionLayout, shardReads } from './partition';

export interface PartReport {
  index: number;
  count: number;
  files: string[];
  outputBytes: number;
  /** Source tensor bytes the part's files are computed from. */
  readBytes: number;
  /** Bytes the part would download now (0 for a local source or what is cached). */
  fetchBytes: number;
  rangeRequests: number;
  /** Disk a part needs at its peak: what it downloads into the cache plus what it writes. */
  peakDiskBytes: number;
}

export interface PartitionReport {
  parts: PartReport[];
  totalOutputBytes: number;
  totalFetchBytes: number;
  /** The largest output file: a part's peak is about its share plus at most this. */
  largestFileBytes: number;
}

export async function partitionReport(src: CheckpointSource, layout: ArtifactLayout, count: number): Promise<PartitionReport> {
  const shards = layoutShards(layout);
  const byFile = new Map(shards.map((s) => [s.file, s]));
  const parts: PartReport[] = [];
  for (const p of partitionLayout(layout, count)) {
    const est = await src.estimateFetch(shardReads(p.files.map((f) => byFile.get(f)!)));
    parts.push({ ...p, fetchBytes: est.bytesToFetch, rangeRequests: est.rangeRequests, peakDiskBytes: est.bytesToFetch + p.outputBytes });
  }
  return {
    parts,
    totalOutputBytes: parts.reduce((a, p) => a + p.outputBytes, 0),
    totalFetchBytes: parts.reduce((a, p) => a + p.fetchBytes, 0),
    largestFileBytes: Math.max(0, ...shards.map((s) => s.dataBytes)),
  };
}
