/**
 * The fingerprint `--resume` compares: source identity (Hub commit, or each local input file's size,
 * mtime and inode, so an edited checkpoint at the same path is a different source), the planned
 * tensors with their transforms and quantization decisions, the shard layout, the quantizer rounding
 * and the tool version. Settings that users change are kept readable to explain a mismatch.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import type { CheckpointSource } from '../source/checkpoint-source';
import type { ConversionPlan } from './conversion-plan';
import type { ArtifactLayout } from './artifact-layout';
import { planFingerprint, type RunSettings } from './resume';
import { toolInfo } from '../version';

export interface RunIdentity {
  planHash: string;
  settings: RunSettings;
}

async function sourceIdentity(src: CheckpointSource): Promise<unknown> {
  const prov = src.provenance();
  if (prov.kind === 'hub') return { repo: prov.repo, commit: prov.commit };
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

export async function runIdentity(
  src: CheckpointSource,
  plan: ConversionPlan,
  layout: ArtifactLayout,
  opts: { rounding: string; maxShardBytes?: number },
): Promise<RunIdentity> {
  const { rounding } = opts;
  const source = await sourceIdentity(src);
  const shards = layout.all.flatMap((l) => l.shards);
  const dtypes = [...new Set(plan.tensors.map((t) => t.dtype))].sort().join('/');
  const settings: RunSettings = {
    source: src.label,
    'source files': planFingerprint(source).slice(0, 12),
    policy: plan.policy.name,
    'quantization rules': planFingerprint(plan.policy.rules.map((r) => r.label)).slice(0, 12),
    'float dtypes': dtypes,
    'mtp layout': layout.mtpLayout,
    'max shard bytes': String(opts.maxShardBytes ?? 'default'),
    shards: String(shards.length),
    rounding,
    tool: toolInfo().version,
  };
  const planHash = planFingerprint({
    tool: toolInfo(),
    source,
    tensors: plan.tensors,
    shards: shards.map((s) => [s.file, s.units.map((u) => u.specs)]),
    rounding,
  });
  return { planHash, settings };
}
