/**
 * A checkpoint with the real headers of a published model but sparse (unwritten) data: the files have
 * their full apparent size and take almost no disk. Enough for everything that reads headers only
 * (`mtpkit plan`, inspect), never for conversion.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { buildTensorList } from '../../fixtures/generator/tensors';
import { getVariant, type ModelDims, type VariantName } from '../../fixtures/generator/variants';
import { buildConfig } from '../../fixtures/generator/config';
import { buildHeader } from '../../src/safetensors/writer';
import type { TensorSpec } from '../../src/safetensors/types';

export const QWEN36_27B: Partial<ModelDims> = {
  fullInterval: 4, convKernel: 4, linKeyDim: 128, linValueDim: 128, headDim: 256, partialRotaryFactor: 0.25, linKeyHeads: 16,
  hidden: 5120, layers: 64, intermediate: 17408, numHeads: 24, numKvHeads: 4, linValueHeads: 48, vocab: 248320,
};

export async function writeSparseCheckpoint(dir: string, variant: VariantName, dims: Partial<ModelDims>, shards: number): Promise<number> {
  const v = getVariant(variant);
  v.dims = { ...v.dims, ...dims, vision: null };
  const tensors: TensorSpec[] = buildTensorList(v).map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape }));
  await fsp.mkdir(dir, { recursive: true });
  const per = Math.ceil(tensors.length / shards);
  const weightMap: Record<string, string> = {};
  let total = 0;
  for (let i = 0; i < shards; i++) {
    const part = tensors.slice(i * per, (i + 1) * per);
    const file = `model-${String(i + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const { header, dataBytes } = buildHeader(part, { format: 'pt' });
    const fh = await fsp.open(path.join(dir, file), 'w');
    await fh.write(header, 0, header.length, 0);
    await fh.truncate(header.length + dataBytes);
    await fh.close();
    for (const t of part) weightMap[t.name] = file;
    total += dataBytes;
  }
  await fsp.writeFile(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }));
  const ids = { endoftext: 0, imStart: 1, imEnd: 2, visionStart: 3, visionEnd: 4, imagePad: 5, videoPad: 6, used: 7 };
  await fsp.writeFile(path.join(dir, 'config.json'), JSON.stringify(buildConfig(v, ids as never)));
  return total;
}
