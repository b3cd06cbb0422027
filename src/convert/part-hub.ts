/**
 * Parts on the Hub: each part's shards and manifest are one commit to the target repo; the manifests
 * (`mtpkit-parts/*.json`) and the repo listing (size and LFS sha256 of every file) are what `assemble
 * --repo` and a re-run of a pushed part check, without downloading any shard.
 */
import { HubRepo, type RepoFile } from '../hub/hub-repo';
import type { HubConfig } from '../hub/hub-config';
import { parsePartManifest, partManifestPath, PART_MANIFEST_RE, type PartManifest } from './part-manifest';
import type { PartSpec } from './partition';

export interface FoundPart {
  /** Where the manifest was found (repo path or local file), for messages. */
  label: string;
  manifest: PartManifest;
}

export interface RepoParts {
  repo: string;
  commit: string;
  files: Map<string, RepoFile>;
  parts: FoundPart[];
}

export async function readRepoParts(repoId: string, config: HubConfig): Promise<RepoParts> {
  const repo = await HubRepo.open(repoId, config);
  const parts: FoundPart[] = [];
  for (const f of repo.files.filter((x) => PART_MANIFEST_RE.test(x.path)).sort((a, b) => (a.path < b.path ? -1 : 1))) {
    const label = `${repo.repo}@${repo.commit.slice(0, 12)}: ${f.path}`;
    parts.push({ label, manifest: parsePartManifest(await repo.readJson(f.path), label) });
  }
  return { repo: repo.repo, commit: repo.commit, files: new Map(repo.files.map((f) => [f.path, f])), parts };
}

/** Problems with a part's shards in the repo listing (missing, other size, other sha256); empty when all there. */
export function repoShardProblems(parts: RepoParts, m: PartManifest): string[] {
  const problems: string[] = [];
  for (const s of m.shards) {
    const f = parts.files.get(s.file);
    if (!f) problems.push(`${s.file} is not in ${parts.repo}`);
    else if (f.size !== s.size) problems.push(`${s.file} in ${parts.repo} has ${f.size} bytes, the manifest says ${s.size}`);
    else if (f.lfs && f.lfs.oid !== s.sha256) problems.push(`${s.file} in ${parts.repo} has sha256 ${f.lfs.oid}, the manifest says ${s.sha256}`);
  }
  return problems;
}

/** True when the repo already holds this part of this conversion, complete: a re-run has nothing to do. */
export async function partAlreadyPushed(repoId: string, config: HubConfig, part: PartSpec, fingerprint: string): Promise<boolean> {
  let parts: RepoParts;
  try {
    parts = await readRepoParts(repoId, config);
  } catch {
    // A repo that does not exist yet (or cannot be read) just means: not pushed; the push will say why.
    return false;
  }
  const mine = parts.parts.find((p) => p.label.endsWith(partManifestPath(part)));
  return !!mine && mine.manifest.fingerprint === fingerprint && repoShardProblems(parts, mine.manifest).length === 0;
}
