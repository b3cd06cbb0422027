/**
 * Every float source of a planned tensor must hold finite values: a NaN or Inf in a norm or an embedding
 * would be copied into the artifact, and one in a tensor to quantize would poison its group. Checked on the
 * data as read (before any transform), so the index is the source tensor's own.
 */
import { InputError } from '../errors';
import type { PlannedTensor } from '../plan/types';
import { isConvertibleFloatDType } from '../numeric/float-bits';
import { coordinatesOf, firstNonFinite, nonFiniteKind } from '../numeric/non-finite';

export async function assertFiniteSources(t: PlannedTensor, loaded: readonly { data: Buffer; shape: number[] }[], threads?: number): Promise<void> {
  for (let s = 0; s < loaded.length; s++) {
    const ref = t.sources[s];
    if (!isConvertibleFloatDType(ref.dtype)) continue;
    const local = await firstNonFinite(loaded[s].data, ref.dtype, threads);
    if (local < 0) continue;
    // A slice's coordinates, moved back into the whole source tensor.
    const at = coordinatesOf(local, loaded[s].shape);
    if (ref.slice) at[ref.slice.axis] += ref.slice.start;
    let flat = 0;
    for (let d = 0; d < ref.shape.length; d++) flat = flat * ref.shape[d] + at[d];
    const what = nonFiniteKind(loaded[s].data, local, ref.dtype);
    throw new InputError(`${what} at element ${flat} (index [${at.join(', ')}] of ${ref.dtype}[${ref.shape.join(', ')}]); the source must hold finite values`, {
      tensor: ref.tensor,
    });
  }
}
