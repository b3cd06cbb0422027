/**
 * Which files of a folder belong to the artifact: those its own documents name (the index and its
 * shards, the MTP sidecar config.json points at, the contract's output checksums), plus config.json,
 * the model card, the contract and the copied assets. `publish` uploads exactly these; `validate`
 * reports the rest. A leftover of an interrupted write is an error (it means a write went wrong in
 * this folder); any other stranger is only reported, since publish leaves it out anyway.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { INDEX_FILE_NAME } from '../safetensors/shard-names';
import { MTP_SIDECAR_CANDIDATES } from '../arch/mtp-key-sets';
import { COPIED_ASSETS } from '../plan/asset-names';
import { RUNTIME_CONTRACT_FILE } from './contract';
import { listSome } from './validate-mtp';

export interface ArtifactFiles {
  /** Files the artifact declares, present on disk as regular files (relative, `/`-separated, sorted). */
  members: string[];
  /** Temporary files of interrupted writes (`*.tmp-<pid>-<hex>`, `*.incomplete`, resume manifests). */
  leftovers: string[];
  /** Everything else: no document of the artifact names it. */
  unknown: string[];
}

const FIXED = ['config.json', 'README.md', RUNTIME_CONTRACT_FILE, INDEX_FILE_NAME, ...COPIED_ASSETS];

/** Names our writers (and huggingface_hub's downloads) use for files that are not finished. */
export function isWriteLeftover(rel: string): boolean {
  const base = rel.split('/').pop() ?? rel;
  return /\.tmp-\d+-[0-9a-f]+$/.test(base) || base.endsWith('.incomplete') || /^\.mtpkit-/.test(base) || /\.mtpkit-(partial|lock)/.test(base);
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

async function readJson(file: string): Promise<Json | undefined> {
  try {
    const v = JSON.parse(await fsp.readFile(file, 'utf8'));
    return isObj(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Names the artifact's documents give (whether or not they exist). */
async function declaredNames(dir: string): Promise<Set<string>> {
  const names = new Set<string>(FIXED);
  const index = await readJson(path.join(dir, INDEX_FILE_NAME));
  if (index && isObj(index.weight_map)) for (const v of Object.values(index.weight_map)) if (typeof v === 'string') names.add(v);
  const config = await readJson(path.join(dir, 'config.json'));
  const extra = config && isObj(config.mlx_lm_extra_tensors) ? config.mlx_lm_extra_tensors : undefined;
  if (extra && typeof extra.mtp_file === 'string') names.add(extra.mtp_file);
  else for (const c of MTP_SIDECAR_CANDIDATES) names.add(c);
  const contract = await readJson(path.join(dir, RUNTIME_CONTRACT_FILE));
  const prov = contract && isObj(contract.mtpkit_provenance) ? contract.mtpkit_provenance : undefined;
  if (prov && Array.isArray(prov.output_checksums)) {
    for (const c of prov.output_checksums) if (isObj(c) && typeof c.file === 'string') names.add(c.file);
  }
  return names;
}

/** Every file under `dir` (symlinks to files count as files), skipping `.git`. */
async function walk(dir: string): Promise<{ rel: string; isFile: boolean }[]> {
  const out: { rel: string; isFile: boolean }[] = [];
  const rec = async (abs: string, rel: string): Promise<void> => {
    for (const d of await fsp.readdir(abs, { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      const a = path.join(abs, d.name);
      const st = await fsp.stat(a).catch(() => undefined);
      if (st?.isDirectory()) {
        if (d.name !== '.git') await rec(a, r);
      } else {
        out.push({ rel: r, isFile: !!st?.isFile() });
      }
    }
  };
  await rec(dir, '');
  return out.sort((x, y) => (x.rel < y.rel ? -1 : x.rel > y.rel ? 1 : 0));
}

export async function artifactFiles(dir: string): Promise<ArtifactFiles> {
  const declared = await declaredNames(dir);
  const out: ArtifactFiles = { members: [], leftovers: [], unknown: [] };
  for (const { rel, isFile } of await walk(dir)) {
    if (isWriteLeftover(rel)) out.leftovers.push(rel);
    else if (isFile && declared.has(rel)) out.members.push(rel);
    else out.unknown.push(rel);
  }
  return out;
}

/** The files `publish` uploads; none when `dir` is not a folder (publish then says so). */
export async function artifactMembers(dir: string): Promise<string[]> {
  const st = await fsp.stat(dir).catch(() => undefined);
  return st?.isDirectory() ? (await artifactFiles(dir)).members : [];
}

/** validate's view: leftovers are problems, strangers are information. */
export async function checkArtifactFiles(dir: string): Promise<{ problems: string[]; info: string[] }> {
  const f = await artifactFiles(dir);
  return {
    problems: f.leftovers.map((l) => `${l}: leftover of an interrupted write, not part of the artifact; delete it (publish skips it)`),
    info: f.unknown.length ? [`${listSome(f.unknown)}: not part of the artifact (no index, config, contract or card names it); publish will not upload it`] : [],
  };
}
