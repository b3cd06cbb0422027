/** What the parent asks the convert probe (a fresh child process) and what it answers. */

export interface ProbeRequest {
  source: string;
  out: string;
  /** Policy spec, e.g. `gdn8-speed4` or `none`. */
  policy: string;
  threads?: number;
}

/** Seconds spent in each wrapped step of one conversion (undefined: the step could not be timed). */
export interface ConvertPhases {
  /** sha256 of every input shard for provenance (before anything is executed). */
  hashInput?: number;
  /** The executor: every output shard (includes read, quantize, write, shardFsync). */
  execute?: number;
  /** Tensor reads from the source. */
  read?: number;
  /** Native quantization. */
  quantize?: number;
  /** Writer calls (includes sha256 of the output, which is hashed while writing). */
  write?: number;
  /** Writer finish: flush, fsync, rename of each shard. */
  shardFsync?: number;
  /** Index, config, assets, model card, runtime contract. */
  finishArtifact?: number;
  /** Open, plan, publish rename: total - execute - finishArtifact. */
  other?: number;
}

/** CPU time and page faults of the whole probe process (node start-up included), from GNU time. */
export interface ProbeRusage {
  userSeconds: number;
  sysSeconds: number;
  /** Faults served without I/O: mostly first touches of fresh memory (and of page-cache pages mapped in). */
  minorFaults: number;
  majorFaults: number;
}

export type ProbeResult =
  | {
      ok: true;
      /** Wall clock of runConvert only (not process start-up). */
      seconds: number;
      bytesWritten: number;
      /** RSS when the conversion starts (modules loaded) and the process's peak RSS after it, bytes. */
      rssBefore: number;
      peakRss: number;
      phases: ConvertPhases;
      /** Linux with /usr/bin/time (GNU) only; set by the parent, so also for another tree's probe. */
      rusage?: ProbeRusage;
    }
  | { ok: false; error: string };
