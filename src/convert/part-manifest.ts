/**
 * The small record a part leaves next to its shards (`mtpkit-parts/part-0000i-of-0000N.json`): which
 * conversion it belongs to (fingerprint, source revision, options to rebuild the plan), and for each
 * shard its size, sha256 and stored tensors, plus the quantization decisions of its tensors.
 * `assemble` trusts these checksums (it never rereads a shard it did not have to) and checks the rest.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { InputError } from '../errors';
import type { PlannedTensor, QuantDecision } from '../plan/types';
import type { PolicyChoice } from './apply-policy';
import type { TargetDType } from '../sanitize/plan-sanitize';
import type { MtpLayout } from '../arch/mtp-key-sets';
import type { SourceIdentity } from './conversion-identity';
import type { PartSpec } from './partition';
import type { OutputShard } from './shard-layout';
import type { FileDigest } from './execute-plan';
import type { RunSettings } from './resume';
import { writeFileAtomic } from '../safetensors/writer';

export const PART_DIR = 'mtpkit-parts';
export const PART_FORMAT = 'mtpkit-part';

/** The options a part was converted with: enough to rebuild the same plan anywhere. */
export interface PartPlanOptions {
  policy: PolicyChoice;
  vision: 'drop' | 'keep';
  mtp: 'keep' | 'drop';
  dtype?: TargetDType;
  mtpLayout: MtpLayout;
  maxShardBytes?: number;
  rounding: 'metal' | 'cpu';
}

export interface PartShard extends FileDigest {
  file: string;
  /** Stored tensor names, in file order. */
  tensors: string[];
}

export interface PartManifest {
  format: typeof PART_FORMAT;
  version: 1;
  part: PartSpec;
  fingerprint: string;
  /** The readable settings behind the fingerprint, to explain a mismatch (absent in older manifests). */
  settings?: RunSettings;
  source: SourceIdentity;
  options: PartPlanOptions;
  shards: PartShard[];
  /** The decision (and the policy rule behind it) of every planned tensor of this part. */
  quantization: { tensor: string; decision: QuantDecision | null; rule?: string }[];
  tool: { name: string; version: string };
}

const pad = (n: number) => String(n).padStart(5, '0');

/** `mtpkit-parts/part-00002-of-00007.json` */
export function partManifestPath(p: PartSpec): string {
  return `${PART_DIR}/part-${pad(p.index)}-of-${pad(p.count)}.json`;
}

export const PART_MANIFEST_RE = /(^|\/)mtpkit-parts\/part-\d{5,}-of-\d{5,}\.json$/;

export function buildPartManifest(x: {
  part: PartSpec;
  fingerprint: string;
  settings: RunSettings;
  source: SourceIdentity;
  options: PartPlanOptions;
  shards: OutputShard[];
  digests: Map<string, FileDigest>;
  tool: { name: string; version: string };
}): PartManifest {
  const tensors: PlannedTensor[] = x.shards.flatMap((s) => s.units.map((u) => u.tensor));
  return {
    format: PART_FORMAT,
    version: 1,
    part: { index: x.part.index, count: x.part.count },
    fingerprint: x.fingerprint,
    settings: x.settings,
    source: x.source,
    options: x.options,
    shards: x.shards.map((s) => {
      const d = x.digests.get(s.file);
      if (!d) throw new Error(`no digest for ${s.file}`);
      return { file: s.file, size: d.size, sha256: d.sha256, tensors: s.units.flatMap((u) => u.specs.map((sp) => sp.name)) };
    }),
    quantization: tensors.map((t) => ({ tensor: t.name, decision: t.quant ?? null, ...(t.quantRule ? { rule: t.quantRule } : {}) })),
    tool: x.tool,
  };
}

export async function writePartManifest(dir: string, m: PartManifest): Promise<string> {
  const rel = partManifestPath(m.part);
  await fsp.mkdir(path.join(dir, PART_DIR), { recursive: true });
  await writeFileAtomic(path.join(dir, rel), JSON.stringify(m, null, 2) + '\n');
  return rel;
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** Checks the shape of a parsed manifest; `label` names it in errors. */
export function parsePartManifest(value: unknown, label: string): PartManifest {
  const bad = (field: string, why: string) => new InputError(`not a valid part manifest: ${why}`, { file: label, field });
  if (!isObj(value) || value.format !== PART_FORMAT) throw bad('format', `expected format "${PART_FORMAT}"`);
  if (value.version !== 1) throw bad('version', `unsupported version ${JSON.stringify(value.version)}`);
  const part = value.part;
  if (!isObj(part) || !Number.isSafeInteger(part.index) || !Number.isSafeInteger(part.count) || (part.index as number) < 1 || (part.index as number) > (part.count as number)) {
    throw bad('part', 'expected { index, count } with 1 <= index <= count');
  }
  if (typeof value.fingerprint !== 'string' || !/^[0-9a-f]{64}$/.test(value.fingerprint)) throw bad('fingerprint', 'expected a sha256 hex string');
  const src = value.source;
  if (!isObj(src) || (src.kind !== 'hub' && src.kind !== 'local') || typeof src.revision !== 'string' || typeof src.spec !== 'string') {
    throw bad('source', 'expected { kind, revision, spec }');
  }
  if (!isObj(value.options) || !isObj(value.options.policy) || typeof value.options.policy.spec !== 'string') throw bad('options', 'expected the conversion options');
  if (!Array.isArray(value.shards)) throw bad('shards', 'expected a list');
  value.shards.forEach((s, i) => {
    if (!isObj(s) || typeof s.file !== 'string' || !Number.isSafeInteger(s.size) || typeof s.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(s.sha256) || !Array.isArray(s.tensors)) {
      throw bad(`shards[${i}]`, 'expected { file, size, sha256, tensors }');
    }
    if (s.file.includes('/') || s.file.startsWith('.')) throw bad(`shards[${i}].file`, `unsafe file name ${JSON.stringify(s.file)}`);
  });
  if (!Array.isArray(value.quantization)) throw bad('quantization', 'expected a list');
  return value as unknown as PartManifest;
}

/** `part 2/7` */
export const partLabel = (p: PartSpec) => `part ${p.index}/${p.count}`;
