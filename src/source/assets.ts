/** Non-tensor files copied from the source checkpoint into the artifact (tokenizer, templates, ...). */
import * as path from 'path';
import type { CheckpointSource } from './checkpoint-source';
import { COPIED_ASSETS } from '../plan/asset-names';

export { COPIED_ASSETS };

/** Copies the assets that exist; returns their names. Sources are only read. */
export async function copyAssets(src: CheckpointSource, outDir: string): Promise<string[]> {
  const copied: string[] = [];
  for (const name of COPIED_ASSETS) {
    if (await src.copyFile(name, path.join(outDir, name))) copied.push(name);
  }
  return copied;
}
