/** The native engine and the float64 reference loaded on the same artifact, for side-by-side tests. */
import { loadModel } from '../../src/runtime/engine/load-model';
import type { InferenceModel } from '../../src/runtime/engine/types';
import type { ActivationMode } from '../../src/runtime/engine/activations';
import { loadReferenceModel, type ReferenceModel } from '../reference/reference-model';

export interface EnginePair {
  native: InferenceModel;
  ref: ReferenceModel;
  close(): void;
}

/** Both engines in the same activation mode (native q8 vs reference q8, native f32 vs reference f32). */
export async function loadPair(dir: string, activations: ActivationMode, threads = 1): Promise<EnginePair> {
  const native = await loadModel(dir, { threads, activations });
  const ref = await loadReferenceModel(dir, { activations });
  return {
    native,
    ref,
    close: () => {
      native.close();
      ref.close();
    },
  };
}
