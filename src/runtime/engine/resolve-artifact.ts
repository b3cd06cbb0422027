/**
 * An artifact argument as a local folder: a path as is, or `org/name[@rev]` downloaded (whole files,
 * through our Hub cache) into the cache's snapshot folder for that commit.
 */
import * as fs from 'fs';
import * as path from 'path';
import { InputError } from '../../errors';
import { resolveHubConfig, type HubConfigOptions } from '../../hub/hub-config';
import { HubRepo } from '../../hub/hub-repo';
import { parseRepoSpec } from '../../hub/repo-spec';

/** Files the engine and the tokenizer read; everything else in a repo (README, images) is skipped. */
function wanted(file: string): boolean {
  return file === 'config.json' || file.endsWith('.safetensors') || file.endsWith('.safetensors.index.json') || file.startsWith('tokenizer') ||
    file === 'chat_template.jinja' || file === 'generation_config.json' || file === 'special_tokens_map.json';
}

export async function resolveArtifact(spec: string, hub: HubConfigOptions = {}): Promise<string> {
  if (fs.existsSync(spec)) {
    if (!fs.statSync(spec).isDirectory()) throw new InputError('expected an artifact folder', { file: spec });
    return path.resolve(spec);
  }
  if (!parseRepoSpec(spec)) throw new InputError('no such folder, and not a Hub repo (org/name[@revision])', { file: spec });
  const repo = await HubRepo.open(spec, resolveHubConfig(hub));
  const files = repo.files.map((f) => f.path).filter(wanted);
  if (!files.includes('config.json')) throw new InputError(`${repo.label}: no config.json in the repo`);
  let configPath = '';
  for (const f of files) {
    const local = await repo.ensureFile(f);
    if (f === 'config.json') configPath = local;
  }
  return path.dirname(configPath);
}
