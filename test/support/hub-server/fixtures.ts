/** Small sharded safetensors checkpoints, generated into temp folders for the Hub tests. */
import { createHash } from 'crypto';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeSafetensorsFile } from '../../../src/safetensors/writer';
import { DType, TensorSpec, tensorBytes } from '../../../src/safetensors/types';

export interface SampleTensor {
  spec: TensorSpec;
  shard: string;
  data: Buffer;
}

/** Deterministic bytes: sha256 counter stream seeded by `seed`. */
export function seededBytes(seed: string, n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0, off = 0; off < n; i++) {
    const block = createHash('sha256').update(`${seed}:${i}`).digest();
    off += block.copy(out, off);
  }
  return out;
}

export const SHARD1 = 'model-00001-of-00002.safetensors';
export const SHARD2 = 'model-00002-of-00002.safetensors';

const LAYOUT: [string, DType, number[], string][] = [
  ['model.embed_tokens.weight', 'F32', [64, 64], SHARD1],
  ['model.layers.0.mlp.weight', 'F32', [128, 64], SHARD1],
  ['model.norm.weight', 'F32', [64], SHARD1],
  // mtp.* on both sides of a large tensor, so their ranges are far apart.
  ['mtp.fc.weight', 'F32', [32, 64], SHARD2],
  ['lm_head.weight', 'BF16', [512, 64], SHARD2],
  ['mtp.norm.weight', 'F32', [64], SHARD2],
];

/** Writes config.json, the index, two shards and a nested text file into a new temp folder. */
export async function makeSampleCheckpoint(prefix = 'mtpkit-hub-ckpt-'): Promise<{ dir: string; tensors: Map<string, SampleTensor> }> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  const tensors = new Map<string, SampleTensor>();
  for (const [name, dtype, shape, shard] of LAYOUT) {
    tensors.set(name, { spec: { name, dtype, shape }, shard, data: seededBytes(name, tensorBytes(dtype, shape)) });
  }
  for (const shard of [SHARD1, SHARD2]) {
    const entries = [...tensors.values()].filter((t) => t.shard === shard).map((t) => ({ spec: t.spec, data: t.data }));
    await writeSafetensorsFile(path.join(dir, shard), entries, { format: 'pt' });
  }
  const weightMap: Record<string, string> = {};
  for (const [name, t] of [...tensors].sort()) weightMap[name] = t.shard;
  const totalSize = [...tensors.values()].reduce((n, t) => n + t.data.length, 0);
  await fsp.writeFile(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2));
  await fsp.writeFile(path.join(dir, 'config.json'), JSON.stringify({ architectures: ['Qwen3NextForCausalLM'], model_type: 'qwen3_next', num_nextn_predict_layers: 1 }, null, 2));
  await fsp.mkdir(path.join(dir, 'extra'));
  await fsp.writeFile(path.join(dir, 'extra', 'notes.txt'), 'a nested regular file\n');
  return { dir, tensors };
}
