/**
 * The tensors of a checkpoint on the Hub without downloading its shards: config.json and the index are
 * fetched whole (small), and every shard's header by two range requests (8-byte length, then the JSON),
 * which also land in the range cache for later (offline) runs.
 */
import pLimit from 'p-limit';
import { InputError } from '../errors';
import { checkHeaderLength, HEADER_PREFIX_BYTES, ParsedHeader, parseHeader } from '../safetensors/header';
import { IndexFile, parseIndexJson } from '../safetensors/index-file';
import { INDEX_FILE_NAME, SINGLE_SHARD_NAME } from '../safetensors/shard-names';
import { TensorInfo } from '../safetensors/types';
import { HubRepo } from '../hub/hub-repo';

export const CONFIG_FILE_NAME = 'config.json';

export interface RemoteCheckpointHeaders {
  repo: string;
  commit: string;
  config: Record<string, unknown>;
  /** The validated index, when the repo has one. */
  index?: IndexFile;
  /** Shard paths, in index order (sorted) or the single `model.safetensors`. */
  shards: string[];
  headers: Map<string, ParsedHeader>;
  /** Every tensor, with `shard` set to its shard path. */
  tensors: Map<string, TensorInfo>;
  /** Bytes of header data read (prefixes + JSON), for reports. */
  headerBytes: number;
}

/** Reads one shard's header by ranges; TensorInfo.shard is set to the repo path. */
export async function readRemoteHeader(repo: HubRepo, shard: string): Promise<{ header: ParsedHeader; bytes: number }> {
  const size = repo.file(shard).size;
  const label = `hf://${repo.repo}@${repo.commit}/${shard}`;
  if (size < HEADER_PREFIX_BYTES) throw new InputError(`file has ${size} bytes, too small for a safetensors header`, { file: label });
  const prefix = await repo.readRange(shard, 0, HEADER_PREFIX_BYTES);
  const n = checkHeaderLength(prefix.readBigUInt64LE(0), label, size);
  const json = await repo.readRange(shard, HEADER_PREFIX_BYTES, HEADER_PREFIX_BYTES + n);
  const header = parseHeader(json, label, size, n);
  header.tensors = header.tensors.map((t) => ({ ...t, shard }));
  return { header, bytes: HEADER_PREFIX_BYTES + n };
}

export async function openRemoteCheckpointHeaders(repo: HubRepo): Promise<RemoteCheckpointHeaders> {
  const configJson = await repo.readJson(CONFIG_FILE_NAME);
  if (typeof configJson !== 'object' || configJson === null || Array.isArray(configJson)) {
    throw new InputError('is not a JSON object', { file: `${repo.label}: ${CONFIG_FILE_NAME}` });
  }

  let index: IndexFile | undefined;
  let shards: string[];
  if (repo.has(INDEX_FILE_NAME)) {
    index = parseIndexJson(await repo.readText(INDEX_FILE_NAME), `${repo.label}: ${INDEX_FILE_NAME}`);
    shards = index.shards;
    for (const s of shards) {
      if (!repo.has(s)) throw new InputError(`the index names shard '${s}', which is not in the repo`, { file: `${repo.label}: ${INDEX_FILE_NAME}` });
    }
  } else if (repo.has(SINGLE_SHARD_NAME)) {
    shards = [SINGLE_SHARD_NAME];
  } else {
    throw new InputError(`neither ${INDEX_FILE_NAME} nor ${SINGLE_SHARD_NAME} is in the repo`, { file: repo.label });
  }

  const limit = pLimit(repo.config.concurrency);
  const read = await Promise.all(shards.map((s) => limit(() => readRemoteHeader(repo, s))));
  const headers = new Map<string, ParsedHeader>();
  const tensors = new Map<string, TensorInfo>();
  let headerBytes = 0;
  shards.forEach((s, i) => {
    headers.set(s, read[i].header);
    headerBytes += read[i].bytes;
    for (const t of read[i].header.tensors) {
      const prev = tensors.get(t.name);
      if (prev) throw new InputError(`tensor is stored in both '${prev.shard}' and '${s}'`, { file: repo.label, tensor: t.name });
      tensors.set(t.name, t);
    }
  });
  if (index) {
    for (const [name, shard] of index.weightMap) {
      const t = tensors.get(name);
      if (!t) throw new InputError(`the index puts it in '${shard}', whose header does not list it`, { file: `${repo.label}: ${INDEX_FILE_NAME}`, tensor: name });
      if (t.shard !== shard) throw new InputError(`the index puts it in '${shard}' but it is in '${t.shard}'`, { file: `${repo.label}: ${INDEX_FILE_NAME}`, tensor: name });
    }
  }
  return { repo: repo.repo, commit: repo.commit, config: configJson as Record<string, unknown>, index, shards, headers, tensors, headerBytes };
}
