/** Issue 3 edge cases: graft (MTP alone from a raw checkpoint), stripped head, vision, dtypes, bad input. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runConvert, type ConvertOptions } from '../../src/convert/pipeline';
import { Checkpoint } from '../../src/safetensors/checkpoint';
import { planSanitize } from '../../src/sanitize/plan-sanitize';
import { parseTextConfig } from '../../src/arch/text-config';
import { InputError } from '../../src/errors';
import { runCli } from '../support/run-cli';
import { bf16PlusOne } from '../support/expected-mlx';
import { convertOptions } from '../support/convert-options';

const FIX = path.join(__dirname, '..', '..', 'fixtures');
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-sanitize-cases-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const base = (source: string, out: string): ConvertOptions => convertOptions(source, out, { mtpLayout: 'inline' });
const u16 = (b: Buffer) => Array.from({ length: b.length / 2 }, (_, i) => b.readUInt16LE(i * 2));

async function openFixture(v: string) {
  const ck = await Checkpoint.open(path.join(FIX, v));
  const config = (await ck.readJson<Record<string, unknown>>('config.json'))!;
  return { ck, config, text: parseTextConfig(config) };
}

test('graft: MTP tensors alone from a raw checkpoint still get their norms shifted', async () => {
  const { ck, text } = await openFixture('qwen35-dense');
  try {
    const plan = planSanitize(ck.tensors, text, {
      vision: 'drop',
      mtp: 'keep',
      sourceLabel: 'x',
      select: (n) => n.startsWith('language_model.mtp.'),
    });
    expect(plan.tensors.every((t) => t.group === 'mtp')).toBe(true);
    expect(plan.tensors).toHaveLength(15);
    const norms = plan.tensors.filter((t) => /norm(_\w+)?\.weight$/.test(t.name));
    expect(norms.map((t) => t.name).sort()).toEqual(
      [
        'language_model.mtp.layers.0.input_layernorm.weight',
        'language_model.mtp.layers.0.post_attention_layernorm.weight',
        'language_model.mtp.layers.0.self_attn.k_norm.weight',
        'language_model.mtp.layers.0.self_attn.q_norm.weight',
        'language_model.mtp.norm.weight',
        'language_model.mtp.pre_fc_norm_embedding.weight',
        'language_model.mtp.pre_fc_norm_hidden.weight',
      ].sort(),
    );
    for (const n of norms) expect(n.transforms).toContainEqual({ kind: 'add-one' });
  } finally {
    await ck.close();
  }
});

test('a converted (MLX) checkpoint is never shifted again, with or without mtp tensors', async () => {
  const out = path.join(tmp, 'once');
  await runConvert(base(path.join(FIX, 'qwen35-dense'), out));
  const ck = await Checkpoint.open(out);
  try {
    const cfg = (await ck.readJson<Record<string, unknown>>('config.json'))!;
    const plan = planSanitize(ck.tensors, parseTextConfig(cfg), { vision: 'drop', mtp: 'keep', sourceLabel: out });
    expect(plan.raw.raw).toBe(false);
    expect(plan.tensors.some((t) => t.transforms.some((x) => x.kind === 'add-one'))).toBe(false);
    const mtpOnly = planSanitize(ck.tensors, parseTextConfig(cfg), {
      vision: 'drop',
      mtp: 'keep',
      sourceLabel: out,
      select: (n) => n.includes('.mtp.'),
    });
    expect(mtpOnly.tensors.some((t) => t.transforms.some((x) => x.kind === 'add-one'))).toBe(false);
  } finally {
    await ck.close();
  }
});

test('stripped head: a clear error that explains the fix (exit 2), and --mtp drop writes mtp_num_hidden_layers 0', async () => {
  const src = path.join(FIX, 'qwen35-stripped');
  const r = await runCli(['convert', src, path.join(tmp, 'stripped')]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('text_config.mtp_num_hidden_layers');
  expect(r.stderr).toMatch(/graft/);
  expect(r.stderr).toMatch(/--mtp drop/);
  expect(fs.existsSync(path.join(tmp, 'stripped'))).toBe(false);

  const out = path.join(tmp, 'stripped-dropped');
  const ok = await runCli(['convert', src, out, '--mtp', 'drop', '--json']);
  expect(ok.code).toBe(0);
  const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
  expect(cfg.text_config.mtp_num_hidden_layers).toBe(0);
  const ck = await Checkpoint.open(out);
  expect([...ck.tensors.keys()].some((n) => n.includes('mtp.'))).toBe(false);
  await ck.close();
});

test('--mtp drop on a checkpoint with a head removes it and says so in config.json', async () => {
  const out = path.join(tmp, 'dense-no-mtp');
  await runConvert({ ...base(path.join(FIX, 'qwen35-dense'), out), mtp: 'drop' });
  const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
  expect(cfg.text_config.mtp_num_hidden_layers).toBe(0);
  const ck = await Checkpoint.open(out);
  expect([...ck.tensors.keys()].filter((n) => n.includes('mtp.'))).toEqual([]);
  await ck.close();
});

test('--vision keep writes the vision tower unquantized into model-vision-* shards', async () => {
  const out = path.join(tmp, 'vision');
  await runConvert({ ...base(path.join(FIX, 'qwen35-dense'), out), vision: 'keep' });
  const files = fs.readdirSync(out);
  expect(files).toContain('model-vision-00001-of-00001.safetensors');
  const ck = await Checkpoint.open(out);
  try {
    const vision = [...ck.tensors.values()].filter((t) => t.name.startsWith('vision_tower.'));
    const src = await Checkpoint.open(path.join(FIX, 'qwen35-dense'));
    const srcVision = [...src.tensors.keys()].filter((n) => n.startsWith('model.visual.'));
    expect(vision).toHaveLength(srcVision.length);
    for (const t of vision) {
      expect(t.shard).toBe('model-vision-00001-of-00001.safetensors');
      const s = src.tensors.get('model.visual.' + t.name.slice('vision_tower.'.length))!;
      expect((await ck.readTensor(t.name)).equals(await src.readTensor(s.name))).toBe(true);
    }
    await src.close();
    expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).vision_config).toBeDefined();
  } finally {
    await ck.close();
  }
});

test('--dtype float16: norms are shifted in bf16 first, then cast to f16; A_log keeps f32', async () => {
  const out = path.join(tmp, 'f16');
  await runConvert({ ...base(path.join(FIX, 'qwen35-dense'), out), dtype: 'float16' });
  const ck = await Checkpoint.open(out);
  const src = await Checkpoint.open(path.join(FIX, 'qwen35-dense'));
  try {
    const norm = 'language_model.model.layers.0.input_layernorm.weight';
    const got = await ck.readTensor(norm);
    expect(ck.tensors.get(norm)!.dtype).toBe('F16');
    // Independent: bf16 + 1 (RNE), widen to f32 exactly, then f32 -> f16 with Math.fround-free logic:
    // every bf16 value near 1 with 8 significant bits is exactly representable in f16.
    const srcBits = u16(await src.readTensor('model.language_model.layers.0.input_layernorm.weight'));
    const want = srcBits.map((b) => {
      const f = new Float32Array(new Uint32Array([bf16PlusOne(b) << 16]).buffer)[0];
      const h = new Uint16Array(1);
      // f16 encoding of a normal value with <= 11 significant bits: exact.
      const e = Math.floor(Math.log2(Math.abs(f)));
      const m = Math.round((Math.abs(f) / 2 ** e - 1) * 1024);
      h[0] = (f < 0 ? 0x8000 : 0) | ((e + 15) << 10) | m;
      return h[0];
    });
    expect(u16(got)).toEqual(want);
    for (const t of ck.tensors.values()) {
      if (t.name.endsWith('A_log')) expect(t.dtype).toBe('F32');
      else expect(t.dtype).toBe('F16');
    }
  } finally {
    await ck.close();
    await src.close();
  }
});

test('an MoE checkpoint whose experts span two shards converts correctly', async () => {
  const { ck, text } = await openFixture('qwen35-moe');
  try {
    const shardsOf = (l: number) => [ck.tensors.get(`model.language_model.layers.${l}.mlp.experts.gate_up_proj`)!.shard, ck.tensors.get(`model.language_model.layers.${l}.mlp.experts.down_proj`)!.shard];
    const spanning = [...Array(text.numLayers).keys()].filter((l) => new Set(shardsOf(l)).size === 2);
    expect(spanning.length).toBeGreaterThan(0);
  } finally {
    await ck.close();
  }
  // The byte-level checks of the split live in sanitize-convert.test.ts and run on this fixture.
});

test('a missing expert is an error naming the layer and the expert', async () => {
  const { ck, text } = await openFixture('qwen3-next');
  try {
    const tensors = new Map(ck.tensors);
    tensors.delete('model.layers.1.mlp.experts.2.up_proj.weight');
    expect(() => planSanitize(tensors, text, { vision: 'drop', mtp: 'keep', sourceLabel: 'ckpt' })).toThrow(
      /model\.layers\.1\.mlp: expert 2 of 4 is missing \(up_proj\)/,
    );
    try {
      planSanitize(tensors, text, { vision: 'drop', mtp: 'keep', sourceLabel: 'ckpt' });
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
    }
  } finally {
    await ck.close();
  }
});

test('an unknown architecture is an error listing the supported ones', async () => {
  const dir = path.join(tmp, 'llama');
  fs.cpSync(path.join(FIX, 'qwen35-dense-tied'), dir, { recursive: true });
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  cfg.model_type = 'llama';
  cfg.architectures = ['LlamaForCausalLM'];
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
  const r = await runCli(['plan', dir]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/unsupported architecture.*llama.*qwen3_5, qwen3_5_moe, qwen3_next/);
});

test('plan prints the per-tensor plan without reading tensor data', async () => {
  const r = await runCli(['plan', path.join(FIX, 'qwen35-moe'), '--json']);
  expect(r.code).toBe(0);
  const j = JSON.parse(r.stdout);
  const gate = j.tensors.find((t: any) => t.name === 'language_model.model.layers.0.mlp.switch_mlp.gate_proj.weight');
  expect(gate.sources[0]).toMatch(/experts\.gate_up_proj\[axis 1: 0:64\]/);
  // Names as written: the default sidecar layout stores the head as mtp.* in mtp.safetensors.
  const stacked = j.tensors.find((t: any) => t.name === 'mtp.layers.0.mlp.switch_mlp.up_proj.weight');
  expect(stacked.file).toBe('mtp.safetensors');
  expect(stacked.sources).toHaveLength(4);
  expect(j.rawCheckpoint).toBe(true);
});

test('an already-quantized MLX checkpoint is refused with the way forward (graft), not half-converted', async () => {
  const q = path.join(tmp, 'quantized');
  await runConvert({ ...base(path.join(FIX, 'qwen35-dense'), q), policy: { spec: 'gdn8-speed4' } });
  const out = path.join(tmp, 'requantized');
  const r = await runCli(['convert', q, out]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/already quantized.*\.scales|\.scales.*already quantized/);
  expect(r.stderr).toMatch(/mtpkit graft/);
  expect(fs.existsSync(out)).toBe(false);
});
