/**
 * README.md of an artifact: Hub front matter (ml-explore/mlx-lm mlx_lm/utils.py and mlx_lm/convert.py) and plain facts — what each component
 * is stored as, the policy, sizes, the MTP head layout, provenance, verification status, how to run it.
 * Everything is derived from a ConversionPlan and the write results; no claims beyond them.
 */
import { formatBytes } from '../format';
import type { Architecture } from '../arch/architecture';
import { tensorBytes } from '../safetensors/types';
import type { PlannedTensor } from '../plan/types';
import { outputSpecs } from '../plan/output-specs';
import { describeQuantization, type GraftRecord } from '../artifact/graft-record';

export interface CardComponent {
  component: string;
  /** Planned tensors (a quantized weight counts once, not with its scales / biases). */
  tensors: number;
  formats: { format: string; count: number }[];
  /** Policy rules that decided these tensors. */
  rules: string[];
  bytes: number;
}

export interface CardFile {
  file: string;
  size: number;
  sha256?: string;
}

export interface CardInput {
  /** Heading; default `<base model name> MLX (MTP)`. */
  title?: string;
  /** Source repo id (`Qwen/Qwen3.6-27B`) or name. */
  baseModel: string;
  /** Whether `baseModel` is a Hub repo id (links it). */
  baseModelIsRepo: boolean;
  sourceRevision?: string;
  /** A local source's files (its identity: the card never names local paths). */
  sourceFiles?: CardFile[];
  /** A graft: the trunk the head was added to, and the pairing hashes. */
  graft?: GraftRecord;
  /** License id from the source card / config (`apache-2.0`); omitted when unknown. */
  license?: string;
  licenseName?: string;
  licenseLink?: string;
  architecture: Architecture;
  pipelineTag?: string;
  /** Repo id or path used in the usage commands; default a placeholder. */
  modelRef?: string;
  components: CardComponent[];
  policy: { name: string; rules: string[] };
  bitsPerWeight: { trunk: number; mtp?: number; vision?: number };
  mtp: { layers: number; tensors: number; layout: 'sidecar' | 'inline' | 'none'; file?: string; format?: string };
  files: CardFile[];
  tool: { name: string; version: string };
  /** `pending_smoke_test` until a smoke test has run. */
  verification: { status: string; detail?: string };
}

// Component rows in a fixed order.
const TRUNK_ROLES: [string, string][] = [
  ['gdn', 'GDN linears (linear_attn in_proj_*, out_proj)'],
  ['conv', 'GDN conv1d'],
  ['gdn_param', 'GDN A_log, dt_bias'],
  ['attention', 'full attention q/k/v/o'],
  ['mlp', 'MLP gate/up/down'],
  ['experts', 'MoE experts (switch_mlp)'],
  ['shared_expert', 'MoE shared expert'],
  ['router', 'MoE routers (mlp.gate, shared_expert_gate)'],
  ['embedding', 'embedding'],
  ['lm_head', 'lm_head'],
  ['norm', 'norms'],
  ['other', 'other'],
];
const MTP_PARTS: [RegExp, string][] = [
  [/^(?:language_model\.)?mtp\.fc\./, 'MTP fc'],
  [/\.self_attn\.[qkvo]_proj\./, 'MTP attention q/k/v/o'],
  [/\.mlp\.switch_mlp\./, 'MTP experts (switch_mlp)'],
  [/\.mlp\.shared_expert\./, 'MTP shared expert'],
  [/\.mlp\.(gate|shared_expert_gate)\./, 'MTP routers'],
  [/\.mlp\.(gate|up|down)_proj\./, 'MTP MLP gate/up/down'],
  [/norm/, 'MTP norms'],
];
const ORDER = [...TRUNK_ROLES.map(([, l]) => l), ...MTP_PARTS.map(([, l]) => l), 'MTP other', 'vision tower'];

function componentOf(t: PlannedTensor): string {
  if (t.group === 'vision') return 'vision tower';
  if (t.group === 'mtp') return MTP_PARTS.find(([re]) => re.test(t.name))?.[1] ?? 'MTP other';
  return TRUNK_ROLES.find(([r]) => r === t.facts.role)?.[1] ?? 'other';
}

/** `affine 4-bit g64`, `mxfp4 4-bit g32`, or the stored float dtype (`bf16`). */
export function formatOf(t: PlannedTensor): string {
  const q = t.quant;
  if (q?.action === 'quantize') return `${q.mode} ${q.bits}-bit g${q.groupSize}`;
  return t.dtype.toLowerCase();
}

/** Groups planned tensors (dropped ones left out) into the card's component rows. */
export function cardComponentsFromPlan(tensors: readonly PlannedTensor[]): CardComponent[] {
  const rows = new Map<string, { tensors: number; formats: Map<string, number>; rules: Set<string>; bytes: number }>();
  for (const t of tensors) {
    if (t.quant?.action === 'drop') continue;
    const key = componentOf(t);
    const row = rows.get(key) ?? { tensors: 0, formats: new Map<string, number>(), rules: new Set<string>(), bytes: 0 };
    rows.set(key, row);
    row.tensors++;
    const f = formatOf(t);
    row.formats.set(f, (row.formats.get(f) ?? 0) + 1);
    if (t.quantRule) row.rules.add(t.quantRule);
    row.bytes += outputSpecs(t).reduce((a, s) => a + tensorBytes(s.dtype, s.shape), 0);
  }
  return [...rows.entries()]
    .sort((a, b) => ORDER.indexOf(a[0]) - ORDER.indexOf(b[0]))
    .map(([component, r]) => ({
      component,
      tensors: r.tensors,
      formats: [...r.formats.entries()].sort((a, b) => b[1] - a[1]).map(([format, count]) => ({ format, count })),
      rules: [...r.rules],
      bytes: r.bytes,
    }));
}

/** A YAML scalar: bare when plainly safe, else double-quoted (JSON strings are valid YAML). */
function yaml(s: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(s) && !/^(true|false|null|yes|no|on|off|~)$/i.test(s) ? s : JSON.stringify(s);
}

/** Markdown table cell: no pipes or newlines. */
function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}


/** Provenance lines of a graft: the trunk (where from, quantization) and the trunk/head pairing. */
function graftLines(g: GraftRecord): string[] {
  const t = g.trunk;
  const where = t.repo ? `${t.repo}${t.revision ? ` at commit \`${t.revision}\`` : ''}` : `local folder \`${t.name ?? '?'}\``;
  return [
    `- Trunk: ${where}, quantization ${describeQuantization(t.quantization)}${t.bits_per_weight !== undefined ? `, ${t.bits_per_weight.toFixed(3)} bits per weight` : ''}; its files were linked unchanged.`,
    `- Pairing: the head \`${g.head.file}\` (sha256 \`${g.head.sha256}\`) was grafted onto the trunk whose weight files hash to \`${t.content_sha256}\` ` +
      '(sha256 over their `sha256  file` lines); `mtpkit validate` checks both.',
  ];
}

function frontMatter(c: CardInput, quantized: boolean): string[] {
  const lines = ['---', 'library_name: mlx', `base_model: ${yaml(c.baseModel)}`];
  if (quantized && c.baseModelIsRepo) lines.push('base_model_relation: quantized');
  if (c.license) lines.push(`license: ${yaml(c.license)}`);
  if (c.licenseName) lines.push(`license_name: ${yaml(c.licenseName)}`);
  if (c.licenseLink) lines.push(`license_link: ${yaml(c.licenseLink)}`);
  lines.push(`pipeline_tag: ${yaml(c.pipelineTag ?? 'text-generation')}`);
  lines.push('tags:', ...['mlx', 'mtp', 'speculative-decoding', c.architecture, 'mtpkit'].map((t) => `- ${yaml(t)}`));
  lines.push('---');
  return lines;
}

function usage(c: CardInput): string[] {
  const ref = c.modelRef ?? '<path-or-repo-of-this-artifact>';
  const lines = [
    '## How to run',
    '',
    '### MTPLX',
    '',
    '```bash',
    `mtplx inspect ${ref}         # compatibility report`,
    `mtplx serve --model ${ref}   # OpenAI-compatible server with MTP speculative decoding`,
    '```',
    '',
    'Command names as in the MTPLX README; options change between releases, see `mtplx --help`.',
  ];
  if (c.mtp.layout === 'inline') {
    lines.push('MTPLX finds inline heads through the index (`language_model.mtp.*` / `mtp.*` keys); its own packs use a sidecar.');
  }
  lines.push(
    '',
    '### mlx-lm',
    '',
    '```bash',
    `mlx_lm.generate --model ${ref} --prompt "Hello"`,
    '```',
    '',
    'Released mlx-lm runs the trunk only (it drops MTP weights).',
  );
  if (c.mtp.layout !== 'none') lines.push('');
  if (c.mtp.layout === 'inline') {
    lines.push(
      'Native MTP needs the branch of ml-explore/mlx-lm PR #990 (`AirRunner/mlx-lm`, `feat/mtp-native`), which reads this inline head:',
      '',
      '```bash',
      `mlx_lm.generate --model ${ref} --mtp --prompt "Hello"`,
      '```',
      '',
      "That branch's CLI decodes greedily whatever `--temp` says. mlx-lm releases before PR #1623 (0.31.3 and older, per third-party reports) " +
        'treat a converted checkpoint that contains MTP keys as raw and shift every norm a second time; use a newer one.',
    );
  } else if (c.mtp.layout === 'sidecar') {
    lines.push(
      `Native MTP in mlx-lm (PR #990 branch) reads the head only from inline \`language_model.mtp.*\` weights, not from \`${c.mtp.file ?? 'mtp.safetensors'}\`; ` +
        'convert with the inline layout to use it there.',
    );
  }
  return lines;
}

export function renderModelCard(c: CardInput): string {
  const quantized = c.components.some((r) => r.formats.some((f) => /-bit g/.test(f.format)));
  const name = c.baseModel.split('/').pop() ?? c.baseModel;
  const baseLink = c.baseModelIsRepo ? `[${c.baseModel}](https://huggingface.co/${c.baseModel})` : `\`${c.baseModel}\``;
  const pending = c.verification.status.startsWith('pending_');
  const out: string[] = [...frontMatter(c, quantized), '', `# ${c.title ?? `${name} MLX (MTP)`}`, ''];
  out.push(`MLX conversion of ${baseLink} with its multi-token-prediction (MTP) head, made with ${c.tool.name} ${c.tool.version}.`, '');

  out.push('## Contents', '', '| component | tensors | stored as | policy rule | bytes |', '|---|---:|---|---|---:|');
  for (const r of c.components) {
    const formats = r.formats.length === 1 ? r.formats[0].format : r.formats.map((f) => `${f.format} (${f.count})`).join(', ');
    out.push(`| ${cell(r.component)} | ${r.tensors} | ${cell(formats)} | ${cell(r.rules.join(', ') || '-')} | ${r.bytes} |`);
  }
  out.push('', 'Quantized tensors are MLX affine/fp packed `weight` (U32) with `scales` (and `biases` for affine); g = group size.', '');

  out.push('## Quantization policy', '', `Policy \`${c.policy.name}\`, rules in priority order (first match wins):`, '');
  if (c.policy.rules.length) for (const r of c.policy.rules) out.push(`- \`${r}\``);
  else out.push('- (no rules: every tensor keeps its dtype)');
  out.push('');

  out.push('## Size', '', '| part | bits per weight |', '|---|---:|', `| trunk | ${c.bitsPerWeight.trunk.toFixed(3)} |`);
  if (c.bitsPerWeight.mtp !== undefined) out.push(`| MTP head | ${c.bitsPerWeight.mtp.toFixed(3)} |`);
  if (c.bitsPerWeight.vision !== undefined) out.push(`| vision tower | ${c.bitsPerWeight.vision.toFixed(3)} |`);
  out.push('', 'Bits per weight count stored bytes (scales and biases included) per parameter.', '');

  out.push('## MTP head', '');
  if (c.mtp.layout === 'none') {
    out.push('No MTP head is stored (`mtp_num_hidden_layers` is 0); MTP runtimes cannot speculate with this artifact.', '');
  } else {
    out.push(`- ${c.mtp.layers} MTP layer(s), ${c.mtp.tensors} tensors${c.mtp.format ? `, format \`${c.mtp.format}\`` : ''}.`);
    if (c.mtp.layout === 'sidecar') {
      const f = c.mtp.file ?? 'mtp.safetensors';
      out.push(`- Layout: sidecar \`${f}\` with \`mtp.*\` keys, not listed in \`model.safetensors.index.json\`; config.json names it in \`mlx_lm_extra_tensors\`. The trunk shards hold no MTP keys.`);
    } else {
      out.push('- Layout: inline, `language_model.mtp.*` keys (`mtp.*` for Qwen3-Next) inside the trunk shards, listed in the index.');
    }
    out.push('- Norms are stored as MLX gammas (the +1 of the zero-centred HF norms is folded in).');
    // No draft depth / profile here: the contract's mtp_depth_max is MTPLX's default picked by hidden size
    // (artifact/contract.ts defaultMtpDepthMax), not a measurement; MTPLX reads it from the contract.
    out.push('');
  }

  out.push('## Files', '', '| file | bytes | sha256 |', '|---|---:|---|');
  for (const f of c.files) out.push(`| ${cell(f.file)} | ${f.size} (${formatBytes(f.size)}) | ${f.sha256 ? `\`${f.sha256}\`` : '-'} |`);
  out.push('');

  out.push('## Provenance', '');
  const source = c.baseModelIsRepo ? `${c.baseModel}${c.sourceRevision ? ` at commit \`${c.sourceRevision}\`` : ' (revision not recorded)'}` : `local folder \`${c.baseModel}\` (not a Hub repo; identified by its files below)`;
  out.push(`- Source${c.graft ? ' of the MTP head' : ''}: ${source}`);
  for (const f of c.sourceFiles ?? []) out.push(`  - \`${cell(f.file)}\`: ${f.size} bytes${f.sha256 ? `, sha256 \`${f.sha256}\`` : ''}`);
  if (c.graft) out.push(...graftLines(c.graft));
  out.push(`- Tool: ${c.tool.name} ${c.tool.version}`);
  out.push('- `mtplx_runtime.json` (`mtpkit_provenance`) records the policy with its resolved rules and the size and checksum of every input and output file.');
  out.push('');

  out.push('## Verification', '');
  if (pending) {
    out.push(
      `Not verified. No exactness or speed test has run on this artifact; \`mtplx_runtime.json\` records \`exactness_baseline.status: ${c.verification.status}\`, ` +
        'so MTPLX labels it unverified (it still runs it).',
    );
  } else {
    out.push(`Status: \`${c.verification.status}\`.`);
  }
  if (c.verification.detail) out.push('', c.verification.detail);
  out.push('', '`mtpkit validate` checks the structure (index, shards, quantization metadata, MTP tensor set, contract); it does not run the model.', '');

  out.push(...usage(c), '');
  return out.join('\n');
}
