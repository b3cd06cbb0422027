import { cardComponentsFromPlan, formatOf, renderModelCard, type CardInput } from '../../src/convert/model-card';
import type { ModuleRole, OutputGroup, PlannedTensor, QuantDecision } from '../../src/plan/types';
import type { DType } from '../../src/safetensors/types';

function t(name: string, role: ModuleRole, shape: number[], quant: QuantDecision, group: OutputGroup = 'trunk', dtype: DType = 'BF16', rule = 'r'): PlannedTensor {
  return {
    name, sources: [], transforms: [], dtype, shape, group, notes: [], quant, quantRule: rule,
    facts: { module: name.replace(/\.weight$/, ''), param: 'weight', role, mtp: group === 'mtp' },
  };
}
const q = (bits: number, groupSize = 64): QuantDecision => ({ action: 'quantize', mode: 'affine', bits, groupSize });
const keep: QuantDecision = { action: 'keep', dtype: 'source' };

const L = 'language_model.model.layers';
const plan: PlannedTensor[] = [
  t(`${L}.0.linear_attn.in_proj_qkv.weight`, 'gdn', [96, 64], q(8), 'trunk', 'BF16', 'gdn8'),
  t(`${L}.0.linear_attn.out_proj.weight`, 'gdn', [64, 64], q(8), 'trunk', 'BF16', 'gdn8'),
  t(`${L}.0.mlp.up_proj.weight`, 'mlp', [128, 64], q(4), 'trunk', 'BF16', 'speed4'),
  t(`${L}.1.mlp.up_proj.weight`, 'mlp', [128, 64], q(6), 'trunk', 'BF16', 'speed4'),
  t(`${L}.0.input_layernorm.weight`, 'norm', [64], keep, 'trunk', 'BF16', 'keep-norms'),
  t(`${L}.0.linear_attn.A_log`, 'gdn_param', [2], keep, 'trunk', 'F32', 'keep'),
  t('language_model.model.embed_tokens.weight', 'embedding', [128, 64], q(4), 'trunk', 'BF16', 'speed4'),
  t('language_model.mtp.fc.weight', 'mtp.fc', [64, 128], keep, 'mtp', 'BF16', 'mtp-fc-bf16'),
  t('language_model.mtp.layers.0.self_attn.q_proj.weight', 'mtp', [128, 64], q(4), 'mtp', 'BF16', 'mtp-body4'),
  t('language_model.mtp.norm.weight', 'norm', [64], keep, 'mtp', 'BF16', 'keep-norms'),
  t('vision_tower.blocks.0.attn.qkv.weight', 'vision', [48, 16], { action: 'drop' }, 'vision'),
];

function input(over: Partial<CardInput> = {}): CardInput {
  return {
    baseModel: 'Qwen/Qwen3.6-27B',
    baseModelIsRepo: true,
    sourceRevision: 'f'.repeat(40),
    license: 'apache-2.0',
    architecture: 'qwen3_5',
    components: cardComponentsFromPlan(plan),
    policy: { name: 'gdn8-speed4', rules: ['gdn8: role gdn -> affine 8/64', 'speed4: default -> affine 4/64'] },
    bitsPerWeight: { trunk: 5.0123, mtp: 6.25 },
    mtp: { layers: 1, tensors: 29, layout: 'sidecar', file: 'mtp.safetensors', format: 'prequantized-mlx-affine' },
    files: [{ file: 'model.safetensors', size: 2048, sha256: 'a'.repeat(64) }, { file: 'mtp.safetensors', size: 100 }],
    tool: { name: 'mtpkit', version: '0.1.0' },
    verification: { status: 'pending_smoke_test' },
    ...over,
  };
}

function frontMatter(card: string): Record<string, string | string[]> {
  const lines = card.split('\n');
  expect(lines[0]).toBe('---');
  const end = lines.indexOf('---', 1);
  const out: Record<string, string | string[]> = {};
  let list: string[] | undefined;
  for (const l of lines.slice(1, end)) {
    if (l.startsWith('- ')) list!.push(l.slice(2));
    else {
      const [k, ...v] = l.split(': ');
      if (l.endsWith(':')) out[l.slice(0, -1)] = list = [];
      else out[k] = v.join(': ');
    }
  }
  return out;
}

test('components: one row per component with its formats, rules and stored bytes; dropped tensors left out', () => {
  const rows = cardComponentsFromPlan(plan);
  const by = Object.fromEntries(rows.map((r) => [r.component, r]));
  expect(rows.map((r) => r.component)).toEqual([
    'GDN linears (linear_attn in_proj_*, out_proj)', 'GDN A_log, dt_bias', 'MLP gate/up/down', 'embedding', 'norms',
    'MTP fc', 'MTP attention q/k/v/o', 'MTP norms',
  ]);
  expect(by['GDN linears (linear_attn in_proj_*, out_proj)']).toMatchObject({ tensors: 2, formats: [{ format: 'affine 8-bit g64', count: 2 }], rules: ['gdn8'] });
  expect(by['MLP gate/up/down'].formats).toEqual(expect.arrayContaining([{ format: 'affine 4-bit g64', count: 1 }, { format: 'affine 6-bit g64', count: 1 }]));
  // 8-bit [96, 64]: U32 [96, 16] + bf16 scales/biases [96, 1]; [64, 64]: U32 [64, 16] + 2 x [64, 1] bf16.
  expect(by['GDN linears (linear_attn in_proj_*, out_proj)'].bytes).toBe(96 * 16 * 4 + 2 * 96 * 2 + 64 * 16 * 4 + 2 * 64 * 2);
  expect(by['GDN A_log, dt_bias']).toMatchObject({ formats: [{ format: 'f32', count: 1 }], bytes: 8 });
  expect(by['MTP fc'].formats).toEqual([{ format: 'bf16', count: 1 }]);
  expect(formatOf(t('x', 'mlp', [32, 32], { action: 'quantize', mode: 'mxfp4', bits: 4, groupSize: 32 }))).toBe('mxfp4 4-bit g32');
});

test('front matter: mlx library, base model, license, pipeline tag and tags', () => {
  const fm = frontMatter(renderModelCard(input()));
  expect(fm).toEqual({
    library_name: 'mlx',
    base_model: 'Qwen/Qwen3.6-27B',
    base_model_relation: 'quantized',
    license: 'apache-2.0',
    pipeline_tag: 'text-generation',
    tags: ['mlx', 'mtp', 'speculative-decoding', 'qwen3_5', 'mtpkit'],
  });
  const noLicense = frontMatter(renderModelCard(input({ license: undefined, baseModel: 'my model: v2', baseModelIsRepo: false })));
  expect(noLicense.license).toBeUndefined();
  expect(noLicense.base_model).toBe('"my model: v2"'); // quoted YAML scalar
  expect(noLicense.base_model_relation).toBeUndefined();
});

test('body: contents table, policy rules, bits per weight, MTP layout, files, provenance', () => {
  const card = renderModelCard(input());
  expect(card).toContain('| GDN linears (linear_attn in_proj_*, out_proj) | 2 | affine 8-bit g64 | gdn8 |');
  expect(card).toMatch(/\| MLP gate\/up\/down \| 2 \| affine (4|6)-bit g64 \(1\), affine (4|6)-bit g64 \(1\) \| speed4 \|/);
  expect(card).toContain('- `gdn8: role gdn -> affine 8/64`');
  expect(card).toContain('| trunk | 5.012 |');
  expect(card).toContain('| MTP head | 6.250 |');
  expect(card).toContain('29 tensors, format `prequantized-mlx-affine`');
  expect(card).toContain('sidecar `mtp.safetensors`');
  expect(card).toContain(`| model.safetensors | 2048 (2.00 KiB) | \`${'a'.repeat(64)}\` |`);
  expect(card).toContain(`Qwen/Qwen3.6-27B at commit \`${'f'.repeat(40)}\``);
  expect(card).toContain('mtpkit 0.1.0');
});

test('verification is honest while pending; a recorded status is shown as is', () => {
  const card = renderModelCard(input());
  expect(card).toContain('Not verified.');
  expect(card).toContain('exactness_baseline.status: pending_smoke_test');
  expect(card).not.toMatch(/\bverified on\b|exactness gate passed/i);
  const done = renderModelCard(input({ verification: { status: 'passed', detail: 'mtp1 greedy gate: 16/16 tokens identical' } }));
  expect(done).toContain('Status: `passed`.');
  expect(done).toContain('16/16 tokens identical');
  expect(done).not.toContain('Not verified.');
});

test('usage: MTPLX and mlx-lm commands; native MTP note depends on the layout', () => {
  const side = renderModelCard(input({ modelRef: 'me/Qwen3.6-27B-mtp-mlx' }));
  expect(side).toContain('mtplx serve --model me/Qwen3.6-27B-mtp-mlx');
  expect(side).toContain('mlx_lm.generate --model me/Qwen3.6-27B-mtp-mlx --prompt "Hello"');
  expect(side).toContain('reads the head only from inline');
  expect(side).not.toContain('--mtp ');
  const inline = renderModelCard(input({ mtp: { layers: 1, tensors: 15, layout: 'inline', format: 'bf16' } }));
  expect(inline).toContain('--mtp --prompt');
  expect(inline).toContain('PR #990');
  expect(inline).toContain('PR #1623');
  expect(inline).toContain('Layout: inline');
  const none = renderModelCard(input({ mtp: { layers: 0, tensors: 0, layout: 'none' } }));
  expect(none).toContain('No MTP head is stored');
});
