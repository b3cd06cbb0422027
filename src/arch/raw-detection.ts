/**
 * Raw-HF detection, decided once per source checkpoint from its headers: HF stores GDN conv1d weights
 * as [C, 1, K], MLX as [C, K, 1]. Deciding per converted subset would miss MTP-only grafts (no conv1d
 * among them) and is how double shifts and unshifted MTP norms happened (ml-explore/mlx-lm mlx_lm/models/qwen3_5.py and qwen3_next.py, `sanitize`).
 */
import type { TensorInfo } from '../safetensors/types';

export interface RawDetection {
  raw: boolean;
  /** The tensor that decided it, for the plan printout. */
  evidence?: string;
  reason: string;
}

export function detectRawCheckpoint(tensors: Iterable<TensorInfo>): RawDetection {
  let mlxConv: TensorInfo | undefined;
  for (const t of tensors) {
    if (!t.name.endsWith('conv1d.weight') || t.shape.length !== 3) continue;
    if (t.shape[t.shape.length - 1] !== 1) {
      return { raw: true, evidence: t.name, reason: `conv1d ${t.name} is [${t.shape}] (HF layout [C,1,K])` };
    }
    mlxConv ??= t;
  }
  if (mlxConv) {
    return {
      raw: false,
      evidence: mlxConv.name,
      reason: `conv1d ${mlxConv.name} is [${mlxConv.shape}] (MLX layout [C,K,1]): already converted`,
    };
  }
  return { raw: false, reason: 'no conv1d weight in the checkpoint: treated as already converted' };
}
