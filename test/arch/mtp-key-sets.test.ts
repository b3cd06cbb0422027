import {
  expectedInlineMtpKeys,
  expectedMtpKeys,
  expectedMtpKeysByMode,
  mtpBodyLinears,
  mtplxMtpPolicy,
  toInlineMtpName,
  toSidecarMtpName,
} from '../../src/arch/mtp-key-sets';

// MTPLX constants.py EXPECTED_MTP_KEYS (mtp-runtime-contract.md §9.1), written out independently.
const DENSE_15 = [
  'mtp.fc.weight',
  'mtp.layers.0.input_layernorm.weight',
  'mtp.layers.0.mlp.down_proj.weight',
  'mtp.layers.0.mlp.gate_proj.weight',
  'mtp.layers.0.mlp.up_proj.weight',
  'mtp.layers.0.post_attention_layernorm.weight',
  'mtp.layers.0.self_attn.k_norm.weight',
  'mtp.layers.0.self_attn.k_proj.weight',
  'mtp.layers.0.self_attn.o_proj.weight',
  'mtp.layers.0.self_attn.q_norm.weight',
  'mtp.layers.0.self_attn.q_proj.weight',
  'mtp.layers.0.self_attn.v_proj.weight',
  'mtp.norm.weight',
  'mtp.pre_fc_norm_embedding.weight',
  'mtp.pre_fc_norm_hidden.weight',
];
// MTPLX EXPECTED_QWEN_MOE_SWITCH_MLP_MTP_KEYS.
const MOE_SWITCH_20 = [
  'mtp.fc.weight',
  'mtp.layers.0.input_layernorm.weight',
  'mtp.layers.0.mlp.gate.weight',
  'mtp.layers.0.mlp.shared_expert.down_proj.weight',
  'mtp.layers.0.mlp.shared_expert.gate_proj.weight',
  'mtp.layers.0.mlp.shared_expert.up_proj.weight',
  'mtp.layers.0.mlp.shared_expert_gate.weight',
  'mtp.layers.0.mlp.switch_mlp.down_proj.weight',
  'mtp.layers.0.mlp.switch_mlp.gate_proj.weight',
  'mtp.layers.0.mlp.switch_mlp.up_proj.weight',
  'mtp.layers.0.post_attention_layernorm.weight',
  'mtp.layers.0.self_attn.k_norm.weight',
  'mtp.layers.0.self_attn.k_proj.weight',
  'mtp.layers.0.self_attn.o_proj.weight',
  'mtp.layers.0.self_attn.q_norm.weight',
  'mtp.layers.0.self_attn.q_proj.weight',
  'mtp.layers.0.self_attn.v_proj.weight',
  'mtp.norm.weight',
  'mtp.pre_fc_norm_embedding.weight',
  'mtp.pre_fc_norm_hidden.weight',
];
const BODY_7 = ['mlp.down_proj', 'mlp.gate_proj', 'mlp.up_proj', 'self_attn.k_proj', 'self_attn.o_proj', 'self_attn.q_proj', 'self_attn.v_proj'].map((m) => `mtp.layers.0.${m}`);

const dense = { mtpNumHiddenLayers: 1 };
const moe = { mtpNumHiddenLayers: 1, numExperts: 256, sharedExpertIntermediateSize: 512 };

test('dense head: the 15 base keys; body-int4 29; all (with mtp.fc) 31', () => {
  expect(expectedMtpKeys(dense)).toEqual([...DENSE_15].sort());
  const body = expectedMtpKeys(dense, new Set(BODY_7), 'affine');
  expect(body).toHaveLength(29);
  expect(body).toEqual([...DENSE_15, ...BODY_7.flatMap((m) => [`${m}.scales`, `${m}.biases`])].sort());
  expect(expectedMtpKeys(dense, new Set([...BODY_7, 'mtp.fc']))).toHaveLength(31);
});

test('fp modes have scales but no biases; modes can differ per module', () => {
  expect(expectedMtpKeys(dense, BODY_7, 'mxfp4')).toHaveLength(15 + 7);
  const mixed = expectedMtpKeysByMode(dense, new Map([['mtp.fc', 'affine'], ['mtp.layers.0.mlp.up_proj', 'nvfp4']]));
  expect(mixed).toEqual(expect.arrayContaining(['mtp.fc.biases', 'mtp.fc.scales', 'mtp.layers.0.mlp.up_proj.scales']));
  expect(mixed).not.toContain('mtp.layers.0.mlp.up_proj.biases');
  expect(mixed).toHaveLength(18);
});

test('MoE head uses the stacked switch_mlp layout (20 keys); shared expert optional', () => {
  expect(expectedMtpKeys(moe)).toEqual([...MOE_SWITCH_20].sort());
  const noShared = expectedMtpKeys({ ...moe, sharedExpertIntermediateSize: 0 });
  expect(noShared).toHaveLength(16);
  expect(noShared.some((k) => k.includes('shared_expert'))).toBe(false);
});

test('any number of MTP layers: the per-layer template repeats', () => {
  const two = expectedMtpKeys({ mtpNumHiddenLayers: 2 });
  expect(two).toHaveLength(4 + 2 * 11);
  for (const k of DENSE_15.filter((x) => x.includes('layers.0.'))) expect(two).toContain(k.replace('layers.0.', 'layers.1.'));
  expect(expectedMtpKeys({ mtpNumHiddenLayers: 0 })).toEqual([]);
});

test('inline names: language_model. prefix for Qwen3.5/3.6, unchanged for Qwen3-Next', () => {
  expect(expectedInlineMtpKeys(dense, 'qwen3_5')).toEqual([...DENSE_15].sort().map((k) => `language_model.${k}`));
  expect(expectedInlineMtpKeys(moe, 'qwen3_next')).toEqual([...MOE_SWITCH_20].sort());
  expect(toInlineMtpName('language_model.mtp.fc.weight', 'qwen3_5_moe')).toBe('language_model.mtp.fc.weight');
  expect(toSidecarMtpName('language_model.mtp.norm.weight')).toBe('mtp.norm.weight');
  // Quantized modules may be given in inline naming.
  expect(expectedMtpKeys(dense, BODY_7.map((m) => `language_model.${m}`))).toHaveLength(29);
});

test('a quantized module that is not a linear of the head is an error naming it', () => {
  expect(() => expectedMtpKeys(dense, ['mtp.norm'])).toThrow(/'mtp.norm' is not a linear module/);
  expect(() => expectedMtpKeys(dense, ['mtp.layers.0.mlp.switch_mlp.up_proj'])).toThrow(/switch_mlp/);
});

test("MTPLX policy names: cyankiwi = the 7 body linears, all = plus mtp.fc, else null", () => {
  expect(mtpBodyLinears(dense).sort()).toEqual([...BODY_7].sort());
  expect(mtplxMtpPolicy(dense, BODY_7)).toBe('cyankiwi');
  expect(mtplxMtpPolicy(dense, [...BODY_7, 'mtp.fc'])).toBe('all');
  expect(mtplxMtpPolicy(dense, BODY_7.slice(1))).toBeNull();
  expect(mtplxMtpPolicy(moe, mtpBodyLinears(moe))).toBeNull();
});
