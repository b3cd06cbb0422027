/**
 * Puts the policy's decision on every planned tensor. A keep-in-dtype decision and the policy's float
 * dtype become `cast` transforms, so the plan's dtype is what gets stored (and, for quantized tensors,
 * the dtype of their scales and biases).
 */
import type { TextConfig } from '../arch/text-config';
import { decide, resolvePolicy, type ResolvedPolicy } from '../quant/policy';
import type { QuantMode } from '../plan/types';
import { isFloatDType, type DType } from '../safetensors/types';
import type { PlannedTensor, QuantDecision } from '../plan/types';

export interface PolicyChoice {
  /** Built-in name, `a+b` combination, or a policy JSON path. */
  spec: string;
  overrides?: string[];
  bits?: number;
  groupSize?: number;
  mode?: string;
}

export interface PolicySummary {
  name: string;
  description?: string;
  sources: string[];
  /** Resolved rules in priority order (for provenance and `mtpkit plan`). */
  rules: { label: string }[];
  floatDtype?: string;
  globals: { mode: string; bits: number; groupSize: number };
  notes: string[];
}

const KEEP_DTYPE: Record<'bf16' | 'f16' | 'f32', DType> = { bf16: 'BF16', f16: 'F16', f32: 'F32' };

export function resolvePolicyChoice(choice: PolicyChoice): ResolvedPolicy {
  return resolvePolicy(choice.spec, {
    overrides: choice.overrides,
    bits: choice.bits,
    groupSize: choice.groupSize,
    mode: choice.mode as QuantMode | undefined,
  });
}

export function summarizePolicy(p: ResolvedPolicy): PolicySummary {
  return {
    name: p.name,
    description: p.description,
    sources: p.sources,
    rules: p.rules.map((r) => ({ label: r.label })),
    floatDtype: p.floatDtype,
    globals: p.globals,
    notes: p.notes,
  };
}

/**
 * Adds a cast to `to`. A cast right after another one (sanitize's cast to the config dtype) is folded
 * into one cast from the dtype before it: mlx-lm casts each tensor once, from the dtype it was loaded
 * in, so an f32 norm becomes f16 directly, not rounded to bf16 first (ml-explore/mlx-lm
 * mlx_lm/convert.py: `v.astype(dtype)` on the loaded weights).
 */
function withCast(t: PlannedTensor, to: DType, why: string): PlannedTensor {
  if (!isFloatDType(t.dtype) || t.dtype === to) return t;
  const last = t.transforms[t.transforms.length - 1];
  if (last?.kind === 'cast') {
    let before: DType = t.sources[0].dtype;
    for (const x of t.transforms.slice(0, -1)) if (x.kind === 'cast') before = x.to;
    const priorNote = `cast ${before} -> ${t.dtype}`;
    const notes = t.notes.filter((n) => n !== priorNote);
    const transforms = t.transforms.slice(0, -1);
    if (before === to) return { ...t, transforms, dtype: to, notes };
    return { ...t, transforms: [...transforms, { kind: 'cast', to }], dtype: to, notes: [...notes, `cast ${before} -> ${to} (${why}; one cast from the source dtype)`] };
  }
  return { ...t, transforms: [...t.transforms, { kind: 'cast', to }], dtype: to, notes: [...t.notes, `cast ${t.dtype} -> ${to} (${why})`] };
}

export function applyPolicy(
  tensors: PlannedTensor[],
  cfg: TextConfig,
  choice: PolicyChoice,
  /** `--dtype`: float16 asked for explicitly applies to every float the policy keeps (its bf16 too), as +fp16 does. */
  targetDtype?: string,
): { tensors: PlannedTensor[]; summary: PolicySummary; reports: string[] } {
  const resolved = resolvePolicyChoice(choice);
  const policy: ResolvedPolicy = targetDtype === 'float16' && !resolved.floatDtype ? { ...resolved, floatDtype: 'f16' } : resolved;
  const reports: string[] = [...policy.notes];
  const out: PlannedTensor[] = [];
  for (const t of tensors) {
    const d = decide(policy, t.facts, t.shape, t.dtype, cfg);
    if (d.reported) reports.push(d.reported);
    let next: PlannedTensor = { ...t, quant: d.decision, quantRule: d.rule };
    const q: QuantDecision = d.decision;
    if (q.action === 'keep' && q.dtype !== 'source') next = withCast(next, KEEP_DTYPE[q.dtype], 'policy');
    if (q.action === 'quantize' && policy.floatDtype) next = withCast(next, KEEP_DTYPE[policy.floatDtype], `${policy.floatDtype} scales`);
    out.push(next);
  }
  // The config.json `quantization` block depends on the MTP layout, so finishArtifact builds it.
  return { tensors: out, summary: summarizePolicy(policy), reports };
}
