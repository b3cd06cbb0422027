/**
 * The committed fixtures against the reference (shared/reference/qwen35-architecture.md §2-6):
 * expected names and shapes are derived here from each fixture's config.json with this file's own
 * formulas (not the generator's), then compared with the safetensors headers; dtypes, prefixes,
 * shard names, index, and value statistics of norms and GDN parameters are checked too.
 */
import * as path from 'path';
import { Checkpoint } from '../src/safetensors/checkpoint';
import type { TensorInfo } from '../src/safetensors/types';

const FIXTURES = path.resolve(__dirname, '..', 'fixtures');

type Cfg = Record<string, any>;
type MtpLayout = 'none' | 'dense' | 'per-expert' | 'fused';

/** Per-variant facts from the reference tables (§1, §4.8, §4.11, §5). */
const CASES: { variant: string; release: '3.5' | '3.6' | 'next'; mtp: MtpLayout; shardStyle: 'qwen35' | 'standard'; minShards: number }[] = [
  { variant: 'qwen35-dense-tied', release: '3.5', mtp: 'dense', shardStyle: 'qwen35', minShards: 1 },
  { variant: 'qwen35-dense', release: '3.5', mtp: 'dense', shardStyle: 'qwen35', minShards: 1 },
  { variant: 'qwen35-moe', release: '3.5', mtp: 'per-expert', shardStyle: 'qwen35', minShards: 2 },
  { variant: 'qwen36-moe', release: '3.6', mtp: 'fused', shardStyle: 'standard', minShards: 2 },
  { variant: 'qwen35-stripped', release: '3.5', mtp: 'none', shardStyle: 'qwen35', minShards: 1 },
  { variant: 'qwen3-next', release: 'next', mtp: 'per-expert', shardStyle: 'standard', minShards: 1 },
];

function textCfg(cfg: Cfg): Cfg {
  return cfg.text_config ?? cfg;
}

function isFull(tc: Cfg, i: number): boolean {
  if (Array.isArray(tc.layer_types)) return tc.layer_types[i] === 'full_attention';
  return (i + 1) % (tc.full_attention_interval ?? 4) === 0;
}

/** name -> shape, from the config alone. */
function expectedShapes(cfg: Cfg, mtp: MtpLayout): Map<string, number[]> {
  const tc = textCfg(cfg);
  const next = cfg.model_type === 'qwen3_next';
  const moe = tc.num_experts !== undefined;
  const H = tc.hidden_size;
  const V = tc.vocab_size;
  const hd = tc.head_dim;
  const nH = tc.num_attention_heads;
  const nKV = tc.num_key_value_heads;
  const nk = tc.linear_num_key_heads;
  const nv = tc.linear_num_value_heads;
  const dk = tc.linear_key_head_dim;
  const dv = tc.linear_value_head_dim;
  const K = tc.linear_conv_kernel_dim;
  const keyDim = nk * dk;
  const valueDim = nv * dv;
  const convDim = 2 * keyDim + valueDim;
  const E = tc.num_experts;
  const Im = tc.moe_intermediate_size;
  const Is = tc.shared_expert_intermediate_size;
  const I = tc.intermediate_size;
  const m = new Map<string, number[]>();
  const attn = (p: string) => {
    m.set(`${p}self_attn.q_proj.weight`, [2 * nH * hd, H]);
    m.set(`${p}self_attn.k_proj.weight`, [nKV * hd, H]);
    m.set(`${p}self_attn.v_proj.weight`, [nKV * hd, H]);
    m.set(`${p}self_attn.o_proj.weight`, [H, nH * hd]);
    m.set(`${p}self_attn.q_norm.weight`, [hd]);
    m.set(`${p}self_attn.k_norm.weight`, [hd]);
  };
  const mlp = (p: string, layout: 'dense' | 'fused' | 'per-expert') => {
    if (layout === 'dense') {
      m.set(`${p}mlp.gate_proj.weight`, [I, H]);
      m.set(`${p}mlp.up_proj.weight`, [I, H]);
      m.set(`${p}mlp.down_proj.weight`, [H, I]);
      return;
    }
    m.set(`${p}mlp.gate.weight`, [E, H]);
    if (layout === 'fused') {
      m.set(`${p}mlp.experts.gate_up_proj`, [E, 2 * Im, H]);
      m.set(`${p}mlp.experts.down_proj`, [E, H, Im]);
    } else {
      for (let e = 0; e < E; e++) {
        m.set(`${p}mlp.experts.${e}.gate_proj.weight`, [Im, H]);
        m.set(`${p}mlp.experts.${e}.up_proj.weight`, [Im, H]);
        m.set(`${p}mlp.experts.${e}.down_proj.weight`, [H, Im]);
      }
    }
    for (const n of ['gate_proj', 'up_proj']) m.set(`${p}mlp.shared_expert.${n}.weight`, [Is, H]);
    m.set(`${p}mlp.shared_expert.down_proj.weight`, [H, Is]);
    m.set(`${p}mlp.shared_expert_gate.weight`, [1, H]);
  };
  const tp = next ? 'model.' : 'model.language_model.';
  const mainMlp = !moe ? 'dense' : next ? 'per-expert' : 'fused';
  m.set(`${tp}embed_tokens.weight`, [V, H]);
  m.set(`${tp}norm.weight`, [H]);
  if (!(cfg.tie_word_embeddings ?? tc.tie_word_embeddings)) m.set('lm_head.weight', [V, H]);
  for (let i = 0; i < tc.num_hidden_layers; i++) {
    const p = `${tp}layers.${i}.`;
    m.set(`${p}input_layernorm.weight`, [H]);
    m.set(`${p}post_attention_layernorm.weight`, [H]);
    if (isFull(tc, i)) attn(p);
    else {
      const q = `${p}linear_attn.`;
      if (next) {
        m.set(`${q}in_proj_qkvz.weight`, [2 * keyDim + 2 * valueDim, H]);
        m.set(`${q}in_proj_ba.weight`, [2 * nv, H]);
      } else {
        m.set(`${q}in_proj_qkv.weight`, [convDim, H]);
        m.set(`${q}in_proj_z.weight`, [valueDim, H]);
        m.set(`${q}in_proj_b.weight`, [nv, H]);
        m.set(`${q}in_proj_a.weight`, [nv, H]);
      }
      m.set(`${q}conv1d.weight`, [convDim, 1, K]);
      m.set(`${q}A_log`, [nv]);
      m.set(`${q}dt_bias`, [nv]);
      m.set(`${q}norm.weight`, [dv]);
      m.set(`${q}out_proj.weight`, [H, valueDim]);
    }
    mlp(p, mainMlp);
  }
  if (mtp !== 'none') {
    for (const n of ['pre_fc_norm_embedding', 'pre_fc_norm_hidden', 'norm']) m.set(`mtp.${n}.weight`, [H]);
    m.set('mtp.fc.weight', [H, 2 * H]);
    m.set('mtp.layers.0.input_layernorm.weight', [H]);
    m.set('mtp.layers.0.post_attention_layernorm.weight', [H]);
    attn('mtp.layers.0.');
    mlp('mtp.layers.0.', mtp);
  }
  const vc = cfg.vision_config;
  if (vc) {
    const Hv = vc.hidden_size;
    const Iv = vc.intermediate_size;
    const Hm = Hv * vc.spatial_merge_size ** 2;
    const v = 'model.visual.';
    m.set(`${v}patch_embed.proj.weight`, [Hv, vc.in_channels, vc.temporal_patch_size, vc.patch_size, vc.patch_size]);
    m.set(`${v}patch_embed.proj.bias`, [Hv]);
    m.set(`${v}pos_embed.weight`, [vc.num_position_embeddings, Hv]);
    for (let b = 0; b < vc.depth; b++) {
      const p = `${v}blocks.${b}.`;
      for (const n of ['norm1', 'norm2']) {
        m.set(`${p}${n}.weight`, [Hv]);
        m.set(`${p}${n}.bias`, [Hv]);
      }
      m.set(`${p}attn.qkv.weight`, [3 * Hv, Hv]);
      m.set(`${p}attn.qkv.bias`, [3 * Hv]);
      m.set(`${p}attn.proj.weight`, [Hv, Hv]);
      m.set(`${p}attn.proj.bias`, [Hv]);
      m.set(`${p}mlp.linear_fc1.weight`, [Iv, Hv]);
      m.set(`${p}mlp.linear_fc1.bias`, [Iv]);
      m.set(`${p}mlp.linear_fc2.weight`, [Hv, Iv]);
      m.set(`${p}mlp.linear_fc2.bias`, [Hv]);
    }
    m.set(`${v}merger.norm.weight`, [Hv]);
    m.set(`${v}merger.norm.bias`, [Hv]);
    m.set(`${v}merger.linear_fc1.weight`, [Hm, Hm]);
    m.set(`${v}merger.linear_fc1.bias`, [Hm]);
    m.set(`${v}merger.linear_fc2.weight`, [vc.out_hidden_size, Hm]);
    m.set(`${v}merger.linear_fc2.bias`, [vc.out_hidden_size]);
  }
  return m;
}

/** Float values of a BF16 or F32 tensor. */
async function values(ck: Checkpoint, name: string): Promise<Float32Array> {
  const info = ck.info(name);
  const buf = await ck.readTensor(name);
  if (info.dtype === 'F32') return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  expect(info.dtype).toBe('BF16');
  const out = new Float32Array(buf.length / 2);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < out.length; i++) u[i] = buf.readUInt16LE(2 * i) << 16;
  return out;
}

const mean = (a: Float32Array) => a.reduce((s, x) => s + x, 0) / a.length;
const meanAbs = (a: Float32Array) => a.reduce((s, x) => s + Math.abs(x), 0) / a.length;
const std = (a: Float32Array) => {
  const mu = mean(a);
  return Math.sqrt(a.reduce((s, x) => s + (x - mu) ** 2, 0) / a.length);
};

describe.each(CASES)('fixture $variant', ({ variant, release, mtp, shardStyle, minShards }) => {
  let ck: Checkpoint;
  let cfg: Cfg;
  let tc: Cfg;

  beforeAll(async () => {
    ck = await Checkpoint.open(path.join(FIXTURES, variant));
    cfg = (await ck.readJson<Cfg>('config.json'))!;
    tc = textCfg(cfg);
  });
  afterAll(() => ck?.close());

  test('tensor names and shapes follow from config.json', () => {
    const want = expectedShapes(cfg, mtp);
    const got = new Map([...ck.tensors].map(([n, t]) => [n, t.shape]));
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [n, shape] of want) expect({ n, shape: got.get(n) }).toEqual({ n, shape });
  });

  test('per-layer, MTP and vision tensor counts match the reference formulas', () => {
    const names = [...ck.tensors.keys()];
    const moe = tc.num_experts !== undefined;
    const E = tc.num_experts;
    const perExpertMain = release === 'next';
    const tp = release === 'next' ? 'model.' : 'model.language_model.';
    for (let i = 0; i < tc.num_hidden_layers; i++) {
      const n = names.filter((x) => x.startsWith(`${tp}layers.${i}.`)).length;
      const full = isFull(tc, i);
      let want: number;
      if (!moe) want = full ? 11 : 14;
      else if (!perExpertMain) want = full ? 15 : 18;
      // Qwen3-Next: grouped GDN has 7 linear_attn tensors instead of 9; 3 tensors per expert.
      else want = 2 + (full ? 6 : 7) + 5 + 3 * E;
      expect({ layer: i, n }).toEqual({ layer: i, n: want });
    }
    const mtpCount = names.filter((x) => x.startsWith('mtp.')).length;
    const wantMtp = { none: 0, dense: 15, fused: 19, 'per-expert': 17 + 3 * E }[mtp];
    expect(mtpCount).toBe(wantMtp);
    const vc = cfg.vision_config;
    const visual = names.filter((x) => x.startsWith('model.visual.')).length;
    expect(visual).toBe(vc ? 12 * vc.depth + 9 : 0);
    expect(names.includes('lm_head.weight')).toBe(!tc.tie_word_embeddings);
    // Every name has one of the known prefixes.
    for (const x of names) expect(x).toMatch(release === 'next' ? /^(model\.|lm_head\.|mtp\.)/ : /^(model\.language_model\.|model\.visual\.|lm_head\.|mtp\.)/);
  });

  test('shape relations of the reference hold', () => {
    const conv = [...ck.tensors.values()].filter((t) => t.name.endsWith('linear_attn.conv1d.weight'));
    expect(conv.length).toBeGreaterThan(0);
    const convDim = 2 * tc.linear_num_key_heads * tc.linear_key_head_dim + tc.linear_num_value_heads * tc.linear_value_head_dim;
    for (const t of conv) expect(t.shape).toEqual([convDim, 1, 4]);
    const q = [...ck.tensors.values()].filter((t) => t.name.endsWith('self_attn.q_proj.weight'));
    for (const t of q) expect(t.shape[0]).toBe(2 * tc.num_attention_heads * tc.head_dim);
    // Every text linear's input width allows group-64 quantization.
    for (const t of ck.tensors.values()) {
      if (t.name.startsWith('model.visual.') || t.shape.length < 2 || t.name.endsWith('conv1d.weight')) continue;
      expect({ n: t.name, mod: t.shape[t.shape.length - 1] % 64 }).toEqual({ n: t.name, mod: 0 });
    }
  });

  test('dtypes: A_log and linear_attn.norm are F32 only in Qwen3.5; all else BF16', () => {
    for (const t of ck.tensors.values()) {
      const f32 = release === '3.5' && (t.name.endsWith('linear_attn.A_log') || t.name.endsWith('linear_attn.norm.weight'));
      expect({ n: t.name, d: t.dtype }).toEqual({ n: t.name, d: f32 ? 'F32' : 'BF16' });
    }
  });

  test('shard names, index and file metadata are HF-style', async () => {
    expect(ck.shards.length).toBeGreaterThanOrEqual(minShards);
    const n = ck.shards.length;
    const pad = (k: number) => String(k).padStart(5, '0');
    const names = ck.shards.map((_, i) => shardStyle === 'qwen35'
      ? `model.safetensors-${pad(i + 1)}-of-${pad(n)}.safetensors`
      : `model-${pad(i + 1)}-of-${pad(n)}.safetensors`);
    expect([...ck.shards].sort()).toEqual(names);
    expect(ck.index).toBeDefined();
    const index = (await ck.readJson<Cfg>('model.safetensors.index.json'))!;
    expect(Object.keys(index)).toEqual(['metadata', 'weight_map']);
    const total = [...ck.tensors.values()].reduce((s, t) => s + t.byteLength, 0);
    expect(index.metadata).toEqual({ total_size: total });
    for (const shard of ck.shards) expect(ck.metadataByShard.get(shard)).toEqual({ format: 'pt' });
  });

  test('norm weights: zero-centred ones near 0, gated GDN norm near 1; A_log, dt_bias, linear weights realistic', async () => {
    const names = [...ck.tensors.keys()];
    const zeroCentred = names.filter((n) =>
      /(input_layernorm|post_attention_layernorm|q_norm|k_norm)\.weight$/.test(n) ||
      /^model\.(language_model\.)?norm\.weight$/.test(n) ||
      /^mtp\.(pre_fc_norm_embedding|pre_fc_norm_hidden|norm)\.weight$/.test(n));
    expect(zeroCentred.length).toBeGreaterThan(2 * tc.num_hidden_layers);
    for (const n of zeroCentred) expect({ n, small: meanAbs(await values(ck, n)) < 0.1 }).toEqual({ n, small: true });
    for (const n of names.filter((x) => x.endsWith('linear_attn.norm.weight'))) {
      expect(Math.abs(mean(await values(ck, n)) - 1)).toBeLessThan(0.05);
    }
    for (const n of names.filter((x) => x.endsWith('linear_attn.A_log'))) {
      for (const a of await values(ck, n)) {
        // A = exp(A_log) in [0.01, 16] (bf16 rounding of A_log allowed for).
        expect(Math.exp(a)).toBeGreaterThan(0.0099);
        expect(Math.exp(a)).toBeLessThan(16.1);
      }
    }
    for (const n of names.filter((x) => x.endsWith('linear_attn.dt_bias'))) {
      expect(Math.abs(mean(await values(ck, n)) - 1)).toBeLessThan(0.15);
    }
    const embed = await values(ck, names.find((x) => x.endsWith('embed_tokens.weight'))!);
    expect(Math.abs(mean(embed))).toBeLessThan(0.002);
    expect(std(embed)).toBeGreaterThan(0.018);
    expect(std(embed)).toBeLessThan(0.022);
  });

  test('config.json carries the reference fields and the token ids exist in the vocabulary', async () => {
    const common = ['hidden_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'head_dim',
      'hidden_act', 'rms_norm_eps', 'max_position_embeddings', 'attention_bias', 'linear_conv_kernel_dim',
      'linear_key_head_dim', 'linear_value_head_dim', 'linear_num_key_heads', 'linear_num_value_heads',
      'full_attention_interval', 'vocab_size', 'tie_word_embeddings', 'eos_token_id'];
    for (const k of common) expect({ k, present: k in tc }).toEqual({ k, present: true });
    expect(tc.full_attention_interval).toBe(4);
    if (release === 'next') {
      expect(cfg.model_type).toBe('qwen3_next');
      expect(cfg.architectures).toEqual(['Qwen3NextForCausalLM']);
      expect(cfg.text_config).toBeUndefined();
      for (const k of ['rope_theta', 'partial_rotary_factor', 'rope_scaling', 'decoder_sparse_step', 'mlp_only_layers', 'norm_topk_prob', 'num_experts', 'num_experts_per_tok', 'intermediate_size', 'torch_dtype']) {
        expect({ k, present: k in cfg }).toEqual({ k, present: true });
      }
    } else {
      const moe = variant.includes('moe');
      expect(cfg.model_type).toBe(moe ? 'qwen3_5_moe' : 'qwen3_5');
      expect(tc.model_type).toBe(moe ? 'qwen3_5_moe_text' : 'qwen3_5_text');
      expect(cfg.architectures).toEqual([moe ? 'Qwen3_5MoeForConditionalGeneration' : 'Qwen3_5ForConditionalGeneration']);
      expect(cfg.tie_word_embeddings).toBe(tc.tie_word_embeddings);
      expect(cfg.language_model_only).toBe(false);
      expect(typeof cfg.transformers_version).toBe('string');
      expect(tc.layer_types).toEqual(Array.from({ length: tc.num_hidden_layers }, (_, i) => ((i + 1) % 4 === 0 ? 'full_attention' : 'linear_attention')));
      expect(tc.attn_output_gate).toBe(true);
      expect(tc.mtp_num_hidden_layers).toBe(1);
      expect(tc.mtp_use_dedicated_embeddings).toBe(false);
      expect(tc.mamba_ssm_dtype).toBe('float32');
      const rp = tc.rope_parameters;
      expect(rp.partial_rotary_factor).toBe(tc.partial_rotary_factor);
      expect(rp.rope_theta).toBe(10000000);
      expect(rp.mrope_interleaved).toBe(true);
      // mRoPE sections cover the rotary half-width.
      expect(rp.mrope_section.reduce((a: number, b: number) => a + b, 0)).toBe((tc.head_dim * tc.partial_rotary_factor) / 2);
      if (moe) {
        for (const k of ['num_experts', 'num_experts_per_tok', 'moe_intermediate_size', 'shared_expert_intermediate_size', 'router_aux_loss_coef']) {
          expect({ k, present: k in tc }).toEqual({ k, present: true });
        }
        expect('intermediate_size' in tc).toBe(false);
      } else expect(typeof tc.intermediate_size).toBe('number');
      expect('output_gate_type' in tc).toBe(release === '3.6');
      const vc = cfg.vision_config;
      expect(vc.out_hidden_size).toBe(tc.hidden_size);
      const tok = (await ck.readJson<Cfg>('tokenizer.json'))!;
      const special = new Map<number, string>(tok.added_tokens.map((t: Cfg) => [t.id, t.content]));
      expect(special.get(cfg.image_token_id)).toBe('<|image_pad|>');
      expect(special.get(cfg.video_token_id)).toBe('<|video_pad|>');
      expect(special.get(cfg.vision_start_token_id)).toBe('<|vision_start|>');
      expect(special.get(cfg.vision_end_token_id)).toBe('<|vision_end|>');
      expect(special.get(tc.eos_token_id)).toBe('<|endoftext|>');
      if (release === '3.5') expect(tc.bos_token_id).toBeNull();
    }
    const tok = (await ck.readJson<Cfg>('tokenizer.json'))!;
    const maxId = Math.max(...tok.added_tokens.map((t: Cfg) => t.id), ...Object.values<number>(tok.model.vocab));
    expect(maxId).toBeLessThan(tc.vocab_size);
    const gen = (await ck.readJson<Cfg>('generation_config.json'))!;
    const special = new Map<number, string>(tok.added_tokens.map((t: Cfg) => [t.id, t.content]));
    expect(gen.eos_token_id.map((i: number) => special.get(i))).toEqual(['<|im_end|>', '<|endoftext|>']);
  });
});

describe('MoE fixture whose experts span two shards', () => {
  test('qwen35-moe stores gate_up_proj and down_proj of one layer in different shards', async () => {
    const ck = await Checkpoint.open(path.join(FIXTURES, 'qwen35-moe'));
    try {
      const split: number[] = [];
      const layers = (await ck.readJson<Cfg>('config.json'))!.text_config.num_hidden_layers;
      for (let i = 0; i < layers; i++) {
        const gu: TensorInfo = ck.info(`model.language_model.layers.${i}.mlp.experts.gate_up_proj`);
        const dn: TensorInfo = ck.info(`model.language_model.layers.${i}.mlp.experts.down_proj`);
        if (gu.shard !== dn.shard) split.push(i);
      }
      expect(split.length).toBeGreaterThan(0);
      // Main experts fused, MTP experts per expert in the same checkpoint (§9 pitfall 12).
      expect(ck.tensors.has('mtp.layers.0.mlp.experts.0.gate_proj.weight')).toBe(true);
      expect(ck.tensors.has('mtp.layers.0.mlp.experts.gate_up_proj')).toBe(false);
    } finally {
      await ck.close();
    }
  });
});
