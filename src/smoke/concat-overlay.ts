/**
 * A view of an artifact whose head concatenates [hidden, embedding] instead of [embedding, hidden]:
 * the engine always builds fc([e, h]), so the other order is measured by swapping the two column
 * halves of mtp.fc (x = W[:, :H] a + W[:, H:] b, so swapped halves read the inputs the other way round).
 * Every other file is a symlink; only the file holding mtp.fc is rewritten. Packed affine weights
 * swap whole words and their scales/biases whole groups, which needs the half width H to fill whole
 * words and groups.
 */
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SafetensorsFile } from '../safetensors/reader';
import { writeSafetensorsFile } from '../safetensors/writer';

const FC = /(^|\.)mtp\.fc\.(weight|scales|biases)$/;

function swapHalves(data: Buffer, rows: number): Buffer {
  const rowBytes = data.length / rows;
  const half = rowBytes / 2;
  if (!Number.isInteger(half)) throw new Error('mtp.fc halves do not split on a byte boundary');
  const out = Buffer.allocUnsafe(data.length);
  for (let r = 0; r < rows; r++) {
    const o = r * rowBytes;
    data.copy(out, o, o + half, o + rowBytes);
    data.copy(out, o + half, o, o + half);
  }
  return out;
}

/** Returns the overlay folder (caller removes it), or undefined when the artifact has no mtp.fc. */
export async function swappedConcatOverlay(dir: string): Promise<string | undefined> {
  const files = [...(await fsp.readdir(dir)).filter((f) => f.endsWith('.safetensors'))];
  let fcFile: string | undefined;
  for (const f of files) {
    const sf = await SafetensorsFile.open(path.join(dir, f), f);
    const has = [...sf.tensors.keys()].some((n) => FC.test(n));
    await sf.close();
    if (has) fcFile = f;
  }
  if (!fcFile) return undefined;
  const out = await fsp.mkdtemp(path.join(os.tmpdir(), 'mtpkit-concat-'));
  for (const entry of await fsp.readdir(dir)) {
    if (entry !== fcFile) await fsp.symlink(path.resolve(dir, entry), path.join(out, entry));
  }
  const sf = await SafetensorsFile.open(path.join(dir, fcFile), fcFile);
  try {
    const entries = [];
    for (const [name, info] of sf.tensors) {
      const data = await sf.readTensor(name);
      entries.push({ spec: { name, dtype: info.dtype, shape: info.shape }, data: FC.test(name) ? swapHalves(data, info.shape[0]) : data });
    }
    await writeSafetensorsFile(path.join(out, fcFile), entries, { format: 'mlx' });
  } finally {
    await sf.close();
  }
  return out;
}
