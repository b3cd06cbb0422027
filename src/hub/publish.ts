/**
 * Publishing an artifact folder as one commit. @huggingface/hub does the protocol (preupload, LFS batch,
 * PUTs, ndjson commit); the LFS batch answers "already stored" for objects uploaded by an earlier,
 * failed run, so a re-run only sends what is missing. We add: refusal of invalid artifacts, repo and
 * branch creation that tolerates "already exists", bounded retries, and token-free errors.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { commitIter, CommitOperation, createBranch, createRepo } from '@huggingface/hub';
import { InputError, MtpkitError } from '../errors';
import { HubConfig, libraryParams } from './hub-config';
import { guarded } from './hub-failure';
import { ProgressEvent } from './hub-repo';
import { DEFAULT_REVISION, isValidRepoName, isValidRevision } from './repo-spec';
import { errorStatus, withRetry } from './retry';

export interface PublishOptions {
  repo: string;
  private?: boolean;
  /** Branch to commit to (created from main if missing). Default main. */
  revision?: string;
  config: HubConfig;
  commitTitle?: string;
  commitDescription?: string;
  /**
   * The files to upload (relative paths): the artifact's own files, as the caller's notion of an
   * artifact lists them. Anything else in the folder (a stray temp file, someone's notes) stays
   * local. Without it every file is uploaded.
   */
  files?: string[];
  /** Problems found in the artifact; any problem refuses the publish unless `force`. */
  validate?: () => Promise<string[]>;
  force?: boolean;
  onProgress?: (e: ProgressEvent) => void;
}

export interface PublishResult {
  repo: string;
  branch: string;
  commit: string;
  commitUrl: string;
  files: number;
  bytes: number;
  /** False when the repo already existed. */
  createdRepo: boolean;
}

interface LocalFile {
  rel: string;
  abs: string;
  size: number;
}

/** Every regular file under `dir` (following symlinks to files), skipping `.git` and `.cache` folders. */
export async function listArtifactFiles(dir: string): Promise<LocalFile[]> {
  const out: LocalFile[] = [];
  const walk = async (abs: string, rel: string): Promise<void> => {
    for (const d of await fsp.readdir(abs, { withFileTypes: true })) {
      const a = path.join(abs, d.name);
      const r = rel ? `${rel}/${d.name}` : d.name;
      const st = await fsp.stat(a);
      if (st.isDirectory()) {
        if (d.name !== '.git' && d.name !== '.cache') await walk(a, r);
      } else if (st.isFile()) {
        out.push({ rel: r, abs: a, size: st.size });
      }
    }
  };
  await walk(dir, '');
  return out.sort((x, y) => (x.rel < y.rel ? -1 : x.rel > y.rel ? 1 : 0));
}

const isConflict = (e: unknown): boolean => errorStatus(e) === 409;

export async function publishArtifact(dir: string, opts: PublishOptions): Promise<PublishResult> {
  const { config, repo } = opts;
  const branch = opts.revision ?? DEFAULT_REVISION;
  if (!isValidRepoName(repo)) throw new InputError(`not a valid repo name: ${JSON.stringify(repo)} (expected org/name)`);
  if (!isValidRevision(branch)) throw new InputError(`not a valid branch name: ${JSON.stringify(branch)}`);
  if (config.offline) throw new InputError('cannot publish in offline mode (HF_HUB_OFFLINE is set)');
  if (!config.hasToken) throw new InputError('publishing needs a token: give --token-file, set HF_TOKEN, or log in');
  const st = await fsp.stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new InputError('not a folder', { file: dir });
  const all = await listArtifactFiles(dir);
  const wanted = opts.files ? new Set(opts.files) : undefined;
  const files = wanted ? all.filter((f) => wanted.has(f.rel)) : all;
  if (wanted && files.length < wanted.size) {
    const have = new Set(files.map((f) => f.rel));
    throw new InputError(`listed file(s) missing: ${[...wanted].filter((f) => !have.has(f)).join(', ')}`, { file: dir });
  }
  if (!files.length) throw new InputError(wanted ? 'the folder holds no artifact files' : 'the folder is empty', { file: dir });

  if (opts.validate && !opts.force) {
    const problems = await opts.validate();
    if (problems.length) {
      throw new InputError(`refusing to publish an artifact that fails validation (use --force to publish anyway):\n  - ${problems.join('\n  - ')}`, { file: dir });
    }
  }

  const retry = { maxAttempts: config.maxAttempts, baseMs: config.retryBaseMs };
  const what = `publishing ${dir} to ${repo}@${branch}`;
  return guarded(config, what, async () => {
    // The library types want a definite token here; hasToken was checked above.
    const params = libraryParams(config) as ReturnType<typeof libraryParams> & { accessToken: string };
    let createdRepo = true;
    await withRetry(async () => {
      try {
        await createRepo({ ...params, repo, ...(opts.private !== undefined ? { visibility: opts.private ? 'private' : 'public' } : {}) });
      } catch (e) {
        if (!isConflict(e)) throw e;
        createdRepo = false;
      }
    }, retry);
    if (branch !== DEFAULT_REVISION) {
      await withRetry(async () => {
        try {
          await createBranch({ ...params, repo, branch });
        } catch (e) {
          if (!isConflict(e)) throw e;
        }
      }, retry);
    }

    const sizes = new Map(files.map((f) => [f.rel, f.size]));
    const operations: CommitOperation[] = files.map((f) => ({ operation: 'addOrUpdate', path: f.rel, content: pathToFileURL(f.abs) }));
    const output = await withRetry(async () => {
      const it = commitIter({
        ...params,
        repo,
        branch,
        operations,
        title: opts.commitTitle ?? `Upload ${files.length} files with mtpkit`,
        description: opts.commitDescription,
      });
      for (let r = await it.next(); ; r = await it.next()) {
        if (r.done) return r.value;
        const ev = r.value;
        if (ev.event === 'fileProgress' && ev.state === 'uploading' && opts.onProgress) {
          const total = sizes.get(ev.path) ?? 0;
          opts.onProgress({ path: ev.path, bytesDone: Math.round(ev.progress * total), bytesTotal: total });
        }
      }
    }, retry);
    if (!output) throw new MtpkitError('the Hub returned no commit');
    return {
      repo,
      branch,
      commit: output.commit.oid,
      commitUrl: output.commit.url,
      files: files.length,
      bytes: files.reduce((n, f) => n + f.size, 0),
      createdRepo,
    };
  });
}
