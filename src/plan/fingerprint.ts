/**
 * The identity of a conversion: a sha256 over a stable JSON rendering of everything that decides the
 * bytes of the output (plan, shard layout, source identity, options). Stable means object keys are
 * sorted, so two processes (or machines) that build the same plan get the same fingerprint whatever
 * order their objects were built in. Pure: no I/O, no clock.
 */
import { createHash } from 'crypto';

/** JSON with object keys sorted at every depth; `undefined` members are left out (as JSON.stringify does). */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const s = JSON.stringify(value);
    // JSON.stringify(undefined) is undefined; inside arrays it renders as null, as here.
    return s === undefined ? 'null' : s;
  }
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const keys = Object.keys(value as Record<string, unknown>)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** What a conversion fingerprint is computed over (plain data only). */
export interface FingerprintInput {
  /** Source identity: for the Hub `{ repo, commit }`, locally a digest of the tensor table. */
  source: unknown;
  /** The planned tensors (sources, transforms, decisions). */
  tensors: unknown;
  /** Output files in write order, each with its stored tensor specs. */
  shards: unknown;
  /** Options that change bytes but are not visible in the plan (rounding, MTP layout, shard size). */
  options: unknown;
}

/** sha256 (hex) of the stable JSON of `input`. */
export function conversionFingerprint(input: FingerprintInput): string {
  return createHash('sha256').update(stableJson(input)).digest('hex');
}
