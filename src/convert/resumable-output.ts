/**
 * The write side shared by `convert` (and graft) and `convert --part`: the output's lock, the hidden
 * partial folder prepared for `--resume` (verified shards of an identical plan kept, everything else
 * removed), shards written with each finished one recorded, and on failure the finished shards kept (the
 * folder removed when none finished); an aborted run ends as an InterruptedError naming what was kept.
 */
import { promises as fsp } from 'fs';
import { partialDirFor } from './atomic-dir';
import { executeLayouts, type ExecuteOptions, type ExecuteResult, type FileDigest } from './execute-plan';
import { startPartialDir, ResumeLog } from './resume';
import { lockOutput, prepareOutputParent, writeError } from './output-dir';
import { InterruptedError, signalOf } from './interrupted';
import type { ResumeIdentity } from './conversion-identity';
import type { FileLayout } from './shard-layout';
import type { TensorSource } from '../source/checkpoint-source';

export interface ResumableOutput {
  /** The hidden sibling folder being written. */
  partial: string;
  /** Finished shards of an identical earlier run, verified and reused. */
  kept: Map<string, FileDigest>;
  /** Writes the layouts' shards that were not kept, recording each finished one for --resume. */
  write(src: TensorSource, layouts: FileLayout[], opts: Omit<ExecuteOptions, 'skipFiles' | 'onShardDone'>): Promise<ExecuteResult>;
}

export async function withResumableOutput<T>(
  out: string,
  opts: { resume?: boolean; signal?: AbortSignal; onNote?: (message: string) => void },
  identify: () => Promise<ResumeIdentity>,
  body: (output: ResumableOutput) => Promise<T>,
): Promise<T> {
  const partial = partialDirFor(out);
  await prepareOutputParent(out);
  const lock = await lockOutput(out, opts.onNote);
  let log: ResumeLog | undefined;
  try {
    const id = await identify();
    let start;
    try {
      start = await startPartialDir(partial, id.planHash, id.settings, !!opts.resume);
    } catch (e) {
      throw (e as NodeJS.ErrnoException).code ? writeError(partial, e) : e;
    }
    if (start.note) opts.onNote?.(start.note);
    const kept = start.kept;
    const resumeLog = (log = new ResumeLog(partial, id.planHash, id.settings, kept));
    return await body({
      partial,
      kept,
      write: (src, layouts, o) =>
        executeLayouts(src, layouts, partial, { ...o, skipFiles: new Set(kept.keys()), onShardDone: (file, digest) => resumeLog.record(file, digest) }),
    });
  } catch (err) {
    await log?.settled();
    const kept = log?.files ?? [];
    // Keep finished shards for --resume; a run that finished none leaves nothing behind.
    if (!kept.length) await fsp.rm(partial, { recursive: true, force: true });
    if (opts.signal?.aborted) throw new InterruptedError(signalOf(opts.signal.reason), partial, kept);
    throw err;
  } finally {
    await lock.release();
  }
}
