/** A readable (and JSON) account of a conversion plan, for `mtpkit plan`. */
import { tensorBytes } from '../safetensors/types';
import type { ConversionPlan } from './conversion-plan';
import type { PlannedTensor, QuantDecision } from '../plan/types';
import { outputSpecs } from '../plan/output-specs';
import { planStats, type GroupStats } from './plan-stats';
import type { FetchEstimate } from '../source/checkpoint-source';
import { toSidecarMtpName } from '../arch/mtp-key-sets';
import type { ArtifactLayout } from './artifact-layout';

export interface PlanRow {
  /** The name written (the MTP layout decides the head's names: `mtp.*` in the sidecar). */
  name: string;
  /** The file it is written to. */
  file?: string;
  group: string;
  role: string;
  dtype: string;
  shape: number[];
  sources: string[];
  transforms: string[];
  decision: string;
  rule?: string;
  bytes: number;
}

export interface PlanReport {
  source: string;
  architecture: string;
  rawCheckpoint: boolean;
  rawEvidence: string;
  policy: string;
  mtpLayout?: string;
  groups: Record<string, GroupStats>;
  dropped: { name: string; reason: string }[];
  configPatch: Record<string, unknown>;
  reports: string[];
  fetch: FetchEstimate;
  tensors: PlanRow[];
}

export function describeDecision(q: QuantDecision | undefined, t: PlannedTensor): string {
  if (!q) return `keep ${t.dtype}`;
  if (q.action === 'drop') return 'drop';
  if (q.action === 'keep') return `keep ${t.dtype}`;
  return q.mode === 'affine' ? `affine ${q.bits}-bit g${q.groupSize}` : `${q.mode} g${q.groupSize}`;
}

export function planReport(plan: ConversionPlan, fetch: FetchEstimate, layout?: ArtifactLayout): PlanReport {
  const fileOf = new Map<string, string>();
  for (const l of layout?.all ?? []) for (const sh of l.shards) for (const u of sh.units) fileOf.set(u.tensor.name, sh.file);
  const written = (t: PlannedTensor) => (t.group === 'mtp' && layout?.mtpLayout === 'sidecar' ? toSidecarMtpName(t.name) : t.name);
  return {
    source: plan.source,
    architecture: plan.text.architecture,
    rawCheckpoint: plan.sanitize.raw.raw,
    rawEvidence: plan.sanitize.raw.reason,
    policy: plan.policy.name,
    ...(layout ? { mtpLayout: layout.mtpLayout } : {}),
    groups: planStats(plan.tensors),
    dropped: plan.sanitize.dropped,
    configPatch: plan.sanitize.configPatch,
    reports: plan.reports,
    fetch,
    tensors: plan.tensors.map((t) => ({
      name: written(t),
      ...(fileOf.has(written(t)) ? { file: fileOf.get(written(t)) } : {}),
      group: t.group,
      role: t.facts.role,
      dtype: t.dtype,
      shape: t.shape,
      sources: t.sources.map((s) => (s.slice ? `${s.tensor}[axis ${s.slice.axis}: ${s.slice.start}:${s.slice.end}]` : s.tensor)),
      transforms: t.notes,
      decision: describeDecision(t.quant, t),
      rule: t.quantRule,
      bytes: outputSpecs(t).reduce((a, s) => a + tensorBytes(s.dtype, s.shape), 0),
    })),
  };
}
