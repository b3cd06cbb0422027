/** The source byte ranges a plan will read: what a remote source must fetch before executing. */
import { sliceByteRanges } from './tensor-ops';
import type { PlannedTensor } from '../plan/types';
import type { SourceRead } from '../source/checkpoint-source';
import { DTYPE_BYTES, numel } from '../safetensors/types';

export function planReads(tensors: PlannedTensor[]): SourceRead[] {
  const reads: SourceRead[] = [];
  for (const t of tensors) {
    if (t.quant?.action === 'drop') continue;
    for (const s of t.sources) {
      if (s.slice) {
        for (const r of sliceByteRanges(s.shape, s.dtype, s.slice)) reads.push({ tensor: s.tensor, ...r });
      } else {
        reads.push({ tensor: s.tensor, start: 0, end: numel(s.shape) * DTYPE_BYTES[s.dtype] });
      }
    }
  }
  return reads;
}
