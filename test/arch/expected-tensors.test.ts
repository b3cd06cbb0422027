/**
 * The profiles' expected tensor set (src/arch/expected-tensors.ts) against test/support/expected-mlx.ts, an
 * independent reading of the config, and against what sanitize plans from every committed fixture.
 */
import * as path from 'path';
import { Checkpoint } from '../../src/safetensors/checkpoint';
import { parseModelDims } from '../../src/arch/parse-model-dims';
import { expectedTensors, hfName } from '../../src/arch/expected-tensors';
import { planSanitize } from '../../src/sanitize/plan-sanitize';
import { describeTensor } from '../../src/arch/tensor-facts';
import { expectedMlxTensors } from '../support/expected-mlx';

const FIX = path.join(__dirname, '..', '..', 'fixtures');
const VARIANTS = ['qwen35-dense', 'qwen35-dense-tied', 'qwen35-moe', 'qwen36-moe', 'qwen3-next'];

test.each(VARIANTS)('%s: names and shapes equal the independent reference and the planned output', async (variant) => {
  const ck = await Checkpoint.open(path.join(FIX, variant));
  try {
    const config = (await ck.readJson<Record<string, unknown>>('config.json'))!;
    const dims = parseModelDims(config);
    // Qwen3-Next configs carry no mtp_num_hidden_layers; its checkpoints have one MTP layer.
    const mtpLayers = variant === 'qwen3-next' ? 1 : dims.mtpLayers;
    const ours = [...expectedTensors(dims, { mtpLayers }).values()].map((e) => ({ name: e.name, shape: e.shape }));
    const sortByName = (xs: { name: string; shape: number[] }[]) => [...xs].sort((a, b) => (a.name < b.name ? -1 : 1));
    expect(sortByName(ours)).toEqual(sortByName(expectedMlxTensors(config)));

    const planned = planSanitize(ck.tensors, dims.text, { vision: 'drop', mtp: 'keep', sourceLabel: variant }).tensors;
    expect(sortByName(planned.map((t) => ({ name: t.name, shape: t.shape })))).toEqual(sortByName(ours));

    // Every non-expert expected tensor is stored in the HF checkpoint under its hfName.
    for (const e of expectedTensors(dims, { mtpLayers }).values()) {
      if (e.module.kind === 'linear' && e.module.experts > 0) continue;
      expect(ck.tensors.has(hfName(e.canonical, dims.arch))).toBe(true);
    }
  } finally {
    await ck.close();
  }
});

test('sidecar naming puts the head under mtp.* and leaves the trunk alone', () => {
  const dims = parseModelDims(require(path.join(FIX, 'qwen35-dense', 'config.json')));
  const names = [...expectedTensors(dims, { mtp: 'sidecar' }).keys()];
  expect(names.filter((n) => n.startsWith('mtp.'))).toHaveLength(15);
  expect(names.filter((n) => n.includes('language_model.mtp.'))).toEqual([]);
  expect(names).toContain('language_model.model.layers.3.self_attn.q_proj.weight');
});

test.each(['qwen36-moe', 'qwen3-next'])('%s: the profile\'s routers are exactly the router and shared-expert gate linears', (variant) => {
  const config = require(path.join(FIX, variant, 'config.json'));
  const dims = parseModelDims(config);
  const routers = [...expectedTensors(dims, { mtpLayers: 1 }).values()].filter((e) => {
    const f = describeTensor(e.name, dims.text);
    return f.role === 'router' || f.subRole === 'router';
  });
  const independent = [...expectedTensors(dims, { mtpLayers: 1 }).keys()].filter((n) => /\.mlp\.(gate|shared_expert_gate)\.weight$/.test(n));
  expect(routers.map((e) => e.name).sort()).toEqual(independent.sort());
  // 4 decoder layers + 1 MTP layer, two routers each.
  expect(independent).toHaveLength(10);
  for (const e of routers) expect(e.shape).toEqual([e.name.endsWith('shared_expert_gate.weight') ? 1 : dims.nExperts, dims.hidden]);
});
