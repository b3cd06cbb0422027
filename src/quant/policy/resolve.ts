/**
 * Turns a policy spec into a ResolvedPolicy: a built-in name, a `+` combination (`gdn8-speed4+fp16`) or a
 * path to a policy JSON file, each possibly extending others, plus `--override` rules and the global
 * --bits / --group-size / --mode. Everything invalid is reported here, naming the policy and rule.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { QuantMode } from '../../plan/types';
import { InputError } from '../../errors';
import { BuiltinPolicy, BUILTIN_POLICIES, findBuiltin } from './builtins';
import { fillQuantParams, formatQuantParams, MODE_DEFAULTS, quantParamsProblem } from './modes';
import { parseOverride } from './override';
import { validatePolicyFile } from './schema';
import { compileSelector, describeSelector, isCatchAll, Matcher } from './selector';
import type { PolicyAction, PolicyFile, PolicyRule, QuantParams, ResolvedAction, ResolvedPolicy, ResolvedRule } from './types';

export interface ResolveOptions {
  /** `SELECTOR=ACTION` strings (see override.ts), highest priority first. */
  overrides?: string[];
  bits?: number;
  groupSize?: number;
  mode?: QuantMode;
  /** Reads a policy JSON file (default: fs + JSON.parse). */
  loader?: (file: string) => unknown;
  /** Directory user paths are relative to (default: the current directory). */
  baseDir?: string;
}

interface Layer {
  /** Name used in messages and rule labels. */
  label: string;
  /** Identity for de-duplication and cycle detection. */
  id: string;
  file: PolicyFile;
  builtin?: BuiltinPolicy;
}

const compiled = new WeakMap<ResolvedRule, Matcher>();

/** The compiled selector of a resolved rule (compiled again if the rule came from elsewhere, e.g. JSON). */
export function ruleMatcher(rule: ResolvedRule): Matcher {
  let m = compiled.get(rule);
  if (!m) {
    const c = compileSelector(rule.match);
    if (typeof c !== 'function') throw new InputError(`${rule.label}: ${c.field}: ${c.problem}`);
    m = c;
    compiled.set(rule, m);
  }
  return m;
}

function defaultLoader(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read policy file: ${(e as Error).message}`, { file });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(`policy file is not valid JSON: ${(e as Error).message}`, { file });
  }
}

const looksLikePath = (s: string) => s.endsWith('.json') || s.includes('/') || s.includes('\\');

function splitCombination(spec: string): string[] {
  if (findBuiltin(spec) || !spec.includes('+')) return [spec];
  const parts = spec.split('+').map((p) => p.trim());
  const ok = parts.every((p) => p && (findBuiltin(p) || p.endsWith('.json')));
  return ok ? parts : [spec];
}

export function resolvePolicy(spec: string, opts: ResolveOptions = {}): ResolvedPolicy {
  const loader = opts.loader ?? defaultLoader;
  const baseDir = opts.baseDir ?? process.cwd();
  const layers: Layer[] = [];
  const seen = new Set<string>();

  const visit = (ref: string, fromDir: string, stack: string[]): void => {
    const builtin = findBuiltin(ref);
    let layer: Layer;
    let dir = fromDir;
    if (builtin) {
      layer = { label: builtin.name, id: `builtin:${builtin.name}`, file: builtin.file, builtin };
    } else if (looksLikePath(ref)) {
      const abs = path.resolve(fromDir, ref);
      dir = path.dirname(abs);
      layer = { label: ref, id: `file:${abs}`, file: validatePolicyFile(loader(abs), ref) };
    } else {
      throw new InputError(
        `unknown policy '${ref}' (built-in: ${BUILTIN_POLICIES.map((p) => p.name).join(', ')}; ` +
          'or give a path to a policy .json file)',
      );
    }
    if (stack.includes(layer.id)) {
      throw new InputError(`policy '${layer.label}' extends itself (${[...stack, layer.id].join(' -> ')})`);
    }
    if (seen.has(layer.id)) return;
    seen.add(layer.id);
    layers.push(layer);
    const parents = layer.file.extends === undefined ? [] : ([] as string[]).concat(layer.file.extends);
    for (const p of parents) visit(p, dir, [...stack, layer.id]);
  };
  for (const part of splitCombination(spec)) visit(part, baseDir, []);

  const notes: string[] = [];
  for (const l of layers) if (l.builtin?.check) notes.push(...l.builtin.check(opts));

  const globals = resolveGlobals(layers, opts);
  const floatDtype = layers.find((l) => l.file.float_dtype)?.file.float_dtype;

  const rules: ResolvedRule[] = [];
  (opts.overrides ?? []).forEach((text, i) => {
    const rule = parseOverride(text);
    rules.push(resolveRule(rule, { origin: '--override', index: i, where: `override '${text}': `, globals }));
  });
  for (const l of layers) {
    (l.file.rules ?? []).forEach((rule, i) => {
      rules.push(resolveRule(rule, { origin: l.label, index: i, where: `policy '${l.label}': rules[${i}].`, globals }));
    });
  }
  const catchAll = rules.findIndex((r) => isCatchAll(r.match));
  if (catchAll >= 0 && catchAll < rules.length - 1) {
    const shadowed = rules[catchAll + 1];
    throw new InputError(
      `${rules[catchAll].label} matches every tensor, so later rules such as ${shadowed.label} could never apply`,
    );
  }

  const single = layers.length > 0 && splitCombination(spec).length === 1 ? layers[0].file : undefined;
  return {
    name: spec + globalsSuffix(spec, layers, opts),
    description: single?.description,
    rules,
    floatDtype,
    globals,
    sources: layers.map((l) => l.label),
    notes,
  };
}

/**
 * --bits / --group-size / --mode change the defaults that quantize rules without their own value take.
 * An option no rule takes would be silently ignored: refused. One that changes a named policy other
 * than `uniform` (whose parameters they are) is recorded in its name, so the card and the contract
 * never show `gdn8-speed4` for what is really an 8-bit variant.
 */
function globalsSuffix(spec: string, layers: Layer[], opts: ResolveOptions): string {
  const given: [string, string, unknown][] = [
    ['--bits', 'bits', opts.bits],
    ['--group-size', 'group_size', opts.groupSize],
    ['--mode', 'mode', opts.mode],
  ];
  const quantizeSpecs = layers.flatMap((l) => (l.file.rules ?? []).map((r) => r.action)).filter((a): a is Extract<PolicyAction, { quantize: unknown }> => typeof a === 'object' && 'quantize' in a);
  const parts: string[] = [];
  for (const [flag, key, value] of given) {
    if (value === undefined) continue;
    const takers = quantizeSpecs.filter((a) => (a.quantize as Record<string, unknown>)[key] === undefined);
    if (!takers.length) {
      throw new InputError(`${flag} has no effect with policy '${spec}': none of its rules takes a default ${key.replace('_', ' ')} (use --override, or a policy file)`);
    }
    parts.push(`${flag} ${String(value)}`);
  }
  const base = layers[0]?.builtin?.name;
  return parts.length && base !== 'uniform' ? ` (${parts.join(' ')})` : '';
}

/** Defaults merged from the most basic policy up to the most specific, then the command-line options. */
function resolveGlobals(layers: Layer[], opts: ResolveOptions): QuantParams {
  let g: QuantParams = { mode: 'affine', ...MODE_DEFAULTS.affine };
  for (const l of [...layers].reverse()) {
    const d = l.file.defaults;
    if (!d) continue;
    g = fillQuantParams({ mode: d.mode, bits: d.bits, groupSize: d.group_size }, g);
    const problem = quantParamsProblem(g);
    if (problem) throw new InputError(`policy '${l.label}': defaults: ${problem}`);
  }
  if (opts.mode !== undefined || opts.bits !== undefined || opts.groupSize !== undefined) {
    if (opts.mode !== undefined && !(opts.mode in MODE_DEFAULTS)) {
      throw new InputError(`--mode must be one of ${Object.keys(MODE_DEFAULTS).join(', ')} (got ${opts.mode})`);
    }
    g = fillQuantParams({ mode: opts.mode, bits: opts.bits, groupSize: opts.groupSize }, g);
    const problem = quantParamsProblem(g);
    if (problem) throw new InputError(`--mode/--bits/--group-size: ${problem}`);
  }
  return g;
}

/** `where` is the message prefix up to the field, e.g. `policy 'x': rules[3].`. */
function resolveAction(action: PolicyAction, globals: QuantParams, where: string): ResolvedAction {
  if (action === 'drop') return { kind: 'drop' };
  if ('keep' in action) return { kind: 'keep', dtype: action.keep };
  const q = action.quantize;
  const p = fillQuantParams({ mode: q.mode, bits: q.bits, groupSize: q.group_size }, globals);
  const problem = quantParamsProblem(p);
  if (problem) throw new InputError(`${where}action.quantize: ${problem}`);
  return { kind: 'quantize', ...p };
}

export function describeAction(a: ResolvedAction): string {
  if (a.kind === 'quantize') return formatQuantParams(a);
  if (a.kind === 'keep') return `keep ${a.dtype}`;
  return 'drop';
}

function resolveRule(
  rule: PolicyRule,
  ctx: { origin: string; index: number; where: string; globals: QuantParams },
): ResolvedRule {
  const matcher = compileSelector(rule.match);
  if (typeof matcher !== 'function') throw new InputError(`${ctx.where}match.${matcher.field}: ${matcher.problem}`);
  const action = resolveAction(rule.action, ctx.globals, ctx.where);
  const head = ctx.origin === '--override' ? `--override[${ctx.index}]` : `${ctx.origin} rules[${ctx.index}]`;
  const resolved: ResolvedRule = {
    origin: ctx.origin,
    index: ctx.index,
    match: rule.match,
    action,
    ...(rule.note !== undefined ? { note: rule.note } : {}),
    label: `${head} (${describeSelector(rule.match)} -> ${describeAction(action)})`,
  };
  compiled.set(resolved, matcher);
  return resolved;
}
