/** Non-tensor files copied from the source checkpoint into the artifact (tokenizer, templates, ...). */
import * as path from 'path';
import type { CheckpointSource } from './checkpoint-source';

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
export async function copyAssets(src: CheckpointSource, outDir: string): Promise<string[]> {
  const copied: string[] = [];
  for (const name of COPIED_ASSETS) {
    if (await src.copyFile(name, path.join(outDir, name))) copied.push(name);
  }
  return copied;
}
