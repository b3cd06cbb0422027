/**
 * The publish gate: an artifact whose contract carries a pending or failing status (MTPLX's blocker
 * prefixes: pending_, fail_, ...) or a public_release_blocker is not published unless the user says
 * --allow-unverified. Artifacts without a contract (no MTP head) are not gated.
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
  return contractBlockers(contract)
    .filter((b) => /\.status is|public_release_blocker/.test(b))
    .map((b) => `${RUNTIME_CONTRACT_FILE}: ${b}`);
}
