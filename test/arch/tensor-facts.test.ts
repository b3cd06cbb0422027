import { describeTensor, quantizableReason } from '../../src/arch/tensor-facts';
import type { TextConfig } from '../../src/arch/text-config';
import { InputError } from '../../src/errors';

/** Qwen3.6-27B shape (qwen35-architecture.md §3): 64 layers, full attention every 4th. */
const dense27b: TextConfig = {
  architecture: 'qwen3_5', nested: true, hiddenSize: 5120, numLayers: 64, vocabSize: 248320,
  layerTypes: Array.from({ length: 64 }, (_, i) => ((i + 1) % 4 === 0 ? 'full_attention' : 'linear_attention')),
  numAttentionHeads: 24, numKeyValueHeads: 4, headDim: 256, linearNumKeyHeads: 16, linearNumValueHeads: 48,
  linearKeyHeadDim: 128, linearValueHeadDim: 128, convKernel: 4, intermediateSize: 17408,
  tieWordEmbeddings: false, mtpNumHiddenLayers: 1, rmsNormEps: 1e-6,
};
const next80b: TextConfig = {
  ...dense27b, architecture: 'qwen3_next', nested: false, hiddenSize: 2048, numLayers: 48,
  layerTypes: Array.from({ length: 48 }, (_, i) => ((i + 1) % 4 === 0 ? 'full_attention' : 'linear_attention')),
  numExperts: 512, numExpertsPerTok: 10, moeIntermediateSize: 512, sharedExpertIntermediateSize: 512,
  intermediateSize: undefined, mtpNumHiddenLayers: 0,
};

const P = 'language_model.';

describe('describeTensor on final MLX names (sanitize-rules.md §12)', () => {
  // [name, role, param, layer, layerType, mtp, mtpLayer, subRole]
  const cases: Array<[string, string, string, number | undefined, string | undefined, boolean, number | undefined, string | undefined]> = [
    [`${P}model.embed_tokens.weight`, 'embedding', 'weight', undefined, undefined, false, undefined, undefined],
    [`${P}model.norm.weight`, 'norm', 'weight', undefined, undefined, false, undefined, undefined],
    [`${P}lm_head.weight`, 'lm_head', 'weight', undefined, undefined, false, undefined, undefined],
    [`${P}model.layers.0.linear_attn.in_proj_qkv.weight`, 'gdn', 'weight', 0, 'linear', false, undefined, undefined],
    [`${P}model.layers.0.linear_attn.in_proj_z.weight`, 'gdn', 'weight', 0, 'linear', false, undefined, undefined],
    [`${P}model.layers.1.linear_attn.in_proj_b.weight`, 'gdn', 'weight', 1, 'linear', false, undefined, undefined],
    [`${P}model.layers.2.linear_attn.in_proj_a.weight`, 'gdn', 'weight', 2, 'linear', false, undefined, undefined],
    [`${P}model.layers.4.linear_attn.out_proj.weight`, 'gdn', 'weight', 4, 'linear', false, undefined, undefined],
    [`${P}model.layers.4.linear_attn.conv1d.weight`, 'conv', 'weight', 4, 'linear', false, undefined, undefined],
    [`${P}model.layers.4.linear_attn.A_log`, 'gdn_param', 'A_log', 4, 'linear', false, undefined, undefined],
    [`${P}model.layers.4.linear_attn.dt_bias`, 'gdn_param', 'dt_bias', 4, 'linear', false, undefined, undefined],
    [`${P}model.layers.4.linear_attn.norm.weight`, 'norm', 'weight', 4, 'linear', false, undefined, undefined],
    [`${P}model.layers.3.self_attn.q_proj.weight`, 'attention', 'weight', 3, 'full', false, undefined, undefined],
    [`${P}model.layers.63.self_attn.o_proj.weight`, 'attention', 'weight', 63, 'full', false, undefined, undefined],
    [`${P}model.layers.3.self_attn.q_norm.weight`, 'norm', 'weight', 3, 'full', false, undefined, undefined],
    [`${P}model.layers.3.input_layernorm.weight`, 'norm', 'weight', 3, 'full', false, undefined, undefined],
    [`${P}model.layers.5.post_attention_layernorm.weight`, 'norm', 'weight', 5, 'linear', false, undefined, undefined],
    [`${P}model.layers.5.mlp.down_proj.weight`, 'mlp', 'weight', 5, 'linear', false, undefined, undefined],
    [`${P}model.layers.5.mlp.gate.weight`, 'router', 'weight', 5, 'linear', false, undefined, undefined],
    [`${P}model.layers.5.mlp.shared_expert_gate.weight`, 'router', 'weight', 5, 'linear', false, undefined, undefined],
    [`${P}model.layers.5.mlp.switch_mlp.gate_proj.weight`, 'experts', 'weight', 5, 'linear', false, undefined, undefined],
    [`${P}model.layers.5.mlp.shared_expert.up_proj.weight`, 'shared_expert', 'weight', 5, 'linear', false, undefined, undefined],
    [`${P}mtp.fc.weight`, 'mtp.fc', 'weight', undefined, undefined, true, undefined, undefined],
    [`${P}mtp.pre_fc_norm_hidden.weight`, 'norm', 'weight', undefined, undefined, true, undefined, undefined],
    [`${P}mtp.pre_fc_norm_embedding.weight`, 'norm', 'weight', undefined, undefined, true, undefined, undefined],
    [`${P}mtp.norm.weight`, 'norm', 'weight', undefined, undefined, true, undefined, undefined],
    [`${P}mtp.layers.0.self_attn.q_proj.weight`, 'mtp', 'weight', undefined, undefined, true, 0, 'attention'],
    [`${P}mtp.layers.0.self_attn.k_norm.weight`, 'norm', 'weight', undefined, undefined, true, 0, undefined],
    [`${P}mtp.layers.0.input_layernorm.weight`, 'norm', 'weight', undefined, undefined, true, 0, undefined],
    [`${P}mtp.layers.0.mlp.up_proj.weight`, 'mtp', 'weight', undefined, undefined, true, 0, 'mlp'],
    [`${P}mtp.layers.0.mlp.switch_mlp.down_proj.weight`, 'mtp', 'weight', undefined, undefined, true, 0, 'experts'],
    [`${P}mtp.layers.0.mlp.shared_expert.gate_proj.weight`, 'mtp', 'weight', undefined, undefined, true, 0, 'shared_expert'],
    [`${P}mtp.layers.0.mlp.gate.weight`, 'mtp', 'weight', undefined, undefined, true, 0, 'router'],
    [`${P}mtp.layers.0.mlp.shared_expert_gate.weight`, 'mtp', 'weight', undefined, undefined, true, 0, 'router'],
    // sidecar form (no prefix)
    ['mtp.layers.0.self_attn.v_proj.weight', 'mtp', 'weight', undefined, undefined, true, 0, 'attention'],
    ['vision_tower.blocks.0.attn.qkv.weight', 'vision', 'weight', undefined, undefined, false, undefined, undefined],
    [`${P}model.layers.5.mlp.down_proj.scales`, 'mlp', 'scales', 5, 'linear', false, undefined, undefined],
  ];
  it.each(cases)('%s', (name, role, param, layer, layerType, mtp, mtpLayer, subRole) => {
    const f = describeTensor(name, dense27b);
    expect(f.role).toBe(role);
    expect(f.param).toBe(param);
    expect(f.module).toBe(name.slice(0, name.lastIndexOf('.')));
    expect(f.layer).toBe(layer);
    expect(f.layerType).toBe(layerType);
    expect(f.mtp).toBe(mtp);
    expect(f.mtpLayer).toBe(mtpLayer);
    expect(f.subRole).toBe(subRole);
  });

  it('reads Qwen3-Next unprefixed names, including the fused GDN projections', () => {
    expect(describeTensor('model.layers.0.linear_attn.in_proj_qkvz.weight', next80b)).toMatchObject({ role: 'gdn', layer: 0, layerType: 'linear' });
    expect(describeTensor('model.layers.0.linear_attn.in_proj_ba.weight', next80b)).toMatchObject({ role: 'gdn' });
    expect(describeTensor('model.layers.47.self_attn.v_proj.weight', next80b)).toMatchObject({ role: 'attention', layerType: 'full' });
    expect(describeTensor('lm_head.weight', next80b).role).toBe('lm_head');
    expect(describeTensor('model.embed_tokens.weight', next80b).role).toBe('embedding');
    expect(describeTensor('model.layers.2.mlp.switch_mlp.up_proj.weight', next80b).role).toBe('experts');
  });

  it('takes layer types from the config', () => {
    const fulls = dense27b.layerTypes.map((_, i) => describeTensor(`${P}model.layers.${i}.input_layernorm.weight`, dense27b))
      .filter((f) => f.layerType === 'full').map((f) => f.layer);
    expect(fulls).toEqual(Array.from({ length: 16 }, (_, k) => 4 * k + 3));
  });

  it('rejects a layer index beyond the config, naming the tensor', () => {
    const name = `${P}model.layers.64.mlp.down_proj.weight`;
    expect(() => describeTensor(name, dense27b)).toThrow(InputError);
    expect(() => describeTensor(name, dense27b)).toThrow(/layers\.64.*64 layers/);
  });

  it('names unknown tensors "other"', () => {
    expect(describeTensor(`${P}model.layers.0.something.weight`, dense27b).role).toBe('other');
    expect(describeTensor('weird', dense27b)).toMatchObject({ role: 'other', param: 'weird', module: '' });
  });

  it('knows what can be quantized', () => {
    const f = (n: string) => describeTensor(n, dense27b);
    expect(quantizableReason(f(`${P}model.layers.0.linear_attn.in_proj_qkv.weight`), [10240, 5120])).toBeUndefined();
    expect(quantizableReason(f(`${P}mtp.fc.weight`), [5120, 10240])).toBeUndefined();
    expect(quantizableReason(f(`${P}model.layers.0.linear_attn.conv1d.weight`), [10240, 4, 1])).toMatch(/conv/);
    expect(quantizableReason(f(`${P}model.layers.0.linear_attn.A_log`), [48])).toMatch(/gdn_param/);
    expect(quantizableReason(f(`${P}model.norm.weight`), [5120])).toMatch(/norm/);
    expect(quantizableReason(f(`${P}model.layers.5.mlp.down_proj.scales`), [5120, 272])).toMatch(/scales/);
    expect(quantizableReason(f(`${P}model.layers.5.mlp.down_proj.weight`), [5120])).toMatch(/1-D/);
  });
});
