/**
 * In-memory git-like model of Hub repos for the loopback test server: branches -> commits -> files.
 * File content lives on disk: either in the folder a repo was registered from, or in the server's
 * content-addressed object store (uploads). Ids are real: git blob sha1, sha256 for LFS.
 */
import { createHash, randomBytes } from 'crypto';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { hashFile } from '../../../src/hub/content-hash';

export interface StoredFile {
  path: string;
  size: number;
  /** git blob sha1 of the content (regular files) or of the LFS pointer (LFS files). */
  oid: string;
  sha256: string;
  lfs: boolean;
  /** Where the bytes are. */
  source: string;
}

export interface Commit {
  id: string;
  parent?: string;
  title: string;
  date: string;
  files: Map<string, StoredFile>;
}

export interface Repo {
  id: string;
  private: boolean;
  branches: Map<string, string>;
  commits: Map<string, Commit>;
  /** sha256 ids of the LFS objects uploaded to this repo (the batch API answers per repo). */
  lfs: Set<string>;
}

export function lfsPointer(sha256: string, size: number): string {
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`;
}

function gitSha1(text: string | Buffer): string {
  const buf = Buffer.isBuffer(text) ? text : Buffer.from(text);
  return createHash('sha1').update(`blob ${buf.length}\0`).update(buf).digest('hex');
}

export const GITATTRIBUTES = '*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.bin filter=lfs diff=lfs merge=lfs -text\n';

export class RepoStore {
  readonly repos = new Map<string, Repo>();
  private counter = 0;

  constructor(
    readonly objectsDir: string,
    /** Files at least this large, or matching lfsPattern, are LFS files. */
    readonly lfsThreshold: number,
    readonly lfsPattern: RegExp = /\.(safetensors|bin|gguf|npz|pt)$/,
  ) {}

  isLfsPath(p: string, size: number): boolean {
    return this.lfsPattern.test(p) || size >= this.lfsThreshold;
  }

  objectPath(sha256: string): string {
    return path.join(this.objectsDir, sha256);
  }

  async hasObject(sha256: string, size: number): Promise<boolean> {
    try {
      return (await fsp.stat(this.objectPath(sha256))).size === size;
    } catch {
      return false;
    }
  }

  /** Stores bytes in the object store; returns their sha256. */
  async putObject(data: Buffer): Promise<string> {
    const sha = createHash('sha256').update(data).digest('hex');
    await fsp.writeFile(this.objectPath(sha), data);
    return sha;
  }

  async describe(p: string, source: string, lfs?: boolean): Promise<StoredFile> {
    const size = (await fsp.stat(source)).size;
    const { sha256, gitSha1: contentOid } = await hashFile(source, size);
    const isLfs = lfs ?? this.isLfsPath(p, size);
    return { path: p, size, sha256, lfs: isLfs, oid: isLfs ? gitSha1(lfsPointer(sha256, size)) : contentOid, source };
  }

  createRepo(id: string, isPrivate = false): Repo {
    const repo: Repo = { id, private: isPrivate, branches: new Map(), commits: new Map(), lfs: new Set() };
    this.repos.set(id, repo);
    return repo;
  }

  /** New commit on `branch` from the head's files with `change` applied. */
  commit(repo: Repo, branch: string, title: string, change: (files: Map<string, StoredFile>) => void): Commit {
    const head = repo.branches.get(branch);
    const files = new Map(head ? repo.commits.get(head)!.files : []);
    change(files);
    const h = createHash('sha1').update(`${repo.id}\0${head ?? ''}\0${title}\0${++this.counter}\0${randomBytes(4).toString('hex')}`);
    for (const [p, f] of [...files].sort()) h.update(`${p}\0${f.oid}\0`);
    const c: Commit = { id: h.digest('hex'), parent: head, title, date: new Date().toISOString(), files };
    repo.commits.set(c.id, c);
    repo.branches.set(branch, c.id);
    return c;
  }

  /** Registers every file under `dir` as a new commit on `branch` (replacing the previous tree). */
  async commitFolder(repoId: string, dir: string, branch = 'main', title = 'Upload folder'): Promise<Commit> {
    const repo = this.repos.get(repoId) ?? this.createRepo(repoId);
    const found: StoredFile[] = [];
    const walk = async (abs: string, rel: string): Promise<void> => {
      for (const d of await fsp.readdir(abs, { withFileTypes: true })) {
        const a = path.join(abs, d.name);
        const r = rel ? `${rel}/${d.name}` : d.name;
        if (d.isDirectory()) await walk(a, r);
        else if (d.isFile()) found.push(await this.describe(r, a));
      }
    };
    await walk(dir, '');
    for (const f of found) if (f.lfs) repo.lfs.add(f.sha256);
    return this.commit(repo, branch, title, (files) => {
      files.clear();
      for (const f of found) files.set(f.path, f);
    });
  }

  resolve(repo: Repo, rev: string): Commit | undefined {
    const id = repo.branches.get(rev === 'HEAD' ? 'main' : rev) ?? rev;
    return repo.commits.get(id);
  }

  /** Git oid of a directory entry (any stable id will do for listings). */
  dirOid(commit: Commit, dir: string): string {
    return gitSha1(`${commit.id}:${dir}`);
  }
}
