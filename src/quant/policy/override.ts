/**
 * `--override "SELECTOR=ACTION"`: one rule in a compact syntax, prepended to the policy (earlier overrides
 * win over later ones, all win over the policy).
 *
 * SELECTOR is a comma-separated list of `key:value` conditions, all of which must hold:
 *   path:<glob>  regex:<re>  role:<r>[,<r>…]  sub_role:<r>[,<r>…]  layer_type:linear|full
 *   layers:<ranges>  mtp:true|false  param:<name>[,<name>…]  use_more_bits:true|false
 * A comma-separated piece that does not start with a known `key:` continues the previous value, so
 * `layers:0-3,8,role:attention` is layers "0-3,8" and role attention. A bare first piece is a role when it
 * names one (`gdn`, `mtp.fc`), else a path glob (`**.down_proj`).
 * ACTION: q<bits>[g<group>] (affine), mxfp4, mxfp8, nvfp4, bf16, f16, f32, source (or keep), drop.
 * Examples: `role:gdn=q8`, `path:language_model.model.layers.*.mlp.down_proj=q6g64`,
 * `layers:0-3,role:attention=bf16`, `mtp.fc=q4`.
 */
import type { ModuleRole } from '../../plan/types';
import { InputError } from '../../errors';
import { ALL_ROLES, MTP_SUB_ROLES, MtpSubRole } from '../../arch/tensor-facts';
import type { PolicyAction, PolicyRule, PolicySelector } from './types';

const KEYS = ['path', 'regex', 'role', 'sub_role', 'layer_type', 'layers', 'mtp', 'param', 'use_more_bits'] as const;
type Key = (typeof KEYS)[number];
const KEY_RE = new RegExp(`^(${KEYS.join('|')}):`);

export const OVERRIDE_SYNTAX = [
  'SELECTOR=ACTION, e.g. role:gdn=q8 | path:language_model.model.layers.*.mlp.down_proj=q6g64 | layers:0-3,role:attention=bf16 | mtp.fc=q4',
  `SELECTOR: comma-separated key:value conditions (${KEYS.join(', ')}); a piece without "key:" continues the previous value; a bare first piece is a role name or a path glob`,
  'ACTION: q<bits>[g<group>] (affine), mxfp4, mxfp8, nvfp4, bf16, f16, f32, source|keep, drop',
];

export function parseOverride(text: string): PolicyRule {
  const fail = (problem: string): never => {
    throw new InputError(`override '${text}': ${problem}`);
  };
  const eq = text.lastIndexOf('=');
  if (eq < 0) fail('expected SELECTOR=ACTION (e.g. role:gdn=q8)');
  const selText = text.slice(0, eq).trim();
  const actText = text.slice(eq + 1).trim();
  if (!selText) fail('empty selector before "="');
  return { match: parseSelector(selText, fail), action: parseAction(actText, fail), note: `--override ${text}` };
}

function parseSelector(text: string, fail: (p: string) => never): PolicySelector {
  const pairs: Array<[Key, string]> = [];
  text.split(',').forEach((piece, i) => {
    const m = KEY_RE.exec(piece);
    if (m) pairs.push([m[1] as Key, piece.slice(m[0].length)]);
    else if (i === 0) pairs.push([(ALL_ROLES as readonly string[]).includes(piece.trim()) ? 'role' : 'path', piece]);
    else pairs[pairs.length - 1][1] += `,${piece}`;
  });
  const sel: PolicySelector = {};
  for (const [key, rawValue] of pairs) {
    const value = rawValue.trim();
    if (!value) fail(`empty value for ${key}`);
    if (key in sel) fail(`${key} given twice`);
    const list = value.split(',').map((v) => v.trim());
    switch (key) {
      case 'path':
      case 'regex':
        sel[key] = value;
        break;
      case 'role':
        for (const r of list) if (!(ALL_ROLES as readonly string[]).includes(r)) fail(`unknown role '${r}' (roles: ${ALL_ROLES.join(', ')})`);
        sel.role = list.length === 1 ? (list[0] as ModuleRole) : (list as ModuleRole[]);
        break;
      case 'sub_role':
        for (const r of list) if (!(MTP_SUB_ROLES as readonly string[]).includes(r)) fail(`unknown sub_role '${r}' (${MTP_SUB_ROLES.join(', ')})`);
        sel.sub_role = list.length === 1 ? (list[0] as MtpSubRole) : (list as MtpSubRole[]);
        break;
      case 'layer_type':
        if (value !== 'linear' && value !== 'full') fail(`layer_type must be linear or full (got '${value}')`);
        sel.layer_type = value as 'linear' | 'full';
        break;
      case 'layers':
        sel.layers = value;
        break;
      case 'mtp':
      case 'use_more_bits':
        if (!['true', 'false', 'yes', 'no'].includes(value)) fail(`${key} must be true or false (got '${value}')`);
        sel[key] = value === 'true' || value === 'yes';
        break;
      case 'param':
        sel.param = list.length === 1 ? list[0] : list;
        break;
    }
  }
  return sel;
}

function parseAction(text: string, fail: (p: string) => never): PolicyAction {
  const t = text.toLowerCase();
  if (t === 'drop') return 'drop';
  if (t === 'bf16' || t === 'f16' || t === 'f32' || t === 'source') return { keep: t };
  if (t === 'keep') return { keep: 'source' };
  if (t === 'mxfp4' || t === 'mxfp8' || t === 'nvfp4') return { quantize: { mode: t } };
  const m = /^q(\d+)(?:g(\d+))?$/.exec(t);
  if (!m) {
    return fail(`unknown action '${text}' (expected q<bits>[g<group>], mxfp4, mxfp8, nvfp4, bf16, f16, f32, source or drop)`);
  }
  return { quantize: { mode: 'affine', bits: Number(m[1]), ...(m[2] ? { group_size: Number(m[2]) } : {}) } };
}
