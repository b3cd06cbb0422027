/**
 * `mtpkit convert SRC OUT --part i/N`: one part of a conversion spread over machines. The plan and the
 * whole layout are built from headers as for a full convert; this part fetches only the source bytes
 * of its own output files, writes those files and a part manifest into OUT (atomically, as convert
 * does), and optionally pushes them to a Hub repo as one commit. Re-running a finished part does
 * nothing (a local OUT, or the pushed commit, with the same fingerprint is recognised).
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { buildConversionPlan } from './conversion-plan';
import { layoutArtifact } from './artifact-layout';
import type { FileDigest } from './execute-plan';
import { checkOutputPath, partialDirFor, publishDir } from './atomic-dir';
import { abortableHub, asInterruption } from './interrupted';
import { withResumableOutput } from './resumable-output';
import { RESUME_FILE } from './resume';
import { openSource } from '../source/open-source';
import { HubSource } from '../source/hub-source';
import { conversionIdentity, resumeIdentity, type ConversionIdentity } from './conversion-identity';
import { buildPartManifest, parsePartManifest, partManifestPath, writePartManifest, type PartPlanOptions } from './part-manifest';
import { checkPartSpec, shardReads, shardsOfPart, type PartSpec } from './partition';
import { partAlreadyPushed } from './part-hub';
import { publishArtifact, type PublishResult } from '../hub/publish';
import { resolveHubConfig, type HubConfigOptions } from '../hub/hub-config';
import { toolInfo } from '../version';
import type { ConvertOptions } from './pipeline';
import type { OutputShard } from './shard-layout';

export interface PushTarget {
  repo: string;
  revision?: string;
  private?: boolean;
}

export interface PartConvertOptions extends ConvertOptions {
  part: PartSpec;
  push?: PushTarget;
}

export interface PartSummary {
  out: string;
  part: PartSpec;
  fingerprint: string;
  sourceRevision: string;
  files: string[];
  bytesWritten: number;
  /** Bytes this process downloaded from the Hub (0 for a local source). */
  bytesFetched: number;
  /** `local`: OUT already held this part; `hub`: the repo already held it; undefined: converted now. */
  skipped?: 'local' | 'hub';
  reusedShards: string[];
  pushed?: PublishResult;
  seconds: number;
  warnings: string[];
}

/**
 * Without a --whole-shard-fraction of its own, a part downloads ranges only: fetching a whole source
 * shard because this part needs most of it would make neighbouring parts download the same bytes twice.
 */
export function partHubOptions(hub: HubConfigOptions | undefined): HubConfigOptions {
  return { ...hub, wholeShardFraction: hub?.wholeShardFraction ?? 1 };
}

/** The finished part in `out`, if it is this very part of this conversion and its files are all there. */
async function finishedPart(out: string, part: PartSpec, fingerprint: string): Promise<string[] | undefined> {
  const file = path.join(out, partManifestPath(part));
  let m;
  try {
    m = parsePartManifest(JSON.parse(await fsp.readFile(file, 'utf8')), file);
  } catch {
    // Absent or unreadable: not a finished part (an existing OUT is then refused without --force).
    return undefined;
  }
  if (m.fingerprint !== fingerprint) return undefined;
  for (const s of m.shards) {
    const st = await fsp.stat(path.join(out, s.file)).catch(() => undefined);
    if (st?.size !== s.size) return undefined;
  }
  return m.shards.map((s) => s.file);
}

export function runConvertPart(opts: PartConvertOptions): Promise<PartSummary> {
  return asInterruption(opts.signal, partialDirFor(opts.out), () => convertOnePart(opts));
}

async function convertOnePart(opts: PartConvertOptions): Promise<PartSummary> {
  const started = Date.now();
  const part = checkPartSpec(opts.part);
  const src = await openSource(opts.source, partHubOptions(abortableHub(opts.hub, opts.signal)));
  try {
    const config = await src.readJson<Record<string, unknown>>('config.json');
    const plan = buildConversionPlan(src.label, config, src.tensors, opts);
    const mtpLayout = opts.mtpLayout ?? 'sidecar';
    const layout = layoutArtifact(plan.tensors, mtpLayout, opts.maxShardBytes);
    const keepVision = opts.vision === 'keep';
    const id = conversionIdentity(src, plan, layout, { rounding: opts.rounding, keepVision, maxShardBytes: opts.maxShardBytes });
    const { fingerprint, source: identity } = id;
    const mine = shardsOfPart(layout, part);
    const base = { out: opts.out, part, fingerprint, sourceRevision: identity.revision, warnings: [] as string[] };
    const fetched = () => (src instanceof HubSource ? src.bytesFetched : 0);
    const hubConfig = opts.push ? resolveHubConfig(opts.hub) : undefined;

    // Already in the repo (this very part of this conversion, every shard there): nothing to do at all.
    if (opts.push && !opts.force && (await partAlreadyPushed(opts.push.repo, hubConfig!, part, fingerprint))) {
      return { ...base, files: mine.map((s) => s.file), bytesWritten: 0, bytesFetched: fetched(), skipped: 'hub', reusedShards: [], seconds: (Date.now() - started) / 1000 };
    }
    const done = opts.force ? undefined : await finishedPart(opts.out, part, fingerprint);
    let written = { bytesWritten: 0, reused: [] as string[], warnings: [] as string[] };
    if (!done) {
      await checkOutputPath(opts.out, opts.force, src.localDir ? [src.localDir] : []);
      const options: PartPlanOptions = {
        policy: opts.policy,
        vision: opts.vision,
        mtp: opts.mtp,
        ...(opts.dtype ? { dtype: opts.dtype } : {}),
        mtpLayout,
        ...(opts.maxShardBytes !== undefined ? { maxShardBytes: opts.maxShardBytes } : {}),
        rounding: opts.rounding,
      };
      written = await writePart(src, mine, opts, async (dir, digests) => {
        const m = buildPartManifest({ part, fingerprint, settings: id.settings, source: identity, options, shards: mine, digests, tool: toolInfo() });
        await writePartManifest(dir, m);
      }, id);
    }
    const pushed = opts.push
      ? await publishArtifact(opts.out, {
          repo: opts.push.repo,
          revision: opts.push.revision,
          private: opts.push.private,
          config: hubConfig!,
          commitTitle: `mtpkit part ${part.index}/${part.count} (${mine.length} file(s), plan ${fingerprint.slice(0, 12)})`,
        })
      : undefined;
    return {
      ...base,
      files: mine.map((s) => s.file),
      bytesWritten: written.bytesWritten,
      bytesFetched: fetched(),
      ...(done ? { skipped: 'local' as const } : {}),
      reusedShards: written.reused,
      ...(pushed ? { pushed } : {}),
      seconds: (Date.now() - started) / 1000,
      warnings: written.warnings,
    };
  } finally {
    await src.close();
  }
}

/** Fetches, converts and writes the part's shards (+ manifest) into a hidden folder, then moves it onto OUT. */
async function writePart(
  src: Awaited<ReturnType<typeof openSource>>,
  shards: OutputShard[],
  opts: PartConvertOptions,
  finish: (dir: string, digests: Map<string, FileDigest>) => Promise<void>,
  id: ConversionIdentity,
): Promise<{ bytesWritten: number; reused: string[]; warnings: string[] }> {
  // The part fingerprint decides every byte of the part's shards: the same rule as a full --resume.
  const identify = () => resumeIdentity(src, id, { part: `${opts.part.index}/${opts.part.count}` });
  return withResumableOutput(opts.out, opts, identify, async ({ partial, kept, write }) => {
    const todo = shards.filter((s) => !kept.has(s.file));
    await src.prepare(shardReads(todo));
    const result = await write(src, [{ shards }], { threads: opts.threads, rounding: opts.rounding, onProgress: opts.onProgress, signal: opts.signal });
    await finish(partial, new Map([...kept, ...result.digests]));
    await fsp.rm(path.join(partial, RESUME_FILE), { force: true });
    await publishDir(partial, opts.out);
    return { bytesWritten: result.bytesWritten, reused: [...kept.keys()], warnings: result.warnings };
  });
}
