/**
 * Where a conversion reads from: a local checkpoint folder, or a Hub repo read through the HF cache.
 * Both expose every tensor's header facts up front; remote sources fetch the planned byte ranges in
 * `prepare` before the executor runs.
 */
import type { TensorInfo } from '../safetensors/types';

/** What the executor reads from: a local Checkpoint, or a remote one through the Hub cache. */
export interface TensorSource {
  readTensor(name: string): Promise<Buffer>;
  readRange(name: string, byteStart: number, byteEnd: number): Promise<Buffer>;
  /**
   * Bytes [byteStart, byteStart + dest.length) of a tensor into a caller-owned buffer, so a reader can
   * reuse its buffers instead of allocating (and page-faulting) a fresh one per tensor. Optional.
   */
  readRangeInto?(name: string, byteStart: number, dest: Buffer): Promise<void>;
  /**
   * After readRangeInto resolved, the source may still read `dest` (hashing it): the returned promise
   * (if any) says when the buffer is the caller's alone again. Once per buffer, when the caller is done with it.
   */
  whenUnused?(dest: Uint8Array): Promise<void> | undefined;
}

/** A byte range inside one source tensor's data. */
export interface SourceRead {
  tensor: string;
  start: number;
  end: number;
}

export interface FetchEstimate {
  /** Bytes that would be downloaded now (0 when local or already cached). */
  bytesToFetch: number;
  /** Whole files that would be downloaded. */
  wholeFiles: string[];
  /** Number of ranged requests (after coalescing). */
  rangeRequests: number;
}

export type SourceProvenance =
  | { kind: 'local'; path: string }
  | { kind: 'hub'; repo: string; revision: string; commit: string; endpoint: string };

/** Identity of one input file, for provenance. */
export interface InputFileDigest {
  path: string;
  size: number;
  sha256?: string;
}

export interface CheckpointSource extends TensorSource {
  /** For messages: a path, or `org/name@commit`. */
  readonly label: string;
  readonly tensors: Map<string, TensorInfo>;
  /** The folder on disk when the source is local. */
  readonly localDir?: string;
  readJson<T = unknown>(rel: string): Promise<T | undefined>;
  /** A small text file (README.md for the license), undefined when absent. */
  readText?(rel: string): Promise<string | undefined>;
  /** Every top-level file of the source (graft copies a trunk's files). */
  listFiles?(): Promise<string[]>;
  /** Copies a small non-tensor file to `dest` if the source has it; false when absent. */
  copyFile(rel: string, dest: string): Promise<boolean>;
  estimateFetch(reads: SourceRead[]): Promise<FetchEstimate>;
  prepare(reads: SourceRead[]): Promise<void>;
  provenance(): SourceProvenance;
  /** Digests of the shard files (sha256 when known or computable). */
  inputDigests(): Promise<InputFileDigest[]>;
  /**
   * Optional: `reads` in the order the converter will issue them; files they walk in order may then be
   * hashed from those reads (inputDigests() waits for endReadPass() for them).
   */
  hashWhileReading?(reads: SourceRead[]): Promise<void>;
  endReadPass?(): void;
  close(): Promise<void>;
}
