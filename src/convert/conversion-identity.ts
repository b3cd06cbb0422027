/**
 * What identifies a conversion across machines: the source (Hub repo at a commit, or a local checkpoint
 * by its tensor table) and the fingerprint of plan + layout + byte-deciding options. Parts of one
 * conversion must agree on both; `assemble` rebuilds them from the source and compares.
 */
import { conversionFingerprint, stableJson } from '../plan/fingerprint';
import { createHash } from 'crypto';
import type { CheckpointSource } from '../source/checkpoint-source';
import type { ConversionPlan } from './conversion-plan';
import type { ArtifactLayout } from './artifact-layout';
import { toolInfo } from '../version';

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
  return { kind: 'local', revision: `tensors:${createHash('sha256').update(stableJson(table)).digest('hex')}`, spec: p.path };
}

export interface IdentityOptions {
  rounding: 'metal' | 'cpu';
  keepVision: boolean;
}

export function conversionIdentity(src: SourceIdentity, plan: ConversionPlan, layout: ArtifactLayout, opts: IdentityOptions): string {
  return conversionFingerprint({
    source: { kind: src.kind, revision: src.revision, ...(src.repo ? { repo: src.repo } : {}) },
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
}
