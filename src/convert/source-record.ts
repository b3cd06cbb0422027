/**
 * How an artifact names its sources in published files (card, contract): a Hub repo with the commit it
 * was read at, or a local folder by its base name only. An absolute path leaks the user's name and
 * folder layout, and means nothing on another machine; the files' sha256 identify a local source instead.
 */
import * as path from 'path';
import type { ContractSource } from '../artifact/contract';
import type { SourceProvenance } from '../source/checkpoint-source';

export function sourceRecord(prov: SourceProvenance): ContractSource {
  return prov.kind === 'hub' ? { repo: prov.repo, revision: prov.commit } : { name: path.basename(path.resolve(prov.path)) };
}

/** `org/name@commit`, or the folder's base name. */
export function sourceLabel(prov: SourceProvenance): string {
  return prov.kind === 'hub' ? `${prov.repo}@${prov.commit}` : path.basename(path.resolve(prov.path));
}
