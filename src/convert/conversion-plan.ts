/** Builds the whole conversion plan (sanitize + policy) from a source's headers and config. */
import { InputError } from '../errors';
import type { TensorInfo } from '../safetensors/types';
import type { TextConfig } from '../arch/text-config';
import { parseModelDims } from '../arch/parse-model-dims';
import { checkExpectedTensors, mtpLayersToExpect, usesHfNaming } from '../sanitize/expected-check';
import { declaredMtpLayers } from '../arch/summary';
import { planSanitize, type SanitizeOptions, type SanitizePlan } from '../sanitize/plan-sanitize';
import type { PlannedTensor } from '../plan/types';
import { applyPolicy, resolvePolicyChoice, type PolicyChoice, type PolicySummary } from './apply-policy';
import { checkOverrides, refuseNeededDrops } from './override-checks';

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
  const dims = parseModelDims(config, `${source}/config.json`);
  const text = dims.text;
  const { tensors: planned, ...sanitize } = planSanitize(tensors, text, { ...opts, sourceLabel: source });
  checkExpectedTensors(planned, dims, {
    file: source,
    mtpLayers: mtpLayersToExpect({
      declared: declaredMtpLayers(config),
      found: sanitize.configPatch.mtp_num_hidden_layers ?? text.mtpNumHiddenLayers,
      drop: opts.mtp === 'drop',
      nested: text.nested,
      file: source,
    }),
    select: opts.select,
    hfNaming: usesHfNaming(tensors.keys(), dims),
  });
  const { tensors: decided, summary, reports } = applyPolicy(planned, text, opts.policy, opts.dtype);
  refuseNeededDrops(decided, text);
  reports.push(...checkOverrides(decided, text, resolvePolicyChoice(opts.policy)));
  return { source, config, text, sanitize, policy: summary, tensors: decided, reports };
}
