/**
 * The standard Hugging Face cache layout, shared with Python huggingface_hub and @huggingface/hub:
 *
 *   <cache>/models--org--name/
 *     refs/<revision>                  commit sha the revision pointed to
 *     blobs/<id>                       whole files: id = sha256 (LFS) or git sha1 (regular)
 *     blobs/<id>.incomplete            download in progress (ours resume from its length)
 *     snapshots/<commit>/<path>        relative symlinks into blobs/
 *     mtpkit-trees/<commit>.json       our copy of the file listing (sizes, ids) for offline use
 *     mtpkit-ranges/<id>/<s>-<e>.bin   byte ranges of blobs we did not fetch whole (see range-store.ts)
 *
 * The two mtpkit-* folders are ignored by the other clients; nothing of ours ever sits in blobs/
 * unless it is a complete, verified file.
 */
import { promises as fsp } from 'fs';
import * as fs from 'fs';
import * as path from 'path';
import { InputError, MtpkitError } from '../errors';
import { checkRelativePath } from '../safetensors/index-file';
import { writeFileAtomic } from '../safetensors/writer';
import { isCommitSha } from './repo-spec';

/** One file of a repo at a commit, as the Hub lists it. */
export interface RepoFile {
  path: string;
  size: number;
  /** git blob sha1. */
  oid: string;
  /** Present for LFS files: sha256 of the content. */
  lfs?: { oid: string; size: number };
  /** Xet content hash; only used to name the blob of a xet file listed without LFS info. */
  xetHash?: string;
}

/** Name of a blob in the cache, as @huggingface/hub names it: LFS sha256, else xet hash, else git sha1. */
export function blobId(f: RepoFile): string {
  return f.lfs?.oid ?? f.xetHash ?? f.oid;
}

export function repoFolderName(repo: string): string {
  return `models--${repo.split('/').join('--')}`;
}

function isHex(s: string, n: number): boolean {
  return s.length === n && /^[0-9a-f]+$/.test(s);
}

export class RepoCache {
  readonly root: string;
  readonly blobsDir: string;
  readonly snapshotsDir: string;
  readonly refsDir: string;
  readonly treesDir: string;
  readonly rangesDir: string;

  constructor(readonly cacheDir: string, readonly repo: string) {
    this.root = path.join(cacheDir, repoFolderName(repo));
    this.blobsDir = path.join(this.root, 'blobs');
    this.snapshotsDir = path.join(this.root, 'snapshots');
    this.refsDir = path.join(this.root, 'refs');
    this.treesDir = path.join(this.root, 'mtpkit-trees');
    this.rangesDir = path.join(this.root, 'mtpkit-ranges');
  }

  blobPath(id: string): string {
    if (!isHex(id, 64) && !isHex(id, 40)) throw new MtpkitError(`invalid blob id ${JSON.stringify(id)}`, { file: this.root });
    return path.join(this.blobsDir, id);
  }

  incompletePath(id: string): string {
    return `${this.blobPath(id)}.incomplete`;
  }

  snapshotPath(commit: string, filePath: string): string {
    checkRelativePath(filePath, { file: `${this.repo}@${commit}` });
    return path.join(this.snapshotsDir, commit, ...filePath.split('/'));
  }

  /** True when blobs/<id> exists with the expected size. */
  hasBlob(id: string, size: number): boolean {
    try {
      return fs.statSync(this.blobPath(id)).size === size;
    } catch {
      return false;
    }
  }

  refPath(revision: string): string {
    return path.join(this.refsDir, ...revision.split('/'));
  }

  readRef(revision: string): string | undefined {
    try {
      const sha = fs.readFileSync(this.refPath(revision), 'utf8').trim();
      return isCommitSha(sha) ? sha : undefined;
    } catch {
      return undefined;
    }
  }

  async writeRef(revision: string, commit: string): Promise<void> {
    if (isCommitSha(revision) || this.readRef(revision) === commit) return;
    await fsp.mkdir(path.dirname(this.refPath(revision)), { recursive: true });
    // No trailing newline, as Python writes it.
    await writeFileAtomic(this.refPath(revision), commit);
  }

  hasSnapshot(commit: string): boolean {
    return fs.existsSync(path.join(this.snapshotsDir, commit));
  }

  /** Points snapshots/<commit>/<path> at blobs/<id> with a relative symlink (replacing a stale one). */
  async linkSnapshot(commit: string, filePath: string, id: string): Promise<string> {
    const link = this.snapshotPath(commit, filePath);
    const target = path.relative(path.dirname(link), this.blobPath(id));
    try {
      if ((await fsp.readlink(link)) === target) return link;
    } catch {
      /* missing or not a link */
    }
    await fsp.mkdir(path.dirname(link), { recursive: true });
    const tmp = `${link}.tmp-${process.pid}-${Math.random().toString(16).slice(2)}`;
    try {
      await fsp.symlink(target, tmp);
      await fsp.rename(tmp, link);
    } catch (e) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      throw new MtpkitError(`cannot link the snapshot file: ${(e as Error).message}`, { file: link });
    }
    return link;
  }

  hasSavedTree(commit: string): boolean {
    return fs.existsSync(path.join(this.treesDir, `${commit}.json`));
  }

  async saveTree(commit: string, files: RepoFile[]): Promise<void> {
    await fsp.mkdir(this.treesDir, { recursive: true });
    await writeFileAtomic(path.join(this.treesDir, `${commit}.json`), JSON.stringify({ repo: this.repo, commit, files }));
  }

  /** Our saved listing of `commit`, or, for a cache filled by another client, one derived from the snapshot. */
  loadTree(commit: string): RepoFile[] | undefined {
    const file = path.join(this.treesDir, `${commit}.json`);
    if (fs.existsSync(file)) {
      let parsed: { files?: unknown };
      try {
        parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch (e) {
        throw new InputError(`corrupt cached file listing (${(e as Error).message}); delete it to refetch`, { file });
      }
      if (!Array.isArray(parsed.files)) throw new InputError('corrupt cached file listing; delete it to refetch', { file });
      return parsed.files as RepoFile[];
    }
    return this.treeFromSnapshot(commit);
  }

  private treeFromSnapshot(commit: string): RepoFile[] | undefined {
    const base = path.join(this.snapshotsDir, commit);
    if (!fs.existsSync(base)) return undefined;
    const out: RepoFile[] = [];
    const walk = (dir: string, rel: string): void => {
      for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, d.name);
        const relPath = rel ? `${rel}/${d.name}` : d.name;
        if (d.isDirectory()) {
          walk(full, relPath);
          continue;
        }
        if (!d.isSymbolicLink()) continue;
        const id = path.basename(fs.readlinkSync(full));
        let size: number;
        try {
          size = fs.statSync(full).size;
        } catch {
          continue; // dangling link
        }
        if (isHex(id, 64)) out.push({ path: relPath, size, oid: id, lfs: { oid: id, size } });
        else if (isHex(id, 40)) out.push({ path: relPath, size, oid: id });
      }
    };
    walk(base, '');
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
}
