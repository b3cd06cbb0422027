/** How the trunk is wired into the head, as the artifact's contract states it (MTPLX `MTPContract`, §3). */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { RUNTIME_CONTRACT_FILE } from '../artifact/contract';
import type { HiddenVariant } from '../speculative/speculative-decode';

export type ConcatOrder = 'embedding_hidden' | 'hidden_embedding';

export interface Wiring {
  base_hidden_variant: HiddenVariant;
  concat_order: ConcatOrder;
}

/** MTPLX's defaults (post_norm, embedding_hidden) where the contract is silent or absent. */
export async function readStatedWiring(dir: string): Promise<Wiring> {
  const text = await fsp.readFile(path.join(dir, RUNTIME_CONTRACT_FILE), 'utf8').catch(() => undefined);
  const c = text ? (JSON.parse(text)?.mtp_contract ?? {}) : {};
  return {
    base_hidden_variant: c.base_hidden_variant === 'pre_norm' ? 'pre_norm' : 'post_norm',
    concat_order: c.concat_order === 'hidden_embedding' ? 'hidden_embedding' : 'embedding_hidden',
  };
}
