/**
 * `mtpkit assemble OUT --parts DIR | --repo org/name`: the last step of a partitioned conversion.
 * Collects the part manifests, checks that they belong to one conversion (same fingerprint, same source
 * revision, same part count), that every part is there once and every output file is made by exactly
 * one part; rebuilds the plan from the source (headers and small files only) and checks it has the same
 * fingerprint; then writes what a full convert writes besides the shards (index, config.json with the
 * sidecar wiring, assets, model card, mtplx_runtime.json with checksums taken from the manifests):
 * into OUT with the shards linked in, or as the final commit of the Hub repo that holds the shards.
 */
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { InputError } from '../errors';
import { buildConversionPlan } from './conversion-plan';
import { layoutArtifact } from './artifact-layout';
import { checkOutputPath, partialDirFor, publishDir } from './atomic-dir';
import { finishArtifact } from './finish-artifact';
import { openSource } from '../source/open-source';
import { conversionIdentity, sourceIdentity } from './conversion-identity';
import { settingsDiff, type RunSettings } from './resume';
import { parsePartManifest, partLabel, PART_DIR, type PartManifest } from './part-manifest';
import { partitionLayout } from './partition';
import { readRepoParts, repoShardProblems, type FoundPart } from './part-hub';
import { publishArtifact, type PublishResult } from '../hub/publish';
import { resolveHubConfig, type HubConfigOptions } from '../hub/hub-config';
import type { FileDigest } from './execute-plan';

export interface AssembleOptions {
  /** Output folder (local assembly); with `repo` only a scratch folder for the final commit's files. */
  out?: string;
  /** Folder searched (recursively) for `mtpkit-parts/part-*.json` with their shards beside them. */
  partsDir?: string;
  /** Hub repo holding the pushed parts; the final commit goes there. */
  repo?: string;
  revision?: string;
  /** Where to read the source (headers, assets) from, when not where the parts recorded (another machine's path). */
  source?: string;
  force?: boolean;
  hub?: HubConfigOptions;
}

export interface AssembleSummary {
  out?: string;
  repo?: string;
  commit?: string;
  parts: number;
  fingerprint: string;
  sourceRevision: string;
  files: string[];
  shardBytes: number;
  pushed?: PublishResult;
}

interface LocalPart extends FoundPart {
  /** Folder holding the manifest's shards. */
  dir: string;
}

/** Every part manifest under `dir` (any depth), e.g. one sub-folder per downloaded CI artifact. */
export async function findLocalParts(dir: string): Promise<LocalPart[]> {
  const found: LocalPart[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await fsp.readdir(d, { withFileTypes: true });
    } catch {
      throw new InputError('cannot read the parts folder', { file: d });
    }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      if (!e.isDirectory()) continue;
      if (e.name === PART_DIR) {
        for (const f of (await fsp.readdir(p)).filter((n) => /^part-\d+-of-\d+\.json$/.test(n)).sort()) {
          const file = path.join(p, f);
          let json: unknown;
          try {
            json = JSON.parse(await fsp.readFile(file, 'utf8'));
          } catch (err) {
            throw new InputError(`cannot read the part manifest: ${(err as Error).message}`, { file });
          }
          found.push({ label: file, manifest: parsePartManifest(json, file), dir: d });
        }
      } else if (!e.name.startsWith('.')) {
        await walk(p);
      }
    }
  };
  await walk(dir);
  return found;
}

/** `: key a -> b, ...` when both sides recorded their settings (older part manifests did not). */
function why(old: RunSettings | undefined, now: RunSettings | undefined): string {
  return old && now ? `: ${settingsDiff(old, now)}` : '';
}

/** The parts belong together, none is missing or twice there, no file is in two parts. Returns the count. */
export function checkPartSet(parts: FoundPart[], where: string): { fingerprint: string; revision: string; count: number } {
  if (!parts.length) throw new InputError('no part manifests (mtpkit-parts/part-*.json) found', { file: where });
  const first = parts[0];
  const ref = first.manifest;
  for (const p of parts.slice(1)) {
    const m = p.manifest;
    if (m.source.revision !== ref.source.revision) {
      throw new InputError(`${partLabel(m.part)} was converted from source revision ${m.source.revision}, ${partLabel(ref.part)} (${first.label}) from ${ref.source.revision}`, { file: p.label });
    }
    if (m.fingerprint !== ref.fingerprint || m.part.count !== ref.part.count) {
      throw new InputError(`${partLabel(m.part)} belongs to another conversion (plan ${m.fingerprint.slice(0, 12)}, ${m.part.count} parts) than ${partLabel(ref.part)} (${first.label}: plan ${ref.fingerprint.slice(0, 12)}, ${ref.part.count} parts)${why(ref.settings, m.settings)}`, { file: p.label });
    }
  }
  const byIndex = new Map<number, FoundPart>();
  for (const p of parts) {
    const twin = byIndex.get(p.manifest.part.index);
    if (twin) throw new InputError(`${partLabel(p.manifest.part)} is there twice: ${twin.label} and ${p.label}`, { file: p.label });
    byIndex.set(p.manifest.part.index, p);
  }
  const missing = Array.from({ length: ref.part.count }, (_, i) => i + 1).filter((i) => !byIndex.has(i));
  if (missing.length) {
    throw new InputError(`missing ${missing.map((i) => `part ${i}/${ref.part.count}`).join(', ')} (found ${[...byIndex.keys()].sort((a, b) => a - b).join(', ')})`, { file: where });
  }
  const owner = new Map<string, FoundPart>();
  for (const p of parts) {
    for (const s of p.manifest.shards) {
      const o = owner.get(s.file);
      if (o) throw new InputError(`${s.file} is written by both ${partLabel(o.manifest.part)} (${o.label}) and ${partLabel(p.manifest.part)}`, { file: p.label });
      owner.set(s.file, p);
    }
  }
  return { fingerprint: ref.fingerprint, revision: ref.source.revision, count: ref.part.count };
}

export async function runAssemble(opts: AssembleOptions): Promise<AssembleSummary> {
  if (!!opts.partsDir === !!opts.repo) throw new InputError('give exactly one of --parts DIR or --repo org/name');
  if (opts.partsDir && !opts.out) throw new InputError('an output folder is needed with --parts');
  const hubConfig = opts.repo ? resolveHubConfig(opts.hub) : undefined;
  const repoParts = opts.repo ? await readRepoParts(opts.repo, hubConfig!) : undefined;
  const parts: FoundPart[] = repoParts ? repoParts.parts : await findLocalParts(opts.partsDir!);
  const where = opts.repo ?? opts.partsDir!;
  const set = checkPartSet(parts, where);
  const ref: PartManifest = parts[0].manifest;

  const src = await openSource(opts.source ?? ref.source.spec, opts.hub);
  try {
    const revision = sourceIdentity(src).revision;
    if (revision !== set.revision) {
      throw new InputError(`the source ${ref.source.spec} is now at revision ${revision}, the parts were converted from ${set.revision}`, { file: parts[0].label });
    }
    const o = ref.options;
    const config = await src.readJson<Record<string, unknown>>('config.json');
    const plan = buildConversionPlan(src.label, config, src.tensors, { policy: o.policy, vision: o.vision, mtp: o.mtp, dtype: o.dtype });
    const layout = layoutArtifact(plan.tensors, o.mtpLayout, o.maxShardBytes);
    const keepVision = o.vision === 'keep';
    const { fingerprint, settings } = conversionIdentity(src, plan, layout, { rounding: o.rounding, keepVision, maxShardBytes: o.maxShardBytes });
    if (fingerprint !== set.fingerprint) {
      const diff = why(ref.settings, settings) || ' (another mtpkit version or policy file?)';
      throw new InputError(`the plan rebuilt from ${ref.source.spec} has fingerprint ${fingerprint.slice(0, 12)}, the parts ${set.fingerprint.slice(0, 12)}${diff}`, { file: parts[0].label });
    }
    // Each part holds exactly the files the partition gives it.
    const expected = partitionLayout(layout, set.count);
    for (const p of parts) {
      const want = expected[p.manifest.part.index - 1].files;
      const got = p.manifest.shards.map((s) => s.file);
      if (want.join('\n') !== got.join('\n')) {
        throw new InputError(`${partLabel(p.manifest.part)} should hold [${want.join(', ')}], its manifest lists [${got.join(', ')}]`, { file: p.label });
      }
    }
    const digests = new Map<string, FileDigest>(parts.flatMap((p) => p.manifest.shards.map((s) => [s.file, { size: s.size, sha256: s.sha256 }] as const)));
    const shardBytes = [...digests.values()].reduce((a, d) => a + d.size, 0);
    const inputDigests = await src.inputDigests();

    if (repoParts) {
      const problems = parts.flatMap((p) => repoShardProblems(repoParts, p.manifest).map((x) => `${partLabel(p.manifest.part)}: ${x}`));
      if (problems.length) throw new InputError(`the repo does not hold every part's shards:\n  - ${problems.join('\n  - ')}`, { file: opts.repo });
      const scratch = await fsp.mkdtemp(path.join(opts.out ? path.dirname(path.resolve(opts.out)) : os.tmpdir(), '.mtpkit-assemble-'));
      try {
        const files = await finishArtifact({ plan, layout, src, dir: scratch, shardDigests: digests, inputDigests, keepVision });
        const pushed = await publishArtifact(scratch, {
          repo: opts.repo!,
          revision: opts.revision,
          config: hubConfig!,
          commitTitle: `mtpkit assemble: ${set.count} part(s), plan ${fingerprint.slice(0, 12)}`,
        });
        return { repo: opts.repo, commit: pushed.commit, parts: set.count, fingerprint, sourceRevision: set.revision, files, shardBytes, pushed };
      } finally {
        await fsp.rm(scratch, { recursive: true, force: true });
      }
    }

    const out = opts.out!;
    await checkOutputPath(out, !!opts.force, src.localDir ? [src.localDir] : []);
    const partial = partialDirFor(out);
    await fsp.rm(partial, { recursive: true, force: true });
    await fsp.mkdir(partial, { recursive: true });
    try {
      for (const p of parts as LocalPart[]) {
        for (const s of p.manifest.shards) {
          const from = path.join(p.dir, s.file);
          const st = await fsp.stat(from).catch(() => undefined);
          if (!st) throw new InputError(`${partLabel(p.manifest.part)}: ${s.file} is missing next to its manifest`, { file: from });
          if (st.size !== s.size) throw new InputError(`${partLabel(p.manifest.part)}: ${s.file} has ${st.size} bytes, the manifest says ${s.size}`, { file: from });
          await linkOrCopy(from, path.join(partial, s.file));
        }
      }
      const files = await finishArtifact({ plan, layout, src, dir: partial, shardDigests: digests, inputDigests, keepVision });
      await publishDir(partial, out);
      return { out, parts: set.count, fingerprint, sourceRevision: set.revision, files, shardBytes };
    } catch (err) {
      await fsp.rm(partial, { recursive: true, force: true });
      throw err;
    }
  } finally {
    await src.close();
  }
}

/** A hard link when the parts are on the same file system (no bytes copied), else a copy. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await fsp.link(from, to);
  } catch {
    await fsp.copyFile(from, to);
  }
}
