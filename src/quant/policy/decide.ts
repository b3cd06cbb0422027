/**
 * Evaluates a resolved policy for one output tensor: the first matching rule decides. A quantize action
 * on a tensor that cannot be quantized keeps it (the rule label says why); a quantizable tensor whose last
 * dim is not divisible by the group size is kept in float and reported, as mlx-lm skips it.
 * With `floatDtype`, float tensors kept in float are converted to it (see keepDecision).
 */
import type { QuantDecision, TensorFacts } from '../../plan/types';
import type { TextConfig } from '../../arch/text-config';
import { quantizableReason } from '../../arch/tensor-facts';
import { DType, isFloatDType } from '../../safetensors/types';
import { ruleMatcher } from './resolve';
import type { FloatDtype, KeepDtype, ResolvedPolicy } from './types';

export interface PolicyDecision {
  decision: QuantDecision;
  /** Which rule decided, and why it was not applied as written when it was not. */
  rule: string;
  /** Something the user should see in the conversion report. */
  reported?: string;
}

const KEEP_OF: Partial<Record<DType, KeepDtype>> = { BF16: 'bf16', F16: 'f16', F32: 'f32' };

/**
 * The keep decision after the policy's float dtype: `source` and `bf16` become the float dtype for float
 * tensors; an explicit f16/f32 is honoured; an f32 A_log is never converted (mlx-lm's cast_predicate).
 */
function keepDecision(
  want: KeepDtype,
  facts: TensorFacts,
  dtype: DType,
  floatDtype: FloatDtype | undefined,
): { decision: QuantDecision; why?: string } {
  const keep = (d: KeepDtype): { decision: QuantDecision } => ({ decision: { action: 'keep', dtype: d } });
  if (!isFloatDType(dtype)) {
    return want === 'source' ? keep('source') : { ...keep('source'), why: `${dtype} is not a float dtype, kept as is` };
  }
  if (!floatDtype || want === 'f16' || want === 'f32' || want === floatDtype) return keep(want);
  const converted = { ...keep(floatDtype), why: `float dtype ${floatDtype}` };
  if (want === 'bf16') return converted;
  if (facts.param === 'A_log' && dtype === 'F32') return { ...keep('source'), why: 'f32 A_log is never converted' };
  return KEEP_OF[dtype] === floatDtype ? keep('source') : converted;
}

export function decide(
  policy: ResolvedPolicy,
  facts: TensorFacts,
  shape: readonly number[],
  dtype: DType,
  cfg: TextConfig,
): PolicyDecision {
  const rule = policy.rules.find((r) => ruleMatcher(r)(facts, cfg));
  const label = rule?.label ?? '(no rule matched) -> keep source';
  const kept = (want: KeepDtype, extra?: string): PolicyDecision => {
    const k = keepDecision(want, facts, dtype, policy.floatDtype);
    const why = [extra, k.why].filter(Boolean).join('; ');
    return { decision: k.decision, rule: why ? `${label}; ${why}` : label };
  };
  if (!rule) return kept('source');
  const a = rule.action;
  if (a.kind === 'drop') return { decision: { action: 'drop' }, rule: label };
  if (a.kind === 'keep') return kept(a.dtype);

  const notQuantizable = quantizableReason(facts, shape) ?? (isFloatDType(dtype) ? undefined : `${dtype} is not a float dtype`);
  if (notQuantizable) return kept('source', `quantize ignored: ${notQuantizable}`);
  const last = shape[shape.length - 1];
  if (last % a.groupSize !== 0) {
    const name = `${facts.module}.${facts.param}`;
    const msg = `last dim ${last} is not divisible by group size ${a.groupSize}, kept in float`;
    return { ...kept('source', msg), reported: `${name}: ${msg}` };
  }
  return { decision: { action: 'quantize', mode: a.mode, bits: a.bits, groupSize: a.groupSize }, rule: label };
}
