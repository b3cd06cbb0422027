/**
 * `mtpkit convert`: plan from headers, execute tensor by tensor into a hidden sibling folder, write the
 * index, config, assets, model card and runtime contract, then rename onto the output path.
 */
import { buildConversionPlan, type ConversionPlan, type PlanOptions } from './conversion-plan';
import type { ExecuteProgress } from './execute-plan';
import { checkOutputPath, partialDirFor, publishDir } from './atomic-dir';
import { abortableHub, asInterruption } from './interrupted';
import { openSource } from '../source/open-source';
import { planReads } from './plan-reads';
import { layoutArtifact, type ArtifactLayout } from './artifact-layout';
import { finishArtifact, type FinishInput } from './finish-artifact';
import { conversionIdentity, resumeIdentity } from './conversion-identity';
import { keepOnlyFiles } from './keep-only-files';
import { withResumableOutput } from './resumable-output';
import type { CheckpointSource } from '../source/checkpoint-source';
import type { HubConfigOptions } from '../hub/hub-config';
import type { MtpLayout } from '../arch/mtp-key-sets';
import { planStats, type GroupStats } from './plan-stats';

export interface ConvertOptions extends PlanOptions {
  source: string;
  out: string;
  force: boolean;
  threads?: number;
  rounding: 'metal' | 'cpu';
  maxShardBytes?: number;
  /** `sidecar` (default): `mtp.safetensors`; `inline`: `language_model.mtp.*` in the trunk shards. */
  mtpLayout?: MtpLayout;
  /** Reuse finished shards of an interrupted run of the same plan. */
  resume?: boolean;
  onProgress?: (p: ExecuteProgress) => void;
  hub?: HubConfigOptions;
  /** Runs on the finished hidden folder before it is moved into place (e.g. the smoke test); a throw keeps it out. */
  beforePublish?: (dir: string) => Promise<void>;
  /** Aborting stops the run after the current tensor; finished shards stay for --resume (InterruptedError). */
  signal?: AbortSignal;
  /** Things the user should know as they happen (what --resume kept or discarded, and why). */
  onNote?: (message: string) => void;
}

export interface ConvertSummary {
  out: string;
  files: string[];
  tensors: number;
  bytesWritten: number;
  /** Shards reused from an interrupted run (--resume). */
  reusedShards: string[];
  seconds: number;
  bitsPerWeight: { trunk: number; mtp: number; vision: number };
  groups: Record<string, GroupStats>;
  warnings: string[];
  reports: string[];
}

/** Runs a planned conversion from an open source into `opts.out`; shared by convert and graft. */
export async function writeArtifact(
  src: CheckpointSource,
  plan: ConversionPlan,
  opts: Omit<ConvertOptions, keyof PlanOptions | 'source'> & {
    keepVision: boolean;
    /** Graft: put the trunk's files into the partial folder before the head is written. */
    graft?: { prepare: (dir: string) => Promise<NonNullable<FinishInput['graft']>> };
  },
  started = Date.now(),
): Promise<ConvertSummary> {
  const layout: ArtifactLayout = layoutArtifact(plan.tensors, opts.mtpLayout ?? 'sidecar', opts.maxShardBytes);
  const identify = () => resumeIdentity(src, conversionIdentity(src, plan, layout, { rounding: opts.rounding, keepVision: opts.keepVision, maxShardBytes: opts.maxShardBytes }));
  return withResumableOutput(opts.out, opts, identify, async ({ partial, kept, write }) => {
    await src.prepare(planReads(plan.tensors));
    opts.signal?.throwIfAborted();
    // Input checksums (provenance): from the executor's own reads where they walk a file in order
    // (the read order is layout order), else on libuv's pool while the conversion runs. Shards kept
    // by --resume are not written again: their reads are not part of the pass.
    const toWrite = layout.all.flatMap((l) => l.shards.filter((s) => !kept.has(s.file)));
    await src.hashWhileReading?.(planReads(toWrite.flatMap((s) => s.units.map((u) => u.tensor))));
    const inputDigestsP = src.inputDigests();
    inputDigestsP.catch(() => undefined);
    const result = await write(src, layout.all, { threads: opts.threads, rounding: opts.rounding, onProgress: opts.onProgress, signal: opts.signal });
    src.endReadPass?.();
    opts.signal?.throwIfAborted();
    const digests = new Map([...kept, ...result.digests]);
    const graft = opts.graft ? await opts.graft.prepare(partial) : undefined;
    const inputDigests = await inputDigestsP;
    const files = await finishArtifact({ plan, layout, src, dir: partial, shardDigests: digests, inputDigests, keepVision: opts.keepVision, graft });
    // Only the artifact's own files are moved into place (this also drops the resume manifest).
    await keepOnlyFiles(partial, files);
    await opts.beforePublish?.(partial);
    await publishDir(partial, opts.out);
    const stats = planStats(plan.tensors);
    return {
      out: opts.out,
      files,
      tensors: layout.all.reduce((a, l) => a + l.shards.reduce((b, s) => b + s.units.reduce((c, u) => c + u.specs.length, 0), 0), 0),
      bytesWritten: result.bytesWritten,
      reusedShards: [...kept.keys()],
      seconds: (Date.now() - started) / 1000,
      // A graft plans only the head: the trunk's figure is measured on its files.
      bitsPerWeight: { trunk: graft?.bitsPerWeight ?? stats.trunk.bitsPerWeight, mtp: stats.mtp.bitsPerWeight, vision: stats.vision.bitsPerWeight },
      groups: stats,
      warnings: result.warnings,
      reports: plan.reports,
    };
  });
}

export async function runConvert(opts: ConvertOptions): Promise<ConvertSummary> {
  const started = Date.now();
  return asInterruption(opts.signal, partialDirFor(opts.out), async () => {
    const src = await openSource(opts.source, abortableHub(opts.hub, opts.signal));
    try {
      await checkOutputPath(opts.out, opts.force, src.localDir ? [src.localDir] : []);
      const config = await src.readJson<Record<string, unknown>>('config.json');
      const plan = buildConversionPlan(src.label, config, src.tensors, opts);
      return await writeArtifact(src, plan, { ...opts, keepVision: opts.vision === 'keep' }, started);
    } finally {
      await src.close();
    }
  });
}
