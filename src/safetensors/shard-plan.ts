/** Splits an ordered tensor list into output shards the way mlx-lm's make_shards does. */
import { formatMlxShardName } from './shard-names';
import { TensorSpec, tensorBytes } from './types';

/** mlx-lm: MAX_FILE_SIZE_GB = 5, used as `5 << 30`. */
export const DEFAULT_MAX_SHARD_BYTES = 5 * 2 ** 30;

export interface ShardPlan {
  shards: { file: string; tensors: TensorSpec[]; dataBytes: number }[];
}

/**
 * Keeps the input order (mlx-lm writes module order, not sorted). A new shard starts when adding the
 * next tensor would push the current one past `maxShardBytes`; a tensor larger than the limit gets a
 * shard of its own. Unlike mlx-lm we never emit an empty shard when the very first tensor is oversized.
 * Zero tensors give one empty `model.safetensors`.
 */
export function planShards(tensors: TensorSpec[], maxShardBytes: number = DEFAULT_MAX_SHARD_BYTES): ShardPlan {
  if (!(maxShardBytes > 0)) throw new RangeError(`maxShardBytes must be positive, got ${maxShardBytes}`);
  const groups: { tensors: TensorSpec[]; dataBytes: number }[] = [];
  let current: { tensors: TensorSpec[]; dataBytes: number } = { tensors: [], dataBytes: 0 };
  for (const t of tensors) {
    const bytes = tensorBytes(t.dtype, t.shape);
    if (current.tensors.length > 0 && current.dataBytes + bytes > maxShardBytes) {
      groups.push(current);
      current = { tensors: [], dataBytes: 0 };
    }
    current.tensors.push(t);
    current.dataBytes += bytes;
  }
  groups.push(current);
  return { shards: groups.map((g, i) => ({ file: formatMlxShardName(i + 1, groups.length), ...g })) };
}
