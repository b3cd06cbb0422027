/** Opens a conversion source: a local path, or `org/name[@revision]` on the Hub. */
import * as fs from 'fs';
import { InputError } from '../errors';
import { parseRepoSpec } from '../hub/repo-spec';
import type { HubConfigOptions } from '../hub/hub-config';
import type { CheckpointSource } from './checkpoint-source';
import { LocalSource } from './local-source';
import { HubSource } from './hub-source';

export async function openSource(spec: string, hub: HubConfigOptions = {}): Promise<CheckpointSource> {
  if (fs.existsSync(spec)) return LocalSource.open(spec);
  const repo = parseRepoSpec(spec);
  if (!repo) throw new InputError('no such file or folder, and not a Hub repo (org/name[@revision])', { file: spec });
  return HubSource.open(spec, hub);
}
