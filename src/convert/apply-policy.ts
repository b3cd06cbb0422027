/** Puts the policy's decision on every planned tensor (temporary: only `none` until the DSL lands). */
import { InputError } from '../errors';
import type { TextConfig } from '../model/text-config';
import type { PlannedTensor } from './plan-types';

export interface PolicyChoice {
  spec: string;
  overrides?: string[];
  bits?: number;
  groupSize?: number;
  mode?: string;
}

export interface PolicySummary {
  name: string;
  rules: unknown[];
}

export function applyPolicy(
  tensors: PlannedTensor[],
  _cfg: TextConfig,
  choice: PolicyChoice,
): { tensors: PlannedTensor[]; summary: PolicySummary; reports: string[] } {
  if (choice.spec !== 'none') throw new InputError(`unknown policy '${choice.spec}'`, { field: '--policy' });
  return {
    tensors: tensors.map((t) => ({ ...t, quant: { action: 'keep', dtype: 'source' }, quantRule: 'none' })),
    summary: { name: 'none', rules: [] },
    reports: [],
  };
}
