/**
 * What a graft records of the trunk it added a head to (`mtpkit_provenance.graft`): where the trunk came
 * from (Hub repo + revision, or only the folder's base name), its quantization, and the content hash
 * that pairs it with the head, so a head moved onto another trunk is caught by validate.
 */
import { createHash } from 'crypto';
import type { ContractSource } from './contract-source';

export interface TrunkQuantization {
  bits: number | null;
  group_size: number | null;
  mode: string;
  /** Modules with their own bits / group size (mixed policies). */
  overrides: number;
}

export interface GraftRecord {
  trunk: ContractSource & {
    /** null when the trunk is not quantized (float). */
    quantization: TrunkQuantization | null;
    bits_per_weight?: number;
    /** The trunk's weight files and their sha256 (the index, config and assets are in output_checksums). */
    files: { file: string; sha256: string }[];
    /** sha256 over `sha256  file` lines of `files` (sorted by name): the trunk's identity. */
    content_sha256: string;
  };
  head: { source: ContractSource; file: string; sha256: string };
}

/** One hash for a set of files, independent of the order they are listed in. */
export function contentSha256(files: readonly { file: string; sha256: string }[]): string {
  const lines = [...files].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0)).map((f) => `${f.sha256}  ${f.file}\n`);
  return createHash('sha256').update(lines.join('')).digest('hex');
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The trunk's quantization as its config.json states it (mlx-lm's `quantization` block). */
export function trunkQuantization(config: Record<string, unknown>): TrunkQuantization | null {
  const q = isObj(config.quantization) ? config.quantization : isObj(config.quantization_config) ? config.quantization_config : undefined;
  if (!q) return null;
  return {
    bits: typeof q.bits === 'number' ? q.bits : null,
    group_size: typeof q.group_size === 'number' ? q.group_size : null,
    mode: typeof q.mode === 'string' ? q.mode : 'affine',
    overrides: Object.values(q).filter(isObj).length,
  };
}

/** `affine 4-bit g64 (+3 per-module overrides)` or `float (not quantized)`. */
export function describeQuantization(q: TrunkQuantization | null): string {
  if (!q) return 'float (not quantized)';
  const base = `${q.mode} ${q.bits ?? '?'}-bit g${q.group_size ?? '?'}`;
  return q.overrides ? `${base} (+${q.overrides} per-module override${q.overrides === 1 ? '' : 's'})` : base;
}

/**
 * Problems when the files on disk are not the pair the graft recorded. `actual` maps a file to its
 * current sha256 (undefined when missing).
 */
export function checkGraftPairing(rec: unknown, actual: (file: string) => string | undefined, where: string): string[] {
  if (!isObj(rec) || !isObj(rec.trunk) || !isObj(rec.head) || !Array.isArray(rec.trunk.files)) {
    return [`${where}: mtpkit_provenance.graft is malformed (needs trunk.files, trunk.content_sha256, head.file, head.sha256)`];
  }
  const out: string[] = [];
  const files = rec.trunk.files.filter(isObj).map((f) => ({ file: String(f.file), sha256: String(f.sha256) }));
  if (contentSha256(files) !== rec.trunk.content_sha256) out.push(`${where}: mtpkit_provenance.graft.trunk.content_sha256 does not match the trunk files it lists (edited?)`);
  const now = files.map((f) => ({ file: f.file, sha256: actual(f.file) }));
  const gone = now.filter((f) => f.sha256 === undefined).map((f) => f.file);
  if (gone.length) out.push(`${where}: the grafted trunk's file(s) ${gone.map((f) => `'${f}'`).join(', ')} are missing`);
  else {
    const have = contentSha256(now as { file: string; sha256: string }[]);
    if (have !== rec.trunk.content_sha256) {
      out.push(`${where}: the MTP head was grafted onto trunk ${String(rec.trunk.content_sha256).slice(0, 12)}…, but these trunk files hash to ${have.slice(0, 12)}…: head and trunk are not the recorded pair`);
    }
  }
  const headNow = typeof rec.head.file === 'string' ? actual(rec.head.file) : undefined;
  if (headNow !== rec.head.sha256) out.push(`${where}: the MTP head '${String(rec.head.file)}' is not the one grafted (sha256 ${headNow ? 'differs' : 'unavailable'})`);
  return out;
}
