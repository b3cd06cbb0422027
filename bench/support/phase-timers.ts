/**
 * Where a conversion's wall-clock time goes, measured inside a real run: wraps a few pipeline steps
 * (input hashing, tensor reads, quantize, writes, shard fsync, the executor, the artifact finish) with
 * timers. It patches the live CommonJS export objects / prototypes, which the pipeline reads on every
 * call, so nothing in src/ changes; a step that cannot be wrapped is reported as undefined.
 * Overlapping calls (parallel slice reads) count once: a bucket adds wall time while >= 1 call is open.
 */
import type { ConvertPhases } from './probe-types';

type Bucket = keyof ConvertPhases;

class WallBucket {
  seconds = 0;
  private open = 0;
  private since = 0n;
  start(): void {
    if (this.open++ === 0) this.since = process.hrtime.bigint();
  }
  stop(): void {
    if (--this.open === 0) this.seconds += Number(process.hrtime.bigint() - this.since) / 1e9;
  }
}

export class PhaseTimers {
  private readonly buckets = new Map<Bucket, WallBucket>();
  private readonly missing = new Set<Bucket>();

  /** Times every call of `holder[key]` (an async function) into `bucket`. */
  wrap(holder: Record<string, unknown> | undefined, key: string, bucket: Bucket): void {
    const orig = holder?.[key];
    if (!holder || typeof orig !== 'function') {
      this.missing.add(bucket);
      return;
    }
    const b = this.buckets.get(bucket) ?? new WallBucket();
    this.buckets.set(bucket, b);
    const wrapped = async function (this: unknown, ...args: unknown[]): Promise<unknown> {
      b.start();
      try {
        return await (orig as (...a: unknown[]) => Promise<unknown>).apply(this, args);
      } finally {
        b.stop();
      }
    };
    try {
      holder[key] = wrapped;
    } catch {
      this.missing.add(bucket);
    }
    if (holder[key] !== wrapped) this.missing.add(bucket);
  }

  seconds(bucket: Bucket): number | undefined {
    return this.missing.has(bucket) ? undefined : this.buckets.get(bucket)?.seconds ?? 0;
  }
}

/** Wraps the pipeline's steps; call before runConvert. Paths are relative to this file (src and dist alike). */
export function instrumentPipeline(): PhaseTimers {
  const t = new PhaseTimers();
  const { LocalSource } = require('../../src/source/local-source');
  const { SafetensorsWriter } = require('../../src/safetensors/writer');
  // Separate input hashing (files the executor's reads do not walk in order) and the unread rest of
  // the others after the executor; hashing from the reads themselves counts under `read`.
  t.wrap(require('../../src/native/sha256-stream'), 'sha256FileNative', 'hashInput');
  t.wrap(require('../../src/source/read-pass-hash').ReadPassHash?.prototype, 'digest', 'hashInput');
  t.wrap(LocalSource?.prototype, 'readTensor', 'read');
  t.wrap(LocalSource?.prototype, 'readRange', 'read');
  t.wrap(LocalSource?.prototype, 'readRangeInto', 'read');
  t.wrap(require('../../src/convert/quantize-step'), 'quantizeTensor', 'quantize');
  t.wrap(SafetensorsWriter?.prototype, 'write', 'write');
  t.wrap(SafetensorsWriter?.prototype, 'finish', 'shardFsync');
  t.wrap(require('../../src/convert/execute-plan'), 'executeLayouts', 'execute');
  t.wrap(require('../../src/convert/finish-artifact'), 'finishArtifact', 'finishArtifact');
  return t;
}

export function phasesOf(t: PhaseTimers, total: number): ConvertPhases {
  const phases = {} as ConvertPhases;
  for (const k of ['hashInput', 'read', 'quantize', 'write', 'shardFsync', 'execute', 'finishArtifact'] as const) phases[k] = t.seconds(k);
  // Input hashing overlaps the execution (hash worker), so it is not part of the serial sum.
  const known = [phases.execute, phases.finishArtifact];
  phases.other = known.every((x) => x !== undefined) ? total - known.reduce((a, b) => a! + b!, 0)! : undefined;
  return phases;
}
