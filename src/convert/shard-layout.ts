/**
 * Which output file each planned tensor goes to. A planned tensor's stored tensors (weight, scales,
 * biases) always stay in one shard, so the executor computes each tensor once.
 */
import { tensorBytes, type TensorSpec } from '../safetensors/types';
import { formatMlxShardName } from '../safetensors/shard-names';
import type { ShardPlan } from '../safetensors/shard-plan';
import type { PlannedTensor } from '../plan/types';
import { outputSpecs } from '../plan/output-specs';

export interface OutputShard {
  file: string;
  /** Planned tensors in write order, with their stored tensors. */
  units: { tensor: PlannedTensor; specs: TensorSpec[] }[];
  dataBytes: number;
}

export interface FileLayout {
  shards: OutputShard[];
}

type Namer = (i: number, n: number) => string;

/** mlx-lm style names for the main shards; vision shards are `model-vision-0000i-of-0000N.safetensors`. */
export const trunkShardName: Namer = formatMlxShardName;
export const visionShardName: Namer = (i, n) =>
  `model-vision-${String(i).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;

export function layoutShards(tensors: PlannedTensor[], maxShardBytes: number, namer: Namer): FileLayout {
  const groups: Omit<OutputShard, 'file'>[] = [];
  let cur: Omit<OutputShard, 'file'> = { units: [], dataBytes: 0 };
  for (const tensor of tensors) {
    const specs = outputSpecs(tensor);
    if (!specs.length) continue;
    const bytes = specs.reduce((a, s) => a + tensorBytes(s.dtype, s.shape), 0);
    if (cur.units.length && cur.dataBytes + bytes > maxShardBytes) {
      groups.push(cur);
      cur = { units: [], dataBytes: 0 };
    }
    cur.units.push({ tensor, specs });
    cur.dataBytes += bytes;
  }
  if (cur.units.length || !groups.length) groups.push(cur);
  return { shards: groups.map((g, i) => ({ file: namer(i + 1, groups.length), ...g })) };
}

/** The shard plan shape the index writer takes. */
export function toShardPlan(layouts: FileLayout[]): ShardPlan {
  return {
    shards: layouts.flatMap((l) =>
      l.shards.map((s) => ({ file: s.file, tensors: s.units.flatMap((u) => u.specs), dataBytes: s.dataBytes })),
    ),
  };
}
