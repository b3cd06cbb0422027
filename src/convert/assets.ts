/** Non-tensor files copied from the source checkpoint into the artifact (tokenizer, templates, ...). */
import { promises as fsp } from 'fs';
import * as path from 'path';

export const COPIED_ASSETS: readonly string[] = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'vocab.json',
  'merges.txt',
  'chat_template.jinja',
  'chat_template.json',
  'generation_config.json',
  'preprocessor_config.json',
  'video_preprocessor_config.json',
  'LICENSE',
];

/** Copies the assets that exist; returns their names. Sources are only read. */
export async function copyAssets(srcDir: string, outDir: string): Promise<string[]> {
  const copied: string[] = [];
  for (const name of COPIED_ASSETS) {
    try {
      await fsp.copyFile(path.join(srcDir, name), path.join(outDir, name));
      copied.push(name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return copied;
}
