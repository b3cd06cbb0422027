/** Builds the whole conversion plan (sanitize + policy) from a source's headers and config. */
import { InputError } from '../errors';
import type { TensorInfo } from '../safetensors/types';
import { parseTextConfig, type TextConfig } from '../arch/text-config';
import { planSanitize, type SanitizeOptions, type SanitizePlan } from '../sanitize/plan-sanitize';
import type { PlannedTensor } from '../plan/types';
import { applyPolicy, type PolicyChoice, type PolicySummary } from './apply-policy';

export interface ConversionPlan {
  source: string;
  config: Record<string, unknown>;
  text: TextConfig;
  sanitize: Omit<SanitizePlan, 'tensors'>;
  policy: PolicySummary;
  tensors: PlannedTensor[];
  /** Policy findings worth reporting (e.g. last dim not divisible by the group size). */
  reports: string[];
}

export interface PlanOptions extends Omit<SanitizeOptions, 'sourceLabel'> {
  policy: PolicyChoice;
}

export function buildConversionPlan(
  source: string,
  config: Record<string, unknown> | undefined,
  tensors: Map<string, TensorInfo>,
  opts: PlanOptions,
): ConversionPlan {
  if (!config) throw new InputError('config.json is missing; a checkpoint folder needs one', { file: source });
  const text = parseTextConfig(config, `${source}/config.json`);
  const { tensors: planned, ...sanitize } = planSanitize(tensors, text, { ...opts, sourceLabel: source });
  const { tensors: decided, summary, reports } = applyPolicy(planned, text, opts.policy, opts.dtype);
  return { source, config, text, sanitize, policy: summary, tensors: decided, reports };
}
