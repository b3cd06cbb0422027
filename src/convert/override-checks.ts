/**
 * What the policy did to the planned tensors, judged before anything is written: no rule may drop a tensor
 * the architecture needs (the expected set has already been checked, so every text tensor is needed), and
 * each `--override` must decide at least one tensor and apply to it.
 *
 * An override that matches nothing, is shadowed everywhere, or cannot apply to any tensor it decides is an
 * error, not a warning: it was typed for this conversion, so the artifact would silently differ from what
 * was asked (a typo in a selector, the wrong model, a norm asked to be quantized). Policy files may match
 * nothing (one policy serves dense and MoE models); an override that applies to only some of its
 * tensors (say `mtp=q4`, whose norms stay float) is reported as a note.
 */
import { InputError } from '../errors';
import type { TextConfig } from '../arch/text-config';
import type { PlannedTensor } from '../plan/types';
import { isFloatDType } from '../safetensors/types';
import { ruleMatcher, type ResolvedPolicy, type ResolvedRule } from '../quant/policy';

/** Refuses a plan in which a rule drops a tensor other than the vision tower. */
export function refuseNeededDrops(tensors: readonly PlannedTensor[], cfg: TextConfig): void {
  const needed = tensors.filter((t) => t.quant?.action === 'drop' && t.group !== 'vision');
  if (!needed.length) return;
  const t = needed[0];
  const head = t.group === 'mtp' ? '; to convert without the MTP head use --mtp drop' : '';
  throw new InputError(
    `${t.quantRule} drops it, but ${cfg.architecture} needs it (${needed.length} needed tensor(s) dropped); ` +
      `a rule may drop only vision tensors${head}`,
    { tensor: t.name },
  );
}

/** Whether the tensor ended up as the rule asked. */
function applied(rule: ResolvedRule, t: PlannedTensor): boolean {
  const a = rule.action;
  if (a.kind === 'quantize') return t.quant?.action === 'quantize';
  if (a.kind === 'keep') return a.dtype === 'source' || isFloatDType(t.sources[0].dtype);
  return t.quant?.action === 'drop';
}

/** Checks every `--override` rule; returns notes for partly applied ones, throws for useless ones. */
export function checkOverrides(tensors: readonly PlannedTensor[], cfg: TextConfig, policy: ResolvedPolicy): string[] {
  const notes: string[] = [];
  const overrides = policy.rules.filter((r) => r.origin === '--override');
  if (!overrides.length) return notes;
  const decidedBy = tensors.map((t) => policy.rules.find((r) => ruleMatcher(r)(t.facts, cfg)));
  for (const rule of overrides) {
    const text = rule.note?.replace(/^--override /, '') ?? rule.label;
    const where = `--override '${text}'`;
    const matched = tensors.filter((t) => ruleMatcher(rule)(t.facts, cfg));
    if (!matched.length) {
      throw new InputError(`${where} matches no tensor of this ${cfg.architecture} checkpoint (${tensors.length} planned tensors); check the selector`);
    }
    const decided = tensors.filter((_, i) => decidedBy[i] === rule);
    if (!decided.length) {
      const winner = decidedBy[tensors.indexOf(matched[0])]!;
      throw new InputError(`${where} matches ${matched.length} tensor(s), but earlier rules decide all of them (e.g. '${matched[0].name}' by ${winner.label})`);
    }
    const failed = decided.filter((t) => !applied(rule, t));
    if (failed.length === decided.length) {
      throw new InputError(`${where} cannot apply to any tensor it selects (e.g. '${failed[0].name}': ${failed[0].quantRule})`, { tensor: failed[0].name });
    }
    if (failed.length) {
      notes.push(`${where} applies to ${decided.length - failed.length} of the ${decided.length} tensors it decides; not to ${failed.length} (e.g. '${failed[0].name}': ${failed[0].quantRule})`);
    }
  }
  return notes;
}
