/**
 * The one identity of a conversion, used by `--resume` and by partitioned conversion (`convert --part`,
 * `assemble`): a fingerprint (src/plan/fingerprint.ts, stable JSON + sha256) over everything that decides
 * the output bytes (source revision, planned tensors, shard layout, rounding, MTP layout, vision, config
 * patch, policy, tool version), plus readable settings that explain a mismatch.
 *
 * Local-source rule. The fingerprint must agree across machines (parts of one conversion run on several),
 * so a local checkpoint is identified by its tensor table (names, dtypes, shapes, files, offsets) and never
 * by mtime or inode. That table cannot see weights edited in place with the same layout, which `--resume`
 * must notice: `resumeIdentity` adds a machine-local stamp of the source files (size, mtime, inode) on top
 * of the shared fingerprint. Resume also re-hashes every kept shard; the stamp is the extra guard that the
 * *input* did not change between the interrupted run and this one.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import { conversionFingerprint, stableJson } from '../plan/fingerprint';
import type { CheckpointSource } from '../source/checkpoint-source';
import type { ConversionPlan } from './conversion-plan';
import type { ArtifactLayout } from './artifact-layout';
import type { RunSettings } from './resume';
import { toolInfo } from '../version';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const short = (value: unknown) => sha256(stableJson(value)).slice(0, 12);

export interface SourceIdentity {
  kind: 'hub' | 'local';
  /** The Hub commit, or `tensors:<sha256 of the tensor table>` for a local checkpoint. */
  revision: string;
  /** How to open this very source again (`org/name@commit`, or the local path). */
  spec: string;
  repo?: string;
}

/** Local sources have no commit: the header table (names, dtypes, shapes, files, offsets) stands in. */
export function sourceIdentity(src: CheckpointSource): SourceIdentity {
  const p = src.provenance();
  if (p.kind === 'hub') return { kind: 'hub', revision: p.commit, spec: `${p.repo}@${p.commit}`, repo: p.repo };
  const table = [...src.tensors.values()]
    .map((t) => [t.name, t.dtype, t.shape, t.shard, t.offset, t.byteLength])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { kind: 'local', revision: `tensors:${sha256(stableJson(table))}`, spec: p.path };
}

export interface IdentityOptions {
  rounding: 'metal' | 'cpu';
  keepVision: boolean;
  /** Only shown in the settings: its effect on the bytes is the layout, which is fingerprinted. */
  maxShardBytes?: number;
}

export interface ConversionIdentity {
  /** The same on every machine that plans this conversion of this source. */
  fingerprint: string;
  source: SourceIdentity;
  /** What a user changes, readable, to explain a mismatch; portable like the fingerprint (no paths). */
  settings: RunSettings;
}

export function conversionIdentity(src: CheckpointSource, plan: ConversionPlan, layout: ArtifactLayout, opts: IdentityOptions): ConversionIdentity {
  const source = sourceIdentity(src);
  const shards = layout.all.flatMap((l) => l.shards);
  const fingerprint = conversionFingerprint({
    source: { kind: source.kind, revision: source.revision, ...(source.repo ? { repo: source.repo } : {}) },
    tensors: plan.tensors,
    shards: layout.all.map((l) => l.shards.map((s) => ({ file: s.file, specs: s.units.flatMap((u) => u.specs) }))),
    options: {
      rounding: opts.rounding,
      mtpLayout: layout.mtpLayout,
      keepVision: opts.keepVision,
      // The config patch and policy summary end up in config.json and the card.
      configPatch: plan.sanitize.configPatch,
      policy: plan.policy,
      // Another mtpkit version may compute other bytes from the same plan.
      tool: toolInfo(),
    },
  });
  const settings: RunSettings = {
    'source revision': source.revision.slice(0, 19),
    policy: plan.policy.name,
    'quantization rules': short(plan.policy.rules.map((r) => r.label)),
    'float dtypes': [...new Set(plan.tensors.map((t) => t.dtype))].sort().join('/'),
    'mtp layout': layout.mtpLayout,
    vision: opts.keepVision ? 'keep' : 'drop',
    'max shard bytes': String(opts.maxShardBytes ?? 'default'),
    shards: String(shards.length),
    rounding: opts.rounding,
    tool: toolInfo().version,
  };
  return { fingerprint, source, settings };
}

/** This machine's view of the local input files (path, size, mtime, inode); undefined for the Hub (the commit pins it). */
async function localSourceStamp(src: CheckpointSource): Promise<unknown> {
  const prov = src.provenance();
  if (prov.kind === 'hub') return undefined;
  const dir = src.localDir ?? prov.path;
  const files = [...new Set([...src.tensors.values()].map((t) => t.shard))].sort();
  const stats = await Promise.all(
    files.map(async (f) => {
      const st = await fsp.stat(path.resolve(dir, f)).catch(() => undefined);
      return st ? [f, st.size, st.mtimeMs, st.ino] : [f, 'missing'];
    }),
  );
  return { path: path.resolve(prov.path), files: stats };
}

export interface ResumeIdentity {
  planHash: string;
  settings: RunSettings;
}

/**
 * The key a partial folder is resumed under: the shared fingerprint, the machine-local source stamp
 * (see the header) and `scope` (e.g. which part of a partitioned conversion this folder holds).
 */
export async function resumeIdentity(src: CheckpointSource, id: ConversionIdentity, scope: RunSettings = {}): Promise<ResumeIdentity> {
  const stamp = await localSourceStamp(src);
  const settings: RunSettings = { ...scope, source: src.label, ...id.settings, ...(stamp === undefined ? {} : { 'source files': short(stamp) }) };
  return { planHash: sha256(stableJson({ fingerprint: id.fingerprint, stamp, scope })), settings };
}
