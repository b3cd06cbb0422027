/**
 * Quantization policies: the JSON data users write (validated by schemas/policy.schema.json) and the
 * resolved form the planner evaluates. Field names of the JSON form are snake_case like mlx-lm's config.
 */
import type { ModuleRole, QuantMode } from '../../plan/types';
import type { MtpSubRole } from '../../arch/tensor-facts';

export type KeepDtype = 'bf16' | 'f16' | 'f32' | 'source';
export type FloatDtype = 'f16' | 'bf16';

/** One layer set: "0-3,8,10-" ranges, a single index, the first / last N layers, or every k-th layer. */
export type LayerSetItem = string | number | { first: number } | { last: number } | { every: number; offset?: number };

export interface PolicySelector {
  /** Glob on the MLX module path (or full tensor name): `*` within a component, `**` across components. */
  path?: string;
  /** JavaScript regular expression searched in the module path. */
  regex?: string;
  role?: ModuleRole | ModuleRole[];
  /** Trunk-equivalent role of an MTP layer-body linear (role `mtp`). */
  sub_role?: MtpSubRole | MtpSubRole[];
  layer_type?: 'linear' | 'full';
  /** Decoder layer indices (MTP and global tensors never match). A list is a union. */
  layers?: LayerSetItem | LayerSetItem[];
  mtp?: boolean;
  param?: string | string[];
  /** mlx-lm mixed recipes' use_more_bits(idx), idx read from the module path as mlx-lm does. */
  use_more_bits?: boolean;
}

export interface QuantizeSpec {
  mode?: QuantMode;
  bits?: number;
  group_size?: number;
}

export type PolicyAction = { quantize: QuantizeSpec } | { keep: KeepDtype } | 'drop';

export interface PolicyRule {
  match: PolicySelector;
  action: PolicyAction;
  note?: string;
}

/** The JSON document of a policy. */
export interface PolicyFile {
  $schema?: string;
  name?: string;
  description?: string;
  extends?: string | string[];
  defaults?: QuantizeSpec;
  /** Float dtype for tensors kept in float and for the weights fed to the quantizer (scales/biases dtype). */
  float_dtype?: FloatDtype;
  rules?: PolicyRule[];
}

export interface QuantParams {
  mode: QuantMode;
  bits: number;
  groupSize: number;
}

export type ResolvedAction =
  | ({ kind: 'quantize' } & QuantParams)
  | { kind: 'keep'; dtype: KeepDtype }
  | { kind: 'drop' };

export interface ResolvedRule {
  /** Where the rule comes from: a policy name or `--override[i] '...'`. */
  origin: string;
  /** Index of the rule inside its origin (`rules[index]`). */
  index: number;
  match: PolicySelector;
  action: ResolvedAction;
  note?: string;
  /** e.g. `gdn8-speed4 rules[0] (role gdn -> affine 8/64)`. */
  label: string;
}

export interface ResolvedPolicy {
  /** The spec as resolved, e.g. `gdn8-speed4+fp16`. */
  name: string;
  description?: string;
  /** First match wins: overrides, then the policy's own rules, then the rules of what it extends. */
  rules: ResolvedRule[];
  /** When set, float tensors kept in float become this dtype and weights are cast to it before quantizing. */
  floatDtype?: FloatDtype;
  /** Global quantization params (policy defaults after --bits/--group-size/--mode). */
  globals: QuantParams;
  /** Every policy that took part, in priority order. */
  sources: string[];
  /** Things the user should know about this resolution (e.g. implied group sizes). */
  notes: string[];
}
