/**
 * The conversion plan: plain data, built up front from headers and config only, printable and
 * testable without touching tensor data. The executor streams it one output tensor at a time.
 */
import type { DType } from '../safetensors/types';
import type { QuantMode } from './quant-mode';

export type { QuantMode };

/** A half-open range along one axis of a source tensor. */
export interface AxisSlice {
  axis: number;
  start: number;
  end: number;
}

/** One input of an output tensor: a whole source tensor or a slice of it. */
export interface SourceRef {
  /** Name in the source checkpoint (HF or MLX naming). */
  tensor: string;
  dtype: DType;
  shape: number[];
  slice?: AxisSlice;
}

/** Transforms, applied in order to the (stacked / sliced) source data. */
export type Transform =
  /** Stack all sources along a new leading axis (per-expert -> [E, ...]). */
  | { kind: 'stack' }
  /** Move an axis (HF conv1d [C,1,K] -> MLX [C,K,1] is moveaxis 2 -> 1). */
  | { kind: 'moveaxis'; from: number; to: number }
  /** Zero-centred norm fold: v + 1, computed in f32 and rounded to the tensor's dtype. */
  | { kind: 'add-one' }
  /** Convert floats to another dtype (round-to-nearest-even, MLX NaN rules). */
  | { kind: 'cast'; to: DType };

/** What the policy decided for one output tensor. */
export type QuantDecision =
  | { action: 'quantize'; mode: QuantMode; bits: number; groupSize: number }
  | { action: 'keep'; dtype: 'bf16' | 'f16' | 'f32' | 'source' }
  | { action: 'drop' };


/** Which output file group a tensor goes to. */
export type OutputGroup = 'trunk' | 'mtp' | 'vision';

/** Module roles that policies select on. */
export type ModuleRole =
  | 'gdn' // Gated DeltaNet linears (in_proj_*, out_proj)
  | 'attention' // full-attention q/k/v/o
  | 'mlp' // dense MLP gate/up/down
  | 'experts' // MoE switch_mlp experts
  | 'shared_expert'
  | 'router' // mlp.gate and shared_expert_gate
  | 'embedding'
  | 'lm_head'
  | 'mtp' // MTP layer body linears
  | 'mtp.fc'
  | 'norm'
  | 'conv'
  | 'gdn_param' // A_log, dt_bias
  | 'vision'
  | 'other';

/** Facts about an output tensor that policies and the plan printer use. */
export interface TensorFacts {
  /** MLX module path (the tensor name without `.weight`), e.g. `language_model.model.layers.3.mlp.down_proj`. */
  module: string;
  /** Last name component: `weight`, `A_log`, `dt_bias`, ... */
  param: string;
  role: ModuleRole;
  /** Decoder layer index (main model), undefined for global tensors and the MTP head. */
  layer?: number;
  layerType?: 'linear' | 'full';
  /** True for tensors of the MTP head. */
  mtp: boolean;
  /** MTP layer index for `mtp.layers.N.*`. */
  mtpLayer?: number;
}

export interface PlannedTensor {
  /** Output name (MLX naming; sidecar names are derived at write time). */
  name: string;
  sources: SourceRef[];
  transforms: Transform[];
  /** dtype and shape after the transforms, before quantization. */
  dtype: DType;
  shape: number[];
  group: OutputGroup;
  facts: TensorFacts;
  /** Short human explanation of the sanitize rules applied ("rename", "+1 shift", "split gate_up[0:Im]"). */
  notes: string[];
  /** Set by the policy; undefined means "not decided yet" (sanitize-only plans). */
  quant?: QuantDecision;
  /** Which policy rule decided `quant` (for `mtpkit plan`). */
  quantRule?: string;
}
