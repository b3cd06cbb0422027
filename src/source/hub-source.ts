/**
 * A Hub repo as a conversion source. Opening reads config.json, the index and every shard header
 * (by ranges); `prepare` then fetches exactly the byte ranges the plan reads (or whole shards when
 * most of one is needed), and the executor's reads are served from the HF cache without network.
 */
import { promises as fsp } from 'fs';
import { InputError, MtpkitError } from '../errors';
import type { TensorInfo } from '../safetensors/types';
import { INDEX_FILE_NAME } from '../safetensors/shard-names';
import { COPIED_ASSETS } from './assets';
import { sha256File } from '../checksum/checksums';
import type { CheckpointSource, FetchEstimate, InputFileDigest, SourceProvenance, SourceRead } from './checkpoint-source';
import { blobId } from '../hub/cache';
import { cacheProbe, executeFetch, FetchPlan, planFetch, TensorRange } from '../hub/fetch-plan';
import { HubConfig, HubConfigOptions, resolveHubConfig } from '../hub/hub-config';
import { DEFAULT_GAP_BYTES, DEFAULT_MAX_RANGE_REQUEST_BYTES, HubRepo, ProgressEvent } from '../hub/hub-repo';
import { createProgressRenderer, ProgressRenderer } from '../hub/progress';
import { RangeStore } from '../hub/range-store';
import { CONFIG_FILE_NAME, openRemoteCheckpointHeaders, RemoteCheckpointHeaders } from './remote-checkpoint';

/** Progress renderer that prints its summary line once per batch of transfers. */
class ProgressOutput {
  private pending = false;
  constructor(private readonly renderer: ProgressRenderer) {}
  readonly onProgress = (e: ProgressEvent): void => {
    this.pending = true;
    this.renderer.onProgress(e);
  };
  flush(): void {
    if (this.pending) this.renderer.finish();
    this.pending = false;
  }
}

/** What `convert` reads whole besides config and index: the copied assets and the card (for its license). */
export const CONVERT_SMALL_FILES: readonly string[] = [...COPIED_ASSETS, 'README.md'];

function checkGap(v: number | undefined): number {
  if (v === undefined) return DEFAULT_GAP_BYTES;
  if (!Number.isSafeInteger(v) || v < 0) throw new InputError(`must be a non-negative integer, got ${JSON.stringify(v)}`, { field: 'gapBytes' });
  return v;
}

function checkFraction(v: number | undefined): number | undefined {
  if (v !== undefined && !(v >= 0 && v <= 1)) throw new InputError(`must be in [0, 1], got ${JSON.stringify(v)}`, { field: 'wholeShardFraction' });
  return v;
}

/** The endpoint without user:password, for provenance records. */
function publicEndpoint(endpoint: string): string {
  const u = new URL(endpoint);
  u.username = '';
  u.password = '';
  return u.toString().replace(/\/+$/, '');
}

export class HubSource implements CheckpointSource {
  readonly label: string;
  /** Set by prepare(): later reads must be served by the cache, never by new downloads. */
  private prepared = false;
  private readonly ranges: RangeStore;

  private constructor(
    private readonly repo: HubRepo,
    private readonly remote: RemoteCheckpointHeaders,
    private readonly gapBytes: number,
    private readonly wholeShardFraction: number | undefined,
    private readonly progress: ProgressOutput | undefined,
  ) {
    this.label = `${repo.repo}@${repo.commit}`;
    this.ranges = new RangeStore(repo.cache.rangesDir);
  }

  static async open(spec: string, opts: HubConfigOptions = {}): Promise<HubSource> {
    const gap = checkGap(opts.gapBytes);
    const fraction = checkFraction(opts.wholeShardFraction);
    const config = resolveHubConfig(opts);
    const progress = opts.progress ? new ProgressOutput(createProgressRenderer()) : undefined;
    const repo = await HubRepo.open(spec, config, { onProgress: progress?.onProgress, gapBytes: gap });
    const remote = await openRemoteCheckpointHeaders(repo);
    progress?.flush();
    return new HubSource(repo, remote, gap, fraction, progress);
  }

  get tensors(): Map<string, TensorInfo> {
    return this.remote.tensors;
  }

  get config(): HubConfig {
    return this.repo.config;
  }

  /** Shard paths in index order. */
  get shards(): string[] {
    return this.remote.shards;
  }

  /** Bytes received over the network by this source so far. */
  get bytesFetched(): number {
    return this.repo.bytesFetched;
  }

  async readJson<T = unknown>(rel: string): Promise<T | undefined> {
    if (!this.repo.has(rel)) return undefined;
    return (await this.repo.readJson(rel)) as T;
  }

  async readText(rel: string): Promise<string | undefined> {
    if (!this.repo.has(rel)) return undefined;
    return this.repo.readText(rel);
  }

  private info(name: string): TensorInfo {
    const t = this.remote.tensors.get(name);
    if (!t) throw new InputError('no such tensor in the checkpoint', { file: this.label, tensor: name });
    return t;
  }

  readTensor(name: string): Promise<Buffer> {
    return this.readRange(name, 0, this.info(name).byteLength);
  }

  async readRange(name: string, start: number, end: number): Promise<Buffer> {
    const t = this.info(name);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start > end || end > t.byteLength) {
      throw new MtpkitError(`byte range [${start}, ${end}) is outside the tensor's ${t.byteLength} bytes`, { file: this.label, tensor: name });
    }
    const s = t.offset + start;
    const e = t.offset + end;
    if (this.prepared && e > s && !this.repo.isRangeCached(t.shard, s, e)) {
      // A plan/read mismatch is a bug; downloading here would hide it and fetch bytes nobody planned.
      throw new MtpkitError(`bytes [${start}, ${end}) were not in the prepared fetch plan`, { file: `${this.label}: ${t.shard}`, tensor: name });
    }
    return this.repo.readRange(t.shard, s, e);
  }

  /** Small files fetched whole besides config and index; `assets` defaults to what `convert` reads. */
  private smallFiles(assets: readonly string[]): string[] {
    const wanted = [CONFIG_FILE_NAME, ...(this.remote.index ? [INDEX_FILE_NAME] : []), ...assets];
    return [...new Set(wanted)].filter((p) => this.repo.has(p));
  }

  /** Tensor-relative reads -> shard-absolute ranges -> whole files / merged ranges, given the cache. */
  fetchPlan(reads: SourceRead[], assets: readonly string[] = CONVERT_SMALL_FILES): FetchPlan {
    const tensorRanges: TensorRange[] = [];
    for (const r of reads) {
      const t = this.info(r.tensor);
      if (!Number.isSafeInteger(r.start) || !Number.isSafeInteger(r.end) || r.start < 0 || r.start > r.end || r.end > t.byteLength) {
        throw new MtpkitError(`planned read [${r.start}, ${r.end}) is outside the tensor's ${t.byteLength} bytes`, { file: this.label, tensor: r.tensor });
      }
      if (r.end > r.start) tensorRanges.push({ shard: t.shard, start: t.offset + r.start, end: t.offset + r.end });
    }
    return planFetch(
      this.repo.files,
      { smallFiles: this.smallFiles(assets), tensorRanges },
      { gapBytes: this.gapBytes, wholeShardFraction: this.wholeShardFraction, cached: cacheProbe(this.repo) },
    );
  }

  /**
   * What prepare() would download. Ranges partly in the cache count only their missing bytes, and
   * requests are counted after the repo's splitting of long ranges, so the figures match the transfer.
   */
  async estimateFetch(reads: SourceRead[], assets: readonly string[] = CONVERT_SMALL_FILES): Promise<FetchEstimate> {
    const plan = this.fetchPlan(reads, assets);
    const wholeFiles = plan.wholeFiles.filter((f) => !f.cached);
    let bytesToFetch = wholeFiles.reduce((n, f) => n + f.size, 0);
    let rangeRequests = 0;
    for (const r of plan.ranges) {
      if (r.cached) continue;
      for (const m of this.ranges.missing(blobId(this.repo.file(r.path)), r)) {
        bytesToFetch += m.end - m.start;
        rangeRequests += Math.ceil((m.end - m.start) / DEFAULT_MAX_RANGE_REQUEST_BYTES);
      }
    }
    return { bytesToFetch, wholeFiles: wholeFiles.map((f) => f.path), rangeRequests };
  }

  /** Downloads what the reads need (concurrency-limited, resumable, verified) into the cache. */
  async prepare(reads: SourceRead[], assets: readonly string[] = CONVERT_SMALL_FILES): Promise<void> {
    try {
      await executeFetch(this.repo, this.fetchPlan(reads, assets));
    } finally {
      this.progress?.flush();
    }
    this.prepared = true;
  }

  /** Top-level files of the repo at the pinned commit (graft copies a Hub trunk's files). */
  async listFiles(): Promise<string[]> {
    return this.repo.files.map((f) => f.path).filter((p) => !p.includes('/')).sort();
  }

  async copyFile(rel: string, dest: string): Promise<boolean> {
    if (!this.repo.has(rel)) return false;
    const local = await this.repo.ensureFile(rel);
    await fsp.copyFile(local, dest);
    return true;
  }

  provenance(): SourceProvenance {
    const { repo, revision, commit, config } = this.repo;
    return { kind: 'hub', repo, revision, commit, endpoint: publicEndpoint(config.endpoint) };
  }

  /** The listing's LFS sha256 (no download); for a non-LFS shard, hashed from the cache if it is there whole. */
  async inputDigests(): Promise<InputFileDigest[]> {
    const out: InputFileDigest[] = [];
    for (const shard of this.remote.shards) {
      const f = this.repo.file(shard);
      let sha256 = f.lfs?.oid;
      if (!sha256 && this.repo.isWholeCached(shard)) sha256 = (await sha256File(this.repo.cache.blobPath(blobId(f)))).sha256;
      out.push({ path: shard, size: f.size, ...(sha256 ? { sha256 } : {}) });
    }
    return out;
  }

  async close(): Promise<void> {
    this.progress?.flush();
  }
}
