/**
 * How the plan's tensors are split over files: trunk shards, optional vision shards, and the MTP head
 * either in its own sidecar (`mtp.safetensors`, `mtp.*` names, not in the index) or inline in the trunk.
 */
import { DEFAULT_MAX_SHARD_BYTES } from '../safetensors/shard-plan';
import { MTP_SIDECAR_FILE, toSidecarMtpName, type MtpLayout } from '../arch/mtp-key-sets';
import type { PlannedTensor } from '../plan/types';
import { layoutShards, trunkShardName, visionShardName, type FileLayout } from './shard-layout';

export interface ArtifactLayout {
  mtpLayout: MtpLayout;
  /** Trunk (+ inline MTP) shards and vision shards: these are listed in the index. */
  indexed: FileLayout[];
  /** The sidecar, when the head is written as one. */
  sidecar?: FileLayout;
  /** Every layout in write order. */
  all: FileLayout[];
}

export function layoutArtifact(tensors: PlannedTensor[], mtpLayout: MtpLayout, maxShardBytes = DEFAULT_MAX_SHARD_BYTES): ArtifactLayout {
  const inlineMtp = mtpLayout === 'inline';
  const main = tensors.filter((t) => t.group === 'trunk' || (inlineMtp && t.group === 'mtp'));
  const vision = tensors.filter((t) => t.group === 'vision');
  const mtp = inlineMtp ? [] : tensors.filter((t) => t.group === 'mtp').map((t) => ({ ...t, name: toSidecarMtpName(t.name) }));
  // A graft plans only the head: no trunk shards are written then (the trunk's own are linked in).
  const indexed = main.length ? [layoutShards(main, maxShardBytes, trunkShardName)] : [];
  if (vision.length) indexed.push(layoutShards(vision, maxShardBytes, visionShardName));
  // The head is small next to the trunk: one file, whatever the shard limit.
  const sidecar = mtp.length ? layoutShards(mtp, Number.MAX_SAFE_INTEGER, () => MTP_SIDECAR_FILE) : undefined;
  return { mtpLayout, indexed, sidecar, all: sidecar ? [...indexed, sidecar] : indexed };
}

export function storedTensorCount(l: FileLayout): number {
  return l.shards.reduce((a, s) => a + s.units.reduce((b, u) => b + u.specs.length, 0), 0);
}
