/**
 * Issue 3: `convert --policy none` on every synthetic variant gives mlx-lm's sanitized layout, with bytes
 * checked against independent computations from the source tensors.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runConvert, type ConvertOptions } from '../../src/convert/pipeline';
import { Checkpoint } from '../../src/safetensors/checkpoint';
import { expectedMlxTensors, isZeroCentredMlxNorm, bf16PlusOne } from '../support/expected-mlx';
import { convertOptions } from '../support/convert-options';

const FIX = path.join(__dirname, '..', '..', 'fixtures');
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-sanitize-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const convert = (source: string, out: string, extra: Partial<ConvertOptions> = {}) =>
  runConvert(convertOptions(source, out, { mtpLayout: 'inline', ...extra }));

const u16 = (b: Buffer) => Array.from({ length: b.length / 2 }, (_, i) => b.readUInt16LE(i * 2));

/** HF name of an MLX tensor that was a plain rename. */
function hfName(mlx: string, next: boolean): string {
  if (next) return mlx;
  if (mlx.startsWith('language_model.model.')) return 'model.language_model.' + mlx.slice('language_model.model.'.length);
  return mlx.slice('language_model.'.length);
}

const VARIANTS = ['qwen35-dense-tied', 'qwen35-dense', 'qwen35-moe', 'qwen36-moe', 'qwen3-next'];

describe.each(VARIANTS)('%s', (variant) => {
  const src = path.join(FIX, variant);
  let out: string;
  let srcCk: Checkpoint;
  let outCk: Checkpoint;
  let config: any;

  beforeAll(async () => {
    out = path.join(tmp, variant);
    await convert(src, out);
    srcCk = await Checkpoint.open(src);
    outCk = await Checkpoint.open(out);
    config = JSON.parse(fs.readFileSync(path.join(src, 'config.json'), 'utf8'));
  });
  afterAll(async () => {
    await srcCk.close();
    await outCk.close();
  });

  test('names and shapes are exactly the MLX layout of the reference', () => {
    const got = [...outCk.tensors.values()].map((t) => ({ name: t.name, shape: t.shape }));
    const want = expectedMlxTensors(config);
    const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : 1);
    expect(got.sort(byName)).toEqual(want.sort(byName));
  });

  test('dtypes: everything bf16 except A_log, which keeps its source dtype', () => {
    for (const t of outCk.tensors.values()) {
      if (t.name.endsWith('.A_log')) {
        const srcA = [...srcCk.tensors.values()].find((s) => s.name.endsWith(t.name.split('.').slice(-4).join('.')));
        expect(t.dtype).toBe(srcA!.dtype);
      } else {
        expect(t.dtype).toBe('BF16');
      }
    }
  });

  test('renamed tensors keep their bytes; zero-centred norms are +1 exactly in bf16; linear_attn.norm is not shifted', async () => {
    const next = variant === 'qwen3-next';
    let shifted = 0;
    for (const t of outCk.tensors.values()) {
      if (t.name.includes('switch_mlp') || t.name.endsWith('conv1d.weight')) continue;
      const s = srcCk.tensors.get(hfName(t.name, next));
      expect(s).toBeDefined();
      const got = await outCk.readTensor(t.name);
      const raw = await srcCk.readTensor(s!.name);
      if (isZeroCentredMlxNorm(t.name)) {
        expect(u16(got)).toEqual(u16(raw).map(bf16PlusOne));
        shifted++;
      } else if (s!.dtype === 'F32' && t.dtype === 'BF16') {
        // Qwen3.5's f32 linear_attn.norm is cast to the config dtype (bf16), RNE, not shifted.
        expect(t.name).toMatch(/linear_attn\.norm\.weight$/);
        const f = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
        const want = Array.from(new Uint32Array(f.buffer), (x) => ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff);
        expect(u16(got)).toEqual(want);
      } else {
        expect(got.equals(raw)).toBe(true);
      }
    }
    expect(shifted).toBeGreaterThan(0);
  });

  test('conv1d moves from [C,1,K] to [C,K,1] with the same element order', async () => {
    for (const t of outCk.tensors.values()) {
      if (!t.name.endsWith('conv1d.weight')) continue;
      const s = srcCk.tensors.get(hfName(t.name, variant === 'qwen3-next'))!;
      expect(s.shape).toEqual([t.shape[0], 1, t.shape[1]]);
      expect((await outCk.readTensor(t.name)).equals(await srcCk.readTensor(s.name))).toBe(true);
    }
  });

  test('MoE experts: fused gate_up split at Im, per-expert tensors stacked in expert order', async () => {
    const switchTensors = [...outCk.tensors.values()].filter((t) => t.name.includes('.switch_mlp.'));
    if (!config.text_config?.num_experts && !config.num_experts) {
      expect(switchTensors).toHaveLength(0);
      return;
    }
    expect(switchTensors.length).toBeGreaterThan(0);
    const next = variant === 'qwen3-next';
    for (const t of switchTensors) {
      const got = await outCk.readTensor(t.name);
      const [E] = t.shape;
      const per = got.length / E;
      const prefix = hfName(t.name, next).replace(/\.switch_mlp\.(\w+)\.weight$/, '');
      const proj = t.name.match(/switch_mlp\.(\w+)\.weight$/)![1];
      const fused = srcCk.tensors.get(`${prefix}.experts.gate_up_proj`);
      for (let e = 0; e < E; e++) {
        const slice = got.subarray(e * per, (e + 1) * per);
        let want: Buffer;
        if (fused && proj !== 'down_proj') {
          const all = await srcCk.readTensor(fused.name);
          const perE = all.length / E;
          const half = perE / 2;
          const base = e * perE + (proj === 'gate_proj' ? 0 : half);
          want = all.subarray(base, base + half);
        } else if (fused) {
          const all = await srcCk.readTensor(`${prefix}.experts.down_proj`);
          want = all.subarray(e * per, (e + 1) * per);
        } else {
          want = await srcCk.readTensor(`${prefix}.experts.${e}.${proj}.weight`);
        }
        expect(slice.equals(want)).toBe(true);
      }
    }
  });

  test('idempotent: converting the output again gives byte-identical shards', async () => {
    const again = path.join(tmp, `${variant}-again`);
    await convert(out, again);
    for (const f of fs.readdirSync(out).filter((f) => f.endsWith('.safetensors'))) {
      expect(fs.readFileSync(path.join(again, f)).equals(fs.readFileSync(path.join(out, f)))).toBe(true);
    }
  });

  test('config.json: vision_config removed, mtp_num_hidden_layers consistent with the MTP tensors', () => {
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(cfg.vision_config).toBeUndefined();
    const text = cfg.text_config ?? cfg;
    const mtpLayers = new Set([...outCk.tensors.keys()].map((n) => n.match(/mtp\.layers\.(\d+)\./)?.[1]).filter(Boolean));
    expect(text.mtp_num_hidden_layers).toBe(mtpLayers.size);
    expect(fs.existsSync(path.join(out, 'tokenizer.json'))).toBe(true);
  });
});

test('the source folder is never modified', async () => {
  const src = path.join(FIX, 'qwen35-dense');
  const before = fs.readdirSync(src).map((f) => [f, fs.readFileSync(path.join(src, f)).toString('base64')]);
  await convert(src, path.join(tmp, 'untouched'));
  const after = fs.readdirSync(src).map((f) => [f, fs.readFileSync(path.join(src, f)).toString('base64')]);
  expect(after).toEqual(before);
});
