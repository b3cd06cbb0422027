/**
 * The publish gate: an artifact whose contract MTPLX would label unverified is not published unless the
 * user says --allow-unverified. That is every blocker of `contractBlockers` (mtp-runtime-contract §6,
 * youssofal/MTPLX mtplx/backends/registry.py): a pending or failing status (pending_, fail_, ...), a
 * speed verdict that is not a win (`no_mtp_depth_beat_ar` included: MTPLX reads it as unverified wherever
 * it was measured), or public_release_blocker. Artifacts without a contract (no MTP head) are not gated.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { contractBlockers, RUNTIME_CONTRACT_FILE } from '../artifact/contract';

export async function unverifiedReasons(dir: string): Promise<string[]> {
  const text = await fsp.readFile(path.join(dir, RUNTIME_CONTRACT_FILE), 'utf8').catch(() => undefined);
  if (text === undefined) return [];
  let contract: unknown;
  try {
    contract = JSON.parse(text);
  } catch {
    return [`${RUNTIME_CONTRACT_FILE} is not valid JSON`];
  }
  return contractBlockers(contract).map((b) => `${RUNTIME_CONTRACT_FILE}: ${b}`);
}
