/**
 * loadModel: artifact folder or `org/name[@rev]` -> InferenceModel on the native CPU engine.
 * Every check happens in TS first (load-plan.ts); the weights are then memory-mapped by native code.
 */
import * as fs from 'fs';
import * as os from 'os';
import { MtpkitError } from '../../errors';
import { resolveThreads } from '../../native/addon';
import type { HubConfigOptions } from '../../hub/hub-config';
import type { InferenceModel } from './types';
import { resolveActivations, type ActivationMode } from './activations';
import { buildLoadPlan } from './load-plan';
import { nativeEngine } from './native-engine';
import { NativeModel } from './native-session';
import { resolveArtifact } from './resolve-artifact';

export interface LoadModelOptions {
  threads?: number;
  /** Bytes of weights paged in so far, of the total. */
  onProgress?: (done: number, total: number) => void;
  hub?: HubConfigOptions;
  /** Int8 ('q8', the default; env MTPKIT_ACTIVATIONS) or float activations for affine weights. */
  activations?: ActivationMode;
}

const WARM_CHUNK = 16 << 20;

/**
 * Reads the mapped files once through the page cache so the first forward does not pay for page
 * faults, reporting progress. Skipped when the weights would not fit in half the RAM (mapping still
 * works then; the kernel pages weights in as the forward touches them).
 */
async function warmPageCache(files: string[], total: number, onProgress?: (done: number, total: number) => void): Promise<void> {
  if (total > os.totalmem() / 2) {
    onProgress?.(total, total);
    return;
  }
  const buf = Buffer.allocUnsafe(WARM_CHUNK);
  let done = 0;
  for (const f of files) {
    const fh = await fs.promises.open(f, 'r');
    try {
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, WARM_CHUNK, null);
        if (bytesRead === 0) break;
        done += bytesRead;
        onProgress?.(done, total);
      }
    } finally {
      await fh.close();
    }
  }
}

export async function loadModel(artifact: string, opts: LoadModelOptions = {}): Promise<InferenceModel> {
  const threads = resolveThreads(opts.threads, { field: 'threads' });
  const activations = resolveActivations(opts.activations);
  const dir = await resolveArtifact(artifact, opts.hub);
  const r = await buildLoadPlan(dir, threads, activations);
  await warmPageCache(r.plan.files, r.mappedBytes, opts.onProgress);
  const engine = nativeEngine();
  let handle;
  try {
    handle = engine.engineLoad(r.plan);
  } catch (e) {
    throw new MtpkitError(`${dir}: the engine could not map the weights: ${(e as Error).message}`);
  }
  const native = engine.engineModelInfo(handle);
  return new NativeModel(
    {
      architecture: r.config.arch,
      vocabSize: r.config.vocab,
      hiddenSize: r.config.hidden,
      numLayers: r.config.layers,
      hasMtp: r.hasMtp,
      tieWordEmbeddings: r.config.tie,
      weightBytesPerToken: native.weightBytesPerToken,
    },
    handle,
  );
}
