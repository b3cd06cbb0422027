/**
 * Built-in policies evaluated on the full MLX tensor lists of a 27B-shaped dense model, a 35B-A3B-shaped
 * MoE and Qwen3-Next-80B (names from sanitize-rules.md §12, shapes from qwen35-architecture.md §4).
 */
import type { QuantDecision } from '../../src/plan/types';
import { describeTensor } from '../../src/arch/tensor-facts';
import type { TextConfig } from '../../src/arch/text-config';
import type { DType } from '../../src/safetensors/types';
import { buildQuantizationConfig, decide, moduleQuantFromConfig, resolvePolicy, ResolvedPolicy } from '../../src/quant/policy';

const layerTypes = (n: number): TextConfig['layerTypes'] =>
  Array.from({ length: n }, (_, i) => ((i + 1) % 4 === 0 ? 'full_attention' : 'linear_attention'));

const dense27b: TextConfig = {
  architecture: 'qwen3_5', nested: true, hiddenSize: 5120, numLayers: 64, vocabSize: 248320, layerTypes: layerTypes(64),
  numAttentionHeads: 24, numKeyValueHeads: 4, headDim: 256, linearNumKeyHeads: 16, linearNumValueHeads: 48,
  linearKeyHeadDim: 128, linearValueHeadDim: 128, convKernel: 4, intermediateSize: 17408,
  tieWordEmbeddings: false, mtpNumHiddenLayers: 1, rmsNormEps: 1e-6,
};
const moe35b: TextConfig = {
  ...dense27b, architecture: 'qwen3_5_moe', hiddenSize: 2048, numLayers: 40, layerTypes: layerTypes(40),
  numAttentionHeads: 16, numKeyValueHeads: 2, linearNumValueHeads: 32, intermediateSize: undefined,
  numExperts: 256, numExpertsPerTok: 8, moeIntermediateSize: 512, sharedExpertIntermediateSize: 512,
};
const next80b: TextConfig = {
  ...moe35b, architecture: 'qwen3_next', nested: false, numLayers: 48, layerTypes: layerTypes(48), numExperts: 512,
  vocabSize: 151936, mtpNumHiddenLayers: 0,
};

interface T { name: string; shape: number[]; dtype: DType }

/** Every output tensor of the model, written out from the reference tables (independent of describeTensor). */
function mlxTensors(cfg: TextConfig, opts: { qwen35Dtypes?: boolean } = {}): T[] {
  const next = cfg.architecture === 'qwen3_next';
  const pre = next ? '' : 'language_model.';
  const H = cfg.hiddenSize;
  const kd = cfg.linearNumKeyHeads * cfg.linearKeyHeadDim;
  const vd = cfg.linearNumValueHeads * cfg.linearValueHeadDim;
  const nv = cfg.linearNumValueHeads;
  const hd = cfg.headDim;
  const out: T[] = [];
  const add = (name: string, shape: number[], dtype: DType = 'BF16') => out.push({ name, shape, dtype });
  const f32 = opts.qwen35Dtypes ? 'F32' : 'BF16';
  const attention = (p: string) => {
    add(`${p}self_attn.q_proj.weight`, [2 * cfg.numAttentionHeads * hd, H]);
    add(`${p}self_attn.k_proj.weight`, [cfg.numKeyValueHeads * hd, H]);
    add(`${p}self_attn.v_proj.weight`, [cfg.numKeyValueHeads * hd, H]);
    add(`${p}self_attn.o_proj.weight`, [H, cfg.numAttentionHeads * hd]);
    add(`${p}self_attn.q_norm.weight`, [hd]);
    add(`${p}self_attn.k_norm.weight`, [hd]);
  };
  const mlp = (p: string) => {
    add(`${p}input_layernorm.weight`, [H]);
    add(`${p}post_attention_layernorm.weight`, [H]);
    if (cfg.numExperts) {
      const E = cfg.numExperts, Im = cfg.moeIntermediateSize!, Is = cfg.sharedExpertIntermediateSize!;
      add(`${p}mlp.gate.weight`, [E, H]);
      add(`${p}mlp.switch_mlp.gate_proj.weight`, [E, Im, H]);
      add(`${p}mlp.switch_mlp.up_proj.weight`, [E, Im, H]);
      add(`${p}mlp.switch_mlp.down_proj.weight`, [E, H, Im]);
      add(`${p}mlp.shared_expert.gate_proj.weight`, [Is, H]);
      add(`${p}mlp.shared_expert.up_proj.weight`, [Is, H]);
      add(`${p}mlp.shared_expert.down_proj.weight`, [H, Is]);
      add(`${p}mlp.shared_expert_gate.weight`, [1, H]);
    } else {
      const I = cfg.intermediateSize!;
      add(`${p}mlp.gate_proj.weight`, [I, H]);
      add(`${p}mlp.up_proj.weight`, [I, H]);
      add(`${p}mlp.down_proj.weight`, [H, I]);
    }
  };
  add(`${pre}model.embed_tokens.weight`, [cfg.vocabSize, H]);
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `${pre}model.layers.${i}.`;
    if (cfg.layerTypes[i] === 'linear_attention') {
      if (next) {
        add(`${p}linear_attn.in_proj_qkvz.weight`, [2 * kd + 2 * vd, H]);
        add(`${p}linear_attn.in_proj_ba.weight`, [2 * nv, H]);
      } else {
        add(`${p}linear_attn.in_proj_qkv.weight`, [2 * kd + vd, H]);
        add(`${p}linear_attn.in_proj_z.weight`, [vd, H]);
        add(`${p}linear_attn.in_proj_b.weight`, [nv, H]);
        add(`${p}linear_attn.in_proj_a.weight`, [nv, H]);
      }
      add(`${p}linear_attn.conv1d.weight`, [2 * kd + vd, cfg.convKernel, 1]);
      add(`${p}linear_attn.dt_bias`, [nv]);
      add(`${p}linear_attn.A_log`, [nv], f32);
      add(`${p}linear_attn.norm.weight`, [cfg.linearValueHeadDim], f32);
      add(`${p}linear_attn.out_proj.weight`, [H, vd]);
    } else {
      attention(p);
    }
    mlp(p);
  }
  add(`${pre}model.norm.weight`, [H]);
  if (!cfg.tieWordEmbeddings) add(`${pre}lm_head.weight`, [cfg.vocabSize, H]);
  if (!next && cfg.mtpNumHiddenLayers > 0) {
    add(`${pre}mtp.fc.weight`, [H, 2 * H]);
    add(`${pre}mtp.pre_fc_norm_hidden.weight`, [H]);
    add(`${pre}mtp.pre_fc_norm_embedding.weight`, [H]);
    add(`${pre}mtp.norm.weight`, [H]);
    attention(`${pre}mtp.layers.0.`);
    mlp(`${pre}mtp.layers.0.`);
  }
  return out;
}

interface D { t: T; d: QuantDecision; rule: string; reported?: string }

function run(policy: ResolvedPolicy, cfg: TextConfig, tensors = mlxTensors(cfg)): Map<string, D> {
  const m = new Map<string, D>();
  for (const t of tensors) {
    const r = decide(policy, describeTensor(t.name, cfg), t.shape, t.dtype, cfg);
    m.set(t.name, { t, d: r.decision, rule: r.rule, reported: r.reported });
  }
  return m;
}

const q = (bits: number, groupSize = 64, mode = 'affine'): QuantDecision => ({ action: 'quantize', mode: mode as never, bits, groupSize });
const keep = (dtype: string): QuantDecision => ({ action: 'keep', dtype: dtype as never });

/** Decisions of all tensors whose name matches `re`; asserts there is at least one. */
function pick(m: Map<string, D>, re: RegExp): D[] {
  const hits = [...m.entries()].filter(([n]) => re.test(n)).map(([, d]) => d);
  expect(hits.length).toBeGreaterThan(0);
  return hits;
}

function expectAll(m: Map<string, D>, re: RegExp, want: QuantDecision): void {
  for (const d of pick(m, re)) expect({ name: d.t.name, d: d.d }).toEqual({ name: d.t.name, d: want });
}

/** Output tensor count: a quantized weight adds `.scales`, and `.biases` in affine mode. */
function outputCount(ds: D[]): number {
  return ds.reduce((n, { d }) => n + (d.action === 'drop' ? 0 : d.action === 'quantize' ? (d.mode === 'affine' ? 3 : 2) : 1), 0);
}

describe('gdn8-speed4', () => {
  const policy = resolvePolicy('gdn8-speed4');

  it('27B: GDN 8-bit, MLP/attention/embedding/lm_head 4-bit, norms/conv/A_log/dt_bias kept', () => {
    const m = run(policy, dense27b);
    expectAll(m, /model\.layers\.\d+\.linear_attn\.(in_proj_\w+|out_proj)\.weight$/, q(8));
    expectAll(m, /model\.layers\.\d+\.mlp\.(gate|up|down)_proj\.weight$/, q(4));
    expectAll(m, /model\.layers\.\d+\.self_attn\.[qkvo]_proj\.weight$/, q(4));
    expectAll(m, /model\.embed_tokens\.weight$/, q(4));
    expectAll(m, /^language_model\.lm_head\.weight$/, q(4));
    expectAll(m, /model\.layers\.\d+\..*norm\.weight$/, keep('source'));
    expectAll(m, /^language_model\.model\.norm\.weight$/, keep('source'));
    expectAll(m, /conv1d\.weight$/, keep('source'));
    expectAll(m, /linear_attn\.(A_log|dt_bias)$/, keep('source'));
    expect(m.get('language_model.model.layers.0.linear_attn.in_proj_qkv.weight')!.rule).toBe(
      'gdn8-speed4 rules[0] (role gdn -> affine 8/64)',
    );
    // 48 linear layers x 5 GDN linears are 8-bit; nothing else is
    expect([...m.values()].filter((d) => d.d.action === 'quantize' && d.d.bits === 8)).toHaveLength(48 * 5);
  });

  it('27B MTP head follows body-int4: 7 linears 4-bit, fc and norms bf16, 29 output tensors', () => {
    const m = run(policy, dense27b);
    const head = pick(m, /^language_model\.mtp\./);
    expect(head).toHaveLength(15);
    expect(outputCount(head)).toBe(29);
    expectAll(m, /^language_model\.mtp\.layers\.0\.(self_attn\.[qkvo]_proj|mlp\.(gate|up|down)_proj)\.weight$/, q(4));
    expectAll(m, /^language_model\.mtp\.fc\.weight$/, keep('bf16'));
    expectAll(m, /^language_model\.mtp\..*norm\w*\.weight$/, keep('bf16'));
  });

  it('MoE: routers 8-bit, experts and shared expert 4-bit; MTP router and shared_expert_gate kept bf16', () => {
    const m = run(policy, moe35b);
    expectAll(m, /model\.layers\.\d+\.mlp\.(gate|shared_expert_gate)\.weight$/, q(8));
    expectAll(m, /model\.layers\.\d+\.mlp\.switch_mlp\.\w+\.weight$/, q(4));
    expectAll(m, /model\.layers\.\d+\.mlp\.shared_expert\.\w+\.weight$/, q(4));
    expectAll(m, /mtp\.layers\.0\.mlp\.(switch_mlp|shared_expert)\.\w+\.weight$/, q(4));
    expectAll(m, /mtp\.layers\.0\.self_attn\.[qkvo]_proj\.weight$/, q(4));
    expectAll(m, /mtp\.layers\.0\.mlp\.(gate|shared_expert_gate)\.weight$/, keep('bf16'));
  });

  it('Qwen3-Next: fused in_proj_qkvz / in_proj_ba are GDN 8-bit', () => {
    const m = run(policy, next80b);
    expectAll(m, /^model\.layers\.\d+\.linear_attn\.(in_proj_qkvz|in_proj_ba|out_proj)\.weight$/, q(8));
    expectAll(m, /^model\.layers\.\d+\.mlp\.gate\.weight$/, q(8));
    expectAll(m, /^model\.layers\.\d+\.self_attn\.[qkvo]_proj\.weight$/, q(4));
    expectAll(m, /^lm_head\.weight$/, q(4));
  });

  it('keeps a vision tower in bf16', () => {
    const vision: T = { name: 'vision_tower.blocks.0.attn.qkv.weight', shape: [3456, 1152], dtype: 'F32' };
    expect(run(policy, dense27b, [vision]).get(vision.name)!.d).toEqual(keep('bf16'));
  });

  it('--bits/--group-size change the body but not the 8-bit GDN or the int4 head', () => {
    const m = run(resolvePolicy('gdn8-speed4', { bits: 5, groupSize: 32 }), dense27b);
    expectAll(m, /model\.layers\.\d+\.mlp\.down_proj\.weight$/, q(5, 32));
    expectAll(m, /model\.layers\.\d+\.linear_attn\.in_proj_z\.weight$/, q(8));
    expectAll(m, /mtp\.layers\.0\.mlp\.down_proj\.weight$/, q(4));
  });
});

describe('body-int4 on its own', () => {
  it('touches only the head; the trunk keeps its source dtype', () => {
    const m = run(resolvePolicy('body-int4'), dense27b);
    const trunk = [...m.values()].filter((d) => !d.t.name.includes('.mtp.'));
    for (const d of trunk) expect(d.d).toEqual(keep('source'));
    expect(outputCount(pick(m, /\.mtp\./))).toBe(29);
  });
});

describe('uniform', () => {
  it('quantizes every linear at the globals, mtp.fc included, routers affine 8/64', () => {
    const m = run(resolvePolicy('uniform'), moe35b);
    expectAll(m, /mlp\.(gate|shared_expert_gate)\.weight$/, q(8)); // trunk and MTP routers
    expectAll(m, /linear_attn\.(in_proj_\w+|out_proj)\.weight$/, q(4));
    expectAll(m, /switch_mlp\.\w+\.weight$/, q(4));
    expectAll(m, /mtp\.fc\.weight$/, q(4));
    expectAll(m, /mtp\.layers\.0\.self_attn\.[qkvo]_proj\.weight$/, q(4));
    expectAll(m, /norm\w*\.weight$/, keep('source'));
    expectAll(m, /conv1d\.weight$|A_log$|dt_bias$/, keep('source'));
  });

  it('follows --mode with the mode defaults, routers stay affine 8/64', () => {
    for (const [mode, bits, g] of [['mxfp4', 4, 32], ['nvfp4', 4, 16], ['mxfp8', 8, 32]] as const) {
      const policy = resolvePolicy('uniform', { mode });
      expect(policy.globals).toEqual({ mode, bits, groupSize: g });
      const m = run(policy, moe35b);
      expectAll(m, /model\.layers\.\d+\.mlp\.switch_mlp\.down_proj\.weight$/, q(bits, g, mode));
      expectAll(m, /model\.layers\.\d+\.mlp\.gate\.weight$/, q(8));
    }
  });
});

describe('mixed recipes (mlx-format.md §9.7)', () => {
  // Literally the derived list of the doc for L = 64: 0-7, 10, 13, 16, ..., 55, 56-63.
  const HIGH_64 = [0, 1, 2, 3, 4, 5, 6, 7, 10, 13, 16, 19, 22, 25, 28, 31, 34, 37, 40, 43, 46, 49, 52, 55,
    56, 57, 58, 59, 60, 61, 62, 63];

  it('mixed_4_6 on 64 layers: down_proj / v_proj high exactly in the documented layers', () => {
    const m = run(resolvePolicy('mixed_4_6'), dense27b);
    for (let i = 0; i < 64; i++) {
      const want = HIGH_64.includes(i) ? 6 : 4;
      expect({ i, d: m.get(`language_model.model.layers.${i}.mlp.down_proj.weight`)!.d }).toEqual({ i, d: q(want) });
      const v = m.get(`language_model.model.layers.${i}.self_attn.v_proj.weight`);
      if (v) expect({ i, d: v.d }).toEqual({ i, d: q(want) });
      // everything else in the layer is low
      expect(m.get(`language_model.model.layers.${i}.mlp.up_proj.weight`)!.d).toEqual(q(4));
    }
    expectAll(m, /^language_model\.lm_head\.weight$/, q(6));
    expectAll(m, /embed_tokens\.weight$/, q(4));
    expectAll(m, /self_attn\.[qko]_proj\.weight$/, q(4));
    expectAll(m, /linear_attn\.(in_proj_\w+|out_proj)\.weight$/, q(4));
    // MTP paths read index 0 at position 3 -> use_more_bits(0) is true; mtp.fc is short -> 0, but not v/down
    expectAll(m, /mtp\.layers\.0\.(self_attn\.v_proj|mlp\.down_proj)\.weight$/, q(6));
    expectAll(m, /mtp\.layers\.0\.(self_attn\.[qko]_proj|mlp\.(gate|up)_proj)\.weight$/, q(4));
    expectAll(m, /mtp\.fc\.weight$/, q(4));
    expectAll(m, /norm\w*\.weight$/, keep('source'));
  });

  // use_more_bits written from the doc's formula, Python semantics
  const ref = (idx: number, L: number) => {
    const e = Math.floor(L / 8);
    return idx < e || idx >= Math.floor((7 * L) / 8) || ((((idx - e) % 3) + 3) % 3) === 2;
  };

  it('mixed_2_6 on the MoE (L = 40): experts and shared expert down_proj follow the rule, routers get low bits', () => {
    const m = run(resolvePolicy('mixed_2_6', { groupSize: 32 }), moe35b);
    for (let i = 0; i < 40; i++) {
      const want = ref(i, 40) ? 6 : 2;
      expect({ i, d: m.get(`language_model.model.layers.${i}.mlp.switch_mlp.down_proj.weight`)!.d }).toEqual({ i, d: q(want, 32) });
      expect({ i, d: m.get(`language_model.model.layers.${i}.mlp.shared_expert.down_proj.weight`)!.d }).toEqual({ i, d: q(want, 32) });
      expect(m.get(`language_model.model.layers.${i}.mlp.gate.weight`)!.d).toEqual(q(2, 32));
      expect(m.get(`language_model.model.layers.${i}.mlp.shared_expert_gate.weight`)!.d).toEqual(q(2, 32));
    }
  });

  it('mixed_3_4 on Qwen3-Next reads the layer at position 2 (L = 48)', () => {
    const m = run(resolvePolicy('mixed_3_4'), next80b);
    const high = Array.from({ length: 48 }, (_, i) => i).filter((i) => ref(i, 48));
    expect(high.slice(0, 8)).toEqual([0, 1, 2, 3, 4, 5, 8, 11]);
    for (let i = 0; i < 48; i++) {
      expect({ i, d: m.get(`model.layers.${i}.mlp.switch_mlp.down_proj.weight`)!.d }).toEqual({ i, d: q(high.includes(i) ? 4 : 3) });
    }
    expectAll(m, /^lm_head\.weight$/, q(4));
  });
});

describe('group-size divisibility', () => {
  it('keeps a quantizable tensor whose last dim is not divisible by the group size, and reports it', () => {
    const policy = resolvePolicy('uniform');
    const name = 'language_model.model.layers.0.linear_attn.in_proj_b.weight';
    const r = decide(policy, describeTensor(name, dense27b), [48, 200], 'BF16', dense27b);
    expect(r.decision).toEqual(keep('source'));
    expect(r.reported).toBe(`${name}: last dim 200 is not divisible by group size 64, kept in float`);
    const ok = decide(resolvePolicy('uniform', { groupSize: 32 }), describeTensor(name, dense27b), [48, 96], 'BF16', dense27b);
    expect(ok.decision).toEqual(q(4, 32));
    expect(decide(policy, describeTensor(name, dense27b), [48, 96], 'BF16', dense27b).reported).toMatch(/96 .* 64/);
  });
});

describe('+fp16', () => {
  it('gdn8-speed4+fp16: kept floats become f16 (f32 A_log excepted), quantization unchanged', () => {
    const policy = resolvePolicy('gdn8-speed4+fp16');
    expect(policy.floatDtype).toBe('f16');
    const m = run(policy, dense27b, mlxTensors(dense27b, { qwen35Dtypes: true }));
    expectAll(m, /linear_attn\.A_log$/, keep('source')); // F32 in Qwen3.5
    expectAll(m, /linear_attn\.norm\.weight$/, keep('f16')); // F32 source
    expectAll(m, /linear_attn\.dt_bias$|conv1d\.weight$|layernorm\.weight$/, keep('f16'));
    expectAll(m, /mtp\.fc\.weight$|mtp\.norm\.weight$/, keep('f16')); // body-int4's bf16 becomes f16
    expectAll(m, /linear_attn\.in_proj_qkv\.weight$/, q(8));
    expectAll(m, /mlp\.down_proj\.weight$/, q(4));
  });

  it('none+fp16 converts bf16/f32 floats, leaves f16 and integer tensors alone', () => {
    const policy = resolvePolicy('none+fp16');
    const d = (name: string, dtype: DType, shape = [8, 64]) => decide(policy, describeTensor(name, dense27b), shape, dtype, dense27b).decision;
    expect(d('language_model.model.layers.0.mlp.down_proj.weight', 'BF16')).toEqual(keep('f16'));
    expect(d('language_model.model.layers.0.mlp.down_proj.weight', 'F16')).toEqual(keep('source'));
    expect(d('language_model.model.layers.0.linear_attn.A_log', 'F32', [48])).toEqual(keep('source'));
    expect(d('language_model.model.layers.0.linear_attn.A_log', 'BF16', [48])).toEqual(keep('f16'));
    expect(d('language_model.model.layers.0.mlp.down_proj.scales', 'U32')).toEqual(keep('source'));
  });

  it('an explicit f32 override is honoured under +fp16', () => {
    const policy = resolvePolicy('gdn8-speed4+fp16', { overrides: ['role:norm=f32'] });
    const r = decide(policy, describeTensor('language_model.model.norm.weight', dense27b), [5120], 'BF16', dense27b);
    expect(r.decision).toEqual(keep('f32'));
  });
});

describe('config.json quantization block', () => {
  /** Reads every module back the way mlx-lm's loader does and compares with the decisions. */
  function roundTrip(policy: ResolvedPolicy, cfg: TextConfig, globals = policy.globals) {
    const m = run(policy, cfg);
    const decisions = [...m.values()]
      .filter((d) => d.t.name.endsWith('.weight'))
      .map((d) => ({ module: d.t.name.slice(0, -'.weight'.length), decision: d.d }));
    const block = buildQuantizationConfig(decisions, globals);
    for (const { module, decision } of decisions) {
      const back = block ? moduleQuantFromConfig(block, module, decision.action === 'quantize') : undefined;
      const want = decision.action === 'quantize'
        ? { mode: decision.mode, bits: decision.bits, groupSize: decision.groupSize }
        : undefined;
      expect({ module, back }).toEqual({ module, back: want });
    }
    return { block, decisions };
  }

  it('gdn8-speed4 on 27B: globals 4/64, an entry exactly for every 8-bit module', () => {
    const { block } = roundTrip(resolvePolicy('gdn8-speed4'), dense27b);
    expect(block).toMatchObject({ group_size: 64, bits: 4, mode: 'affine' });
    const entries = Object.entries(block!).filter(([k]) => !['group_size', 'bits', 'mode'].includes(k));
    expect(entries).toHaveLength(48 * 5);
    expect(block!['language_model.model.layers.0.linear_attn.in_proj_qkv']).toEqual({ group_size: 64, bits: 8 });
  });

  it('uniform --mode mxfp4 on the MoE: router entries carry no mode and read back as affine', () => {
    const { block } = roundTrip(resolvePolicy('uniform', { mode: 'mxfp4' }), moe35b);
    expect(block).toMatchObject({ group_size: 32, bits: 4, mode: 'mxfp4' });
    expect(block!['language_model.model.layers.0.mlp.gate']).toEqual({ group_size: 64, bits: 8 });
    expect(block!['language_model.mtp.layers.0.mlp.shared_expert_gate']).toEqual({ group_size: 64, bits: 8 });
  });

  it('mixed_3_6 on Qwen3-Next and an nvfp4 override under affine globals round-trip', () => {
    roundTrip(resolvePolicy('mixed_3_6'), next80b);
    const { block } = roundTrip(resolvePolicy('gdn8-speed4', { overrides: ['role:experts=nvfp4'] }), moe35b);
    expect(block!['language_model.model.layers.0.mlp.switch_mlp.up_proj']).toEqual({ group_size: 16, bits: 4, mode: 'nvfp4' });
  });

  it('picks the most common setting when the given globals are unused or absent', () => {
    const { block } = roundTrip(resolvePolicy('none', { overrides: ['role:gdn=q8', 'role:attention=q6'] }), dense27b, undefined);
    // 240 GDN linears at 8 bits vs 64 attention linears at 6 bits
    expect(block).toMatchObject({ group_size: 64, bits: 8, mode: 'affine' });
    expect(Object.keys(block!)).toHaveLength(3 + 64);
  });

  it('is undefined when nothing is quantized', () => {
    expect(roundTrip(resolvePolicy('none'), dense27b).block).toBeUndefined();
  });
});
