/**
 * `mtpkit policies [name]`: lists the built-in quantization policies, or shows one policy (a built-in, a
 * `+` combination or a policy JSON file) with its resolved rules in priority order.
 */
import type { CommandModule } from 'yargs';
import { BUILTIN_POLICIES, findBuiltin } from '../../quant/policy/builtins';
import { OVERRIDE_SYNTAX } from '../../quant/policy/override';
import { describeAction, resolvePolicy } from '../../quant/policy/resolve';
import { describeSelector } from '../../quant/policy/selector';
import { formatQuantParams } from '../../quant/policy/modes';
import type { ResolvedPolicy } from '../../quant/policy/types';
import { formatTable, printJson, printLines } from '../output';

interface PoliciesArgs {
  name?: string;
  json: boolean;
}

export const policiesCommand: CommandModule<object, PoliciesArgs> = {
  command: 'policies [name]',
  describe: 'list the built-in quantization policies, or show the rules of one (built-in, a+b, or a .json file)',
  builder: (y) =>
    y.positional('name', {
      type: 'string',
      describe: 'a built-in name, a combination like gdn8-speed4+fp16, or a policy JSON file',
    }) as never,
  handler: (args) => {
    if (args.name === undefined) {
      if (args.json) {
        printJson({
          ok: true,
          policies: BUILTIN_POLICIES.map((p) => ({ name: p.name, summary: p.summary, doc: p.doc, policy: p.file })),
          schema: 'schemas/policy.schema.json',
          overrideSyntax: OVERRIDE_SYNTAX,
        });
      } else {
        printLines(renderList());
      }
      return;
    }
    const policy = resolvePolicy(args.name);
    const builtin = findBuiltin(args.name);
    if (args.json) {
      printJson({ ok: true, summary: builtin?.summary, doc: builtin?.doc, policy });
    } else {
      printLines(renderPolicy(policy, builtin?.summary, builtin?.doc));
    }
  },
};

function renderList(): string[] {
  return [
    'Built-in quantization policies:',
    '',
    ...formatTable(['name', 'summary'], BUILTIN_POLICIES.map((p) => [p.name, p.summary])).map((l) => `  ${l}`),
    '',
    "Combine with '+' (gdn8-speed4+fp16: earlier parts win), or give your own policy JSON file",
    '(schema: schemas/policy.schema.json; first matching rule wins; unmatched tensors keep their source dtype).',
    '',
    'Overrides: --override "SELECTOR=ACTION" (repeatable, highest priority first)',
    ...OVERRIDE_SYNTAX.map((l) => `  ${l}`),
    '',
    "Run 'mtpkit policies <name>' for a policy's documentation and rules.",
  ];
}

function renderPolicy(p: ResolvedPolicy, summary?: string, doc?: string[]): string[] {
  const lines = [`policy:       ${p.name}${summary ? ` - ${summary}` : p.description ? ` - ${p.description}` : ''}`];
  if (p.sources.length > 1) lines.push(`made of:      ${p.sources.join(', ')} (in priority order)`);
  lines.push(`defaults:     ${formatQuantParams(p.globals)} (changed by --bits/--group-size/--mode)`);
  lines.push(`float dtype:  ${p.floatDtype ?? 'as the source (bf16 / f16 / f32)'}`);
  for (const n of p.notes) lines.push(`note:         ${n}`);
  if (doc?.length) lines.push('', ...doc);
  lines.push('', 'Rules (first match wins; no match = keep in the source dtype):');
  const rows = p.rules.map((r, i) => [
    String(i),
    r.origin === '--override' ? `--override[${r.index}]` : `${r.origin} rules[${r.index}]`,
    describeSelector(r.match),
    describeAction(r.action),
    r.note ?? '',
  ]);
  lines.push(...formatTable(['#', 'from', 'match', 'action', 'note'], rows).map((l) => `  ${l}`));
  return lines;
}
