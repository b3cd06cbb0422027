/**
 * `org/name[@revision]` repo designations for model repos on the Hub.
 * A string that names an existing local path is never a repo spec: local folders win.
 */
import * as fs from 'fs';

export interface RepoSpec {
  /** `org/name`. */
  repo: string;
  /** Branch, tag, `refs/pr/N` or a commit sha; `main` when not given. */
  revision: string;
}

export const DEFAULT_REVISION = 'main';

/** One name part: the Hub allows letters, digits, `-`, `_`, `.`; no `--`/`..`, not starting/ending with `-`/`.`. */
const NAME_PART = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$/;
/** Git ref names we accept: no spaces, no `..`, no leading `/` or `-`, no `@{`, no control chars. */
const REVISION = /^[A-Za-z0-9_][A-Za-z0-9_.\/-]{0,199}$/;

export function isValidRepoName(repo: string): boolean {
  const parts = repo.split('/');
  if (parts.length !== 2) return false;
  return parts.every((p) => NAME_PART.test(p) && !p.includes('--') && !p.includes('..')) && !repo.endsWith('.git');
}

export function isValidRevision(rev: string): boolean {
  return REVISION.test(rev) && !rev.includes('..') && !rev.includes('//') && !rev.endsWith('/') && !rev.endsWith('.lock');
}

/** `org/name[@revision]` -> parts, or null when `s` is not a well-formed repo spec. */
export function parseRepoSpec(s: string): RepoSpec | null {
  if (typeof s !== 'string') return null;
  const at = s.indexOf('@');
  const repo = at < 0 ? s : s.slice(0, at);
  const revision = at < 0 ? DEFAULT_REVISION : s.slice(at + 1);
  if (!isValidRepoName(repo) || !isValidRevision(revision)) return null;
  return { repo, revision };
}

/** True when `s` should be treated as a Hub repo: well formed and not an existing local path. */
export function isRepoSpec(s: string): boolean {
  if (fs.existsSync(s)) return false;
  return parseRepoSpec(s) !== null;
}

export function formatRepoSpec(spec: RepoSpec): string {
  return spec.revision === DEFAULT_REVISION ? spec.repo : `${spec.repo}@${spec.revision}`;
}

/** A 40-hex git commit id. */
export function isCommitSha(s: string): boolean {
  return /^[0-9a-f]{40}$/.test(s);
}
