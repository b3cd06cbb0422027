/**
 * A model repo on the Hub, pinned to one commit for the whole run, read through the HF cache:
 * whole files (resumed, verified) land in blobs/ + snapshots/, byte ranges in mtpkit-ranges/.
 */
import { constants as FS, promises as fsp } from 'fs';
import { FileDownloadInfoOutput, listFiles, modelInfo } from '@huggingface/hub';
import pLimit from 'p-limit';
import { InputError, MtpkitError } from '../errors';
import { checkRelativePath } from '../safetensors/index-file';
import { ByteSource } from '../safetensors/types';
import { blobId, RepoCache, RepoFile } from './cache';
import { downloadWholeFile } from './download';
import { lockBlob } from './blob-lock';
import { HubConfig, libraryParams } from './hub-config';
import { guarded } from './hub-failure';
import { ByteRange, RangeStore } from './range-store';
import { isCommitSha, parseRepoSpec, RepoSpec } from './repo-spec';
import { TransientError, withRetry } from './retry';
import { RemoteFile, streamRange } from './transfer';

export type { RepoFile } from './cache';

export interface ProgressEvent {
  path: string;
  bytesDone: number;
  bytesTotal: number;
}

export interface HubRepoOptions {
  onProgress?: (e: ProgressEvent) => void;
  /** Another process holds the download lock of this file's blob: we wait for it. */
  onLockWait?: (path: string) => void;
  /** fetchRanges merges ranges separated by at most this many bytes (default 1 MiB). */
  gapBytes?: number;
  /** Longest single range request; longer ranges are split and fetched concurrently (default 64 MiB). */
  maxRangeRequestBytes?: number;
}

export const DEFAULT_GAP_BYTES = 1 << 20;
export const DEFAULT_MAX_RANGE_REQUEST_BYTES = 64 << 20;

/** Downloads of the same blob by several HubRepo objects share one transfer. */
const inFlight = new Map<string, Promise<void>>();

/** Sorted, merged ranges; ranges separated by <= gap bytes are joined. */
export function coalesceRanges(ranges: ByteRange[], gap: number): ByteRange[] {
  const sorted = ranges.filter((r) => r.end > r.start).sort((a, b) => a.start - b.start || a.end - b.end);
  const out: ByteRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end + gap) last.end = Math.max(last.end, r.end);
    else out.push({ start: r.start, end: r.end });
  }
  return out;
}

export class HubRepo {
  private readonly limit: pLimit.Limit;
  private readonly byPath: Map<string, RepoFile>;
  private readonly ranges: RangeStore;
  /** Bytes received over the network by this object (whole files and ranges). */
  bytesFetched = 0;

  private constructor(
    readonly config: HubConfig,
    readonly repo: string,
    /** The revision as asked for (branch, tag or sha). */
    readonly revision: string,
    /** The commit every read of this run goes to. */
    readonly commit: string,
    readonly files: RepoFile[],
    readonly cache: RepoCache,
    private readonly opts: HubRepoOptions,
  ) {
    this.limit = pLimit(config.concurrency);
    this.byPath = new Map(files.map((f) => [f.path, f]));
    this.ranges = new RangeStore(cache.rangesDir);
  }

  /** `org/name@rev`, for messages. */
  get label(): string {
    return `${this.repo}@${this.revision}${this.revision === this.commit ? '' : ` (commit ${this.commit.slice(0, 12)})`}`;
  }

  static async open(spec: string | RepoSpec, config: HubConfig, opts: HubRepoOptions = {}): Promise<HubRepo> {
    const parsed = typeof spec === 'string' ? parseRepoSpec(spec) : spec;
    if (!parsed) throw new InputError(`not a Hub repo: ${JSON.stringify(spec)} (expected org/name[@revision])`);
    const { repo, revision } = parsed;
    const cache = new RepoCache(config.cacheDir, repo);
    const what = `${repo}@${revision}`;
    if (config.offline) {
      const commit = isCommitSha(revision) ? revision : cache.readRef(revision);
      if (!commit) throw new InputError(`offline mode (HF_HUB_OFFLINE): ${what} is not in the cache (no refs/${revision} under ${cache.root})`);
      const files = cache.loadTree(commit);
      if (!files) throw new InputError(`offline mode (HF_HUB_OFFLINE): ${what}: commit ${commit} has no cached files under ${cache.root}`);
      return new HubRepo(config, repo, revision, commit, files, cache, opts);
    }
    return guarded(config, `${what}: resolving the revision`, async () => {
      const params = libraryParams(config);
      const retry = { maxAttempts: config.maxAttempts, baseMs: config.retryBaseMs, signal: config.signal };
      let commit = isCommitSha(revision) ? revision : undefined;
      // A sha with a listing we saved earlier needs no network at all.
      const saved = commit && cache.hasSavedTree(commit) ? cache.loadTree(commit) : undefined;
      if (commit && saved) return new HubRepo(config, repo, revision, commit, saved, cache, opts);
      if (!commit) {
        const info = await withRetry(() => modelInfo({ ...params, name: repo, revision, additionalFields: ['sha'] }), retry);
        commit = String((info as { sha?: unknown }).sha ?? '');
        if (!isCommitSha(commit)) throw new MtpkitError(`the Hub did not return a commit sha for ${what} (got ${JSON.stringify(commit)})`);
      }
      const pinned = commit;
      const files = await withRetry(async () => {
        const out: RepoFile[] = [];
        for await (const e of listFiles({ ...params, repo, revision: pinned, recursive: true })) {
          if (e.type !== 'file') continue;
          checkRelativePath(e.path, { file: `${repo}@${pinned}` });
          if (!e.oid) throw new MtpkitError(`the file listing gives no oid for '${e.path}'`);
          out.push({
            path: e.path,
            size: e.size,
            oid: e.oid,
            ...(e.lfs ? { lfs: { oid: e.lfs.oid, size: e.lfs.size } } : e.xetHash ? { xetHash: e.xetHash } : {}),
          });
        }
        return out;
      }, retry);
      await cache.saveTree(pinned, files);
      await cache.writeRef(revision, pinned);
      return new HubRepo(config, repo, revision, pinned, files, cache, opts);
    });
  }

  has(path: string): boolean {
    return this.byPath.has(path);
  }

  file(path: string): RepoFile {
    const f = this.byPath.get(path);
    if (f) return f;
    if (this.config.offline) throw new InputError(`offline mode (HF_HUB_OFFLINE): ${this.label}: '${path}' is not in the cache (${this.cache.root})`);
    throw new InputError(`${this.label}: no file '${path}' in the repo`);
  }

  /** True when the whole file is in blobs/ (no network needed). */
  isWholeCached(path: string): boolean {
    const f = this.file(path);
    return this.cache.hasBlob(blobId(f), f.size);
  }

  /** True when bytes [start, end) of `path` can be read without the network. */
  isRangeCached(path: string, start: number, end: number): boolean {
    const f = this.file(path);
    return this.cache.hasBlob(blobId(f), f.size) || this.ranges.has(blobId(f), { start, end });
  }

  /** Local path (in snapshots/) of the whole, verified file; downloads it if needed. */
  async ensureFile(path: string): Promise<string> {
    return guarded(this.config, `${this.label}: '${path}'`, async () => {
      const f = this.file(path);
      const id = blobId(f);
      if (!this.cache.hasBlob(id, f.size)) {
        if (this.config.offline) throw new InputError(`offline mode (HF_HUB_OFFLINE): ${this.label}: '${path}' is not in the cache (${this.cache.root})`);
        const key = this.cache.blobPath(id);
        let job = inFlight.get(key);
        if (!job) {
          job = this.downloadWhole(f).finally(() => inFlight.delete(key));
          inFlight.set(key, job);
        }
        await job;
      }
      return this.cache.linkSnapshot(this.commit, path, id);
    });
  }

  private async downloadWhole(f: RepoFile): Promise<void> {
    const id = blobId(f);
    const file = this.remote(f);
    await fsp.mkdir(this.cache.blobsDir, { recursive: true });
    // Another process (mtpkit or Python huggingface_hub) may be downloading the same blob: wait for it
    // outside the concurrency limit, then use its result if it finished.
    const lock = await lockBlob(this.cache.cacheDir, this.repo, id, this.opts.onLockWait && (() => this.opts.onLockWait!(f.path)));
    try {
      if (this.cache.hasBlob(id, f.size)) return;
      let last = 0;
      await this.limit(() =>
        downloadWholeFile(this.config, {
          file,
          expected: { algo: f.lfs ? 'sha256' : f.xetHash ? 'size-only' : 'git-sha1', hex: id, size: f.size },
          incompletePath: this.cache.incompletePath(id),
          finalPath: this.cache.blobPath(id),
          onBytes: (done, total) => {
            if (done > last) this.bytesFetched += done - last;
            last = done;
            this.opts.onProgress?.({ path: f.path, bytesDone: done, bytesTotal: total });
          },
        }),
      );
    } finally {
      await lock.release();
    }
  }

  /**
   * What downloadFile() needs to build its lazy blob. We already know size and ids from the listing,
   * so we pass them in (the library's own fileDownloadInfo() would cost one request per file); the
   * resolve URL of the pinned commit redirects to the CDN exactly as the library's would.
   */
  private remote(f: RepoFile): RemoteFile {
    const info: FileDownloadInfoOutput = {
      size: f.size,
      etag: `"${blobId(f)}"`,
      url: `${this.config.endpoint}/${this.repo}/resolve/${this.commit}/${f.path.split('/').map(encodeURIComponent).join('/')}`,
    };
    return { repo: this.repo, commit: this.commit, path: f.path, size: f.size, info };
  }

  private checkRange(f: RepoFile, start: number, end: number): void {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start > end || end > f.size) {
      throw new InputError(`byte range [${start}, ${end}) is outside the file's ${f.size} bytes`, { file: `${this.label}: ${f.path}` });
    }
  }

  /** Bytes [start, end) of `path`: from the whole cached blob, else the range cache, else the network (then cached). */
  async readRange(path: string, start: number, end: number): Promise<Buffer> {
    return guarded(this.config, `${this.label}: '${path}' bytes [${start}, ${end})`, async () => {
      const f = this.file(path);
      this.checkRange(f, start, end);
      if (end === start) return Buffer.alloc(0);
      const id = blobId(f);
      if (this.cache.hasBlob(id, f.size)) return readFileRange(this.cache.blobPath(id), start, end);
      const cached = await this.ranges.read(id, { start, end });
      if (cached) return cached;
      if (this.config.offline) {
        throw new InputError(`offline mode (HF_HUB_OFFLINE): ${this.label}: bytes [${start}, ${end}) of '${path}' are not in the cache (${this.cache.root})`);
      }
      const file = this.remote(f);
      const buf = Buffer.allocUnsafe(end - start);
      let done = 0;
      await this.limit(() =>
        withRetry(
          async () => {
            await streamRange(this.config, file, start + done, end, (chunk) => {
              chunk.copy(buf, done);
              done += chunk.length;
              this.bytesFetched += chunk.length;
            });
            if (done < end - start) throw new TransientError(`connection ended after ${done} of ${end - start} bytes`);
          },
          { maxAttempts: this.config.maxAttempts, baseMs: this.config.retryBaseMs, progress: () => done, signal: this.config.signal },
        ),
      );
      await this.ranges.write(id, start, buf);
      return buf;
    });
  }

  /**
   * Makes bytes of `path` local: merges ranges closer than `gapBytes`, skips what is cached,
   * splits long ranges, and fetches them (concurrency-limited) into the range cache.
   */
  async fetchRanges(path: string, ranges: ByteRange[], opts: { gapBytes?: number } = {}): Promise<void> {
    return guarded(this.config, `${this.label}: '${path}' ranges`, async () => {
      const f = this.file(path);
      for (const r of ranges) this.checkRange(f, r.start, r.end);
      const id = blobId(f);
      if (this.cache.hasBlob(id, f.size)) return;
      const gap = opts.gapBytes ?? this.opts.gapBytes ?? DEFAULT_GAP_BYTES;
      const maxReq = this.opts.maxRangeRequestBytes ?? DEFAULT_MAX_RANGE_REQUEST_BYTES;
      const todo: ByteRange[] = [];
      for (const r of coalesceRanges(ranges, gap)) {
        for (const m of this.ranges.missing(id, r)) {
          for (let s = m.start; s < m.end; s += maxReq) todo.push({ start: s, end: Math.min(m.end, s + maxReq) });
        }
      }
      if (!todo.length) return;
      if (this.config.offline) {
        throw new InputError(`offline mode (HF_HUB_OFFLINE): ${this.label}: bytes [${todo[0].start}, ${todo[0].end}) of '${path}' are not in the cache (${this.cache.root})`);
      }
      const file = this.remote(f);
      const total = todo.reduce((n, r) => n + r.end - r.start, 0);
      let done = 0;
      const onBytes = (n: number): void => {
        done += n;
        this.bytesFetched += n;
        this.opts.onProgress?.({ path, bytesDone: done, bytesTotal: total });
      };
      await this.ranges.ensureDir(id);
      await Promise.all(todo.map((r) => this.limit(() => this.fetchRangeToStore(file, id, r, onBytes))));
    });
  }

  /** One range into a temporary file (resumed across retries), moved into the range cache when complete. */
  private async fetchRangeToStore(file: RemoteFile, id: string, r: ByteRange, onBytes: (n: number) => void): Promise<void> {
    const tmp = this.ranges.tempPath(id, r);
    const fh = await fsp.open(tmp, FS.O_WRONLY | FS.O_CREAT | FS.O_TRUNC);
    let done = 0;
    try {
      await withRetry(
        async () => {
          await fh.truncate(done);
          await streamRange(this.config, file, r.start + done, r.end, async (chunk) => {
            await fh.write(chunk, 0, chunk.length, done);
            done += chunk.length;
            onBytes(chunk.length);
          });
          if (done < r.end - r.start) throw new TransientError(`connection ended after ${done} of ${r.end - r.start} bytes`);
        },
        { maxAttempts: this.config.maxAttempts, baseMs: this.config.retryBaseMs, progress: () => done, signal: this.config.signal },
      );
      await fh.close();
      await this.ranges.adopt(id, r, tmp);
    } catch (e) {
      await fh.close().catch(() => undefined);
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      throw e;
    }
  }

  /** A positional ByteSource over the remote file; every read goes through readRange (and its caches). */
  byteSource(path: string): ByteSource {
    const f = this.file(path);
    const label = `hf://${this.repo}@${this.commit}/${path}`;
    return {
      label,
      size: async () => f.size,
      read: (position: number, length: number) => this.readRange(path, position, position + length),
      close: async () => undefined,
    };
  }

  /** A small file (config.json, index) as text, fetched whole into the cache. */
  async readText(path: string): Promise<string> {
    const local = await this.ensureFile(path);
    return fsp.readFile(local, 'utf8');
  }

  /** A small file parsed as JSON. */
  async readJson(path: string): Promise<unknown> {
    const text = await this.readText(path);
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new InputError(`invalid JSON (${(e as Error).message})`, { file: `${this.label}: ${path}` });
    }
  }
}

async function readFileRange(file: string, start: number, end: number): Promise<Buffer> {
  const fh = await fsp.open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(end - start);
    let done = 0;
    while (done < buf.length) {
      const { bytesRead } = await fh.read(buf, done, buf.length - done, start + done);
      if (bytesRead === 0) throw new MtpkitError(`cached file is shorter than expected`, { file });
      done += bytesRead;
    }
    return buf;
  } finally {
    await fh.close();
  }
}
