/** Compiles rule selectors into predicates over tensor facts; every given condition must hold. */
import type { TensorFacts } from '../../plan/types';
import type { TextConfig } from '../../arch/text-config';
import { QUANTIZABLE_ROLES, TensorFactsEx } from '../../arch/tensor-facts';
import { globToRegExp } from './glob';
import { compileLayerSet, formatLayerSet } from './layer-set';
import { mixedLayerIndex, useMoreBits } from './mlx-mixed';
import type { PolicySelector } from './types';

export type Matcher = (facts: TensorFacts, cfg: TextConfig) => boolean;

const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** Builds the predicate, or returns `{field, problem}` for the first invalid condition. */
export function compileSelector(sel: PolicySelector): Matcher | { field: string; problem: string } {
  const tests: Matcher[] = [];
  if (sel.path !== undefined) {
    const re = globToRegExp(sel.path);
    tests.push((f) => re.test(f.module) || re.test(`${f.module}.${f.param}`));
  }
  if (sel.regex !== undefined) {
    let re: RegExp;
    try {
      re = new RegExp(sel.regex);
    } catch (e) {
      return { field: 'regex', problem: `invalid regular expression: ${(e as Error).message}` };
    }
    tests.push((f) => re.test(f.module));
  }
  if (sel.role !== undefined) {
    const roles = asList(sel.role);
    tests.push((f) => roles.includes(f.role));
  }
  if (sel.sub_role !== undefined) {
    const subs = asList(sel.sub_role);
    tests.push((f) => {
      const sub = (f as TensorFactsEx).subRole;
      return sub !== undefined && subs.includes(sub);
    });
  }
  if (sel.layer_type !== undefined) {
    const t = sel.layer_type;
    tests.push((f) => f.layerType === t);
  }
  if (sel.layers !== undefined) {
    const pred = compileLayerSet(sel.layers);
    if (typeof pred === 'string') return { field: 'layers', problem: pred };
    tests.push((f, cfg) => f.layer !== undefined && pred(f.layer, cfg.numLayers));
  }
  if (sel.mtp !== undefined) {
    const want = sel.mtp;
    tests.push((f) => f.mtp === want);
  }
  if (sel.param !== undefined) {
    const params = asList(sel.param);
    tests.push((f) => params.includes(f.param));
  }
  if (sel.use_more_bits !== undefined) {
    const want = sel.use_more_bits;
    tests.push((f, cfg) => {
      const idx = mixedLayerIndex(f.module, cfg);
      return !Number.isNaN(idx) && useMoreBits(idx, cfg.numLayers) === want;
    });
  }
  return (facts, cfg) => tests.every((t) => t(facts, cfg));
}

/** `role gdn, layers 0-3` ; `all` for the empty selector. */
export function describeSelector(sel: PolicySelector): string {
  const parts: string[] = [];
  const list = (v: string | string[]) => asList(v).join('|');
  if (sel.path !== undefined) parts.push(`path ${sel.path}`);
  if (sel.regex !== undefined) parts.push(`regex /${sel.regex}/`);
  if (sel.role !== undefined) {
    const roles = asList(sel.role);
    const allQuantizable = roles.length === QUANTIZABLE_ROLES.length && QUANTIZABLE_ROLES.every((r) => roles.includes(r));
    parts.push(allQuantizable ? 'any quantizable role' : `role ${roles.join('|')}`);
  }
  if (sel.sub_role !== undefined) parts.push(`sub_role ${list(sel.sub_role)}`);
  if (sel.layer_type !== undefined) parts.push(`${sel.layer_type} layers`);
  if (sel.layers !== undefined) parts.push(`layers ${formatLayerSet(sel.layers)}`);
  if (sel.mtp !== undefined) parts.push(sel.mtp ? 'mtp' : 'not mtp');
  if (sel.param !== undefined) parts.push(`param ${list(sel.param)}`);
  if (sel.use_more_bits !== undefined) parts.push(`${sel.use_more_bits ? '' : 'not '}use_more_bits`);
  return parts.length ? parts.join(', ') : 'all';
}

export function isCatchAll(sel: PolicySelector): boolean {
  return Object.keys(sel).length === 0;
}
