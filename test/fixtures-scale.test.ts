/**
 * Large (benchmark) checkpoints: `targetBytes` lands within 10 % of the request, the 27B proportions
 * hold, shards respect the size limit, and the result opens as a consistent HF checkpoint.
 */
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generateCheckpoint } from '../fixtures/generator/write-checkpoint';
import { main } from '../fixtures/generator/cli';
import { Checkpoint } from '../src/safetensors/checkpoint';

let tmp: string;
beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'mtpkit-fixtures-scale-'));
});
afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

async function safetensorsBytes(dir: string): Promise<number[]> {
  const names = (await fsp.readdir(dir)).filter((f) => f.endsWith('.safetensors')).sort();
  return Promise.all(names.map(async (f) => (await fsp.stat(path.join(dir, f))).size));
}

type Cfg = Record<string, any>;

test('a 20 MB 27B-shaped checkpoint: size within 10 %, 27B proportions, shards under the limit', async () => {
  const target = 20_000_000;
  const maxShard = 6 * 2 ** 20;
  const dir = path.join(tmp, 'big');
  const r = await generateCheckpoint(dir, { variant: 'qwen35-dense', targetBytes: target, maxShardBytes: maxShard, seed: 1 });
  const sizes = await safetensorsBytes(dir);
  const total = sizes.reduce((a, b) => a + b, 0);
  expect(Math.abs(total - target) / target).toBeLessThan(0.1);
  expect(sizes.length).toBeGreaterThanOrEqual(3);
  expect(sizes.length).toBe(r.shards.length);

  const ck = await Checkpoint.open(dir);
  try {
    // Each shard holds at most maxShard bytes of data unless a single tensor is larger.
    for (const shard of ck.shards) {
      const inShard = [...ck.tensors.values()].filter((t) => t.shard === shard);
      const data = inShard.reduce((s, t) => s + t.byteLength, 0);
      if (inShard.length > 1) expect(data).toBeLessThanOrEqual(maxShard);
    }
    const cfg = (await ck.readJson<Cfg>('config.json'))!;
    const tc = cfg.text_config;
    const H = tc.hidden_size;
    expect(H).toBeGreaterThan(64); // actually grown
    expect(tc.linear_num_value_heads).toBe(3 * tc.linear_num_key_heads); // 27B: 48 = 3 x 16
    expect(Math.abs(tc.intermediate_size / H - 3.4)).toBeLessThan(0.5); // 17408 / 5120
    expect(Math.abs((tc.num_attention_heads * tc.head_dim) / H - 1.2)).toBeLessThan(0.4); // 6144 / 5120
    expect(tc.num_attention_heads % tc.num_key_value_heads).toBe(0);
    expect(tc.num_hidden_layers % 4).toBe(0);
    expect(tc.tie_word_embeddings).toBe(false);
    const full = tc.layer_types.filter((t: string) => t === 'full_attention').length;
    expect(full).toBe(tc.num_hidden_layers / 4);
    // Shapes agree with the config.
    const convDim = 2 * tc.linear_num_key_heads * tc.linear_key_head_dim + tc.linear_num_value_heads * tc.linear_value_head_dim;
    expect(ck.info('model.language_model.layers.0.linear_attn.conv1d.weight').shape).toEqual([convDim, 1, 4]);
    expect(ck.info('model.language_model.layers.3.self_attn.q_proj.weight').shape).toEqual([2 * tc.num_attention_heads * tc.head_dim, H]);
    expect(ck.info('mtp.fc.weight').shape).toEqual([H, 2 * H]);
    for (const t of ck.tensors.values()) {
      if (!t.name.startsWith('model.visual.') && t.shape.length >= 2 && !t.name.endsWith('conv1d.weight')) {
        expect(t.shape[t.shape.length - 1] % 64).toBe(0);
      }
    }
    // The index's total_size is the sum of tensor bytes.
    const index = (await ck.readJson<Cfg>('model.safetensors.index.json'))!;
    expect(index.metadata.total_size).toBe([...ck.tensors.values()].reduce((s, t) => s + t.byteLength, 0));
  } finally {
    await ck.close();
  }
});

test('targetBytes works for an MoE variant and shards=N gives N shards', async () => {
  const target = 8_000_000;
  const dir = path.join(tmp, 'moe');
  const r = await generateCheckpoint(dir, { variant: 'qwen36-moe', targetBytes: target, shards: 2 });
  const sizes = await safetensorsBytes(dir);
  expect(sizes.length).toBe(2);
  expect(Math.abs(sizes.reduce((a, b) => a + b, 0) - target) / target).toBeLessThan(0.1);
  expect(r.shards.map((s) => s.file)).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
  const tc = JSON.parse(await fsp.readFile(path.join(dir, 'config.json'), 'utf8')).text_config;
  expect(tc.moe_intermediate_size % 64).toBe(0);
  expect(tc.num_experts).toBeGreaterThan(4); // experts grow with the model
  expect(tc.num_experts_per_tok).toBeLessThan(tc.num_experts);
  const ck = await Checkpoint.open(dir);
  try {
    expect(ck.info('model.language_model.layers.0.mlp.experts.gate_up_proj').shape)
      .toEqual([tc.num_experts, 2 * tc.moe_intermediate_size, tc.hidden_size]);
    expect(ck.info('mtp.layers.0.mlp.experts.down_proj').shape).toEqual([tc.num_experts, tc.hidden_size, tc.moe_intermediate_size]);
  } finally {
    await ck.close();
  }
});

test('scale multiplies the hidden width; bad options are refused', async () => {
  const r = await generateCheckpoint(path.join(tmp, 'scaled'), { variant: 'qwen35-dense-tied', scale: 3 });
  expect(r.dims.hidden).toBe(192);
  expect(r.dims.layers).toBe(4);
  await expect(generateCheckpoint(path.join(tmp, 'bad1'), { variant: 'qwen35-dense', seed: -1 })).rejects.toThrow(/seed/);
  await expect(generateCheckpoint(path.join(tmp, 'bad2'), { variant: 'qwen35-dense', shards: 0 })).rejects.toThrow(/shards/);
  await expect(generateCheckpoint(path.join(tmp, 'bad3'), { variant: 'qwen35-dense', targetBytes: -5 })).rejects.toThrow(/targetBytes/);
  // Below the smallest scaled model: refused rather than silently far off.
  await expect(generateCheckpoint(path.join(tmp, 'bad4'), { variant: 'qwen35-dense', targetBytes: 100_000 })).rejects.toThrow(/within 10 %/);
});

describe('generator CLI', () => {
  let log: jest.SpyInstance;
  let err: jest.SpyInstance;
  beforeEach(() => {
    log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    err = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => {
    log.mockRestore();
    err.mockRestore();
  });

  test('<variant> <outDir> --seed N reproduces the committed single-shard fixture', async () => {
    const out = path.join(tmp, 'cli-tied');
    expect(await main(['qwen35-dense-tied', out, '--seed', '101'])).toBe(0);
    const fixture = path.resolve(__dirname, '..', 'fixtures', 'qwen35-dense-tied');
    const files = (await fsp.readdir(fixture)).sort();
    expect((await fsp.readdir(out)).sort()).toEqual(files);
    for (const f of files) {
      expect((await fsp.readFile(path.join(out, f))).equals(await fsp.readFile(path.join(fixture, f)))).toBe(true);
    }
    expect(log.mock.calls.join('\n')).toMatch(/103 tensors, 1 shard/);
  });

  test('bad usage exits 2 with a message', async () => {
    expect(await main(['no-such-variant', path.join(tmp, 'x')])).toBe(2);
    expect(err.mock.calls.join('\n')).toMatch(/unknown variant 'no-such-variant'/);
    expect(await main(['qwen35-dense', path.join(tmp, 'x'), '--bogus', '1'])).toBe(2);
    expect(await main(['qwen35-dense', path.join(tmp, 'x'), '--target-bytes', '10'])).toBe(2);
    expect(await main(['qwen35-dense'])).toBe(2);
  });
});
