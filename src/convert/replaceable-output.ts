/**
 * What `--force` may replace: nothing, an empty folder, or a folder that is recognisably an MLX /
 * mtpkit artifact and holds nothing else (its config.json plus an index, a contract or its shards,
 * and no file that no document of the artifact names). Anything else (a plain file, a symlink, a
 * folder of notes, a git clone) is refused, since replacing it deletes it.
 */
import { promises as fsp } from 'fs';
import { artifactFiles } from '../artifact/artifact-files';
import { INDEX_FILE_NAME } from '../safetensors/shard-names';
import { RUNTIME_CONTRACT_FILE } from '../artifact/contract';
import { listSome } from '../artifact/validate-mtp';

/** Why `out` may not be replaced, or undefined when it may (or does not exist). */
export async function whyNotReplaceable(out: string): Promise<string | undefined> {
  const st = await fsp.lstat(out).catch(() => undefined);
  if (!st) return undefined;
  if (st.isSymbolicLink()) return 'it is a symbolic link';
  if (!st.isDirectory()) return 'it is a file, not an artifact folder';
  if ((await fsp.readdir(out)).length === 0) return undefined;
  const f = await artifactFiles(out);
  const has = (n: string) => f.members.includes(n);
  if (!has('config.json') || !(has(INDEX_FILE_NAME) || has(RUNTIME_CONTRACT_FILE) || f.members.some((m) => m.endsWith('.safetensors')))) {
    return 'it does not look like an MLX artifact (no config.json with an index, contract or safetensors shards)';
  }
  if (f.unknown.length) return `it holds file(s) that are not part of an MLX artifact: ${listSome(f.unknown)}`;
  return undefined;
}
