/** The native engine and the float64 reference loaded on the same artifact, for side-by-side tests. */
import { loadModel } from '../../src/runtime/engine/load-model';
import type { InferenceModel } from '../../src/runtime/engine/types';
import { loadReferenceModel } from '../reference/reference-model';

export interface EnginePair {
  native: InferenceModel;
  ref: InferenceModel;
  close(): void;
}

export async function loadPair(dir: string, threads = 1): Promise<EnginePair> {
  const native = await loadModel(dir, { threads });
  const ref = await loadReferenceModel(dir);
  return {
    native,
    ref,
    close: () => {
      native.close();
      ref.close();
    },
  };
}
