/** Sizes and bits per weight of a plan, per output group (trunk, MTP head, vision). */
import { numel, tensorBytes } from '../safetensors/types';
import type { OutputGroup, PlannedTensor } from '../plan/types';
import { outputSpecs } from '../plan/output-specs';

export interface GroupStats {
  tensors: number;
  storedTensors: number;
  parameters: number;
  bytes: number;
  /** Stored bits per parameter (quantized weights count with their scales and biases). */
  bitsPerWeight: number;
}

export function planStats(tensors: PlannedTensor[]): Record<OutputGroup, GroupStats> {
  const empty = (): GroupStats => ({ tensors: 0, storedTensors: 0, parameters: 0, bytes: 0, bitsPerWeight: 0 });
  const out: Record<OutputGroup, GroupStats> = { trunk: empty(), mtp: empty(), vision: empty() };
  for (const t of tensors) {
    const specs = outputSpecs(t);
    if (!specs.length) continue;
    const g = out[t.group];
    g.tensors++;
    g.storedTensors += specs.length;
    g.parameters += numel(t.shape);
    g.bytes += specs.reduce((a, s) => a + tensorBytes(s.dtype, s.shape), 0);
  }
  for (const g of Object.values(out)) g.bitsPerWeight = g.parameters ? (g.bytes * 8) / g.parameters : 0;
  return out;
}
