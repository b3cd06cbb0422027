/**
 * Issue 4 end to end: every built-in policy converts; every quantized tensor dequantizes back to the
 * sanitized (`--policy none`) tensor within the MLX bound; config.json's block describes what is stored.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runConvert, type ConvertOptions } from '../../src/convert/pipeline';
import { Checkpoint } from '../../src/safetensors/checkpoint';
import { dequantizeToF32 } from '../../src/quant/kernels';
import { decodeFloats } from '../../src/quant/kernels/float-io';
import { moduleQuantFromConfig } from '../../src/quant/policy';
import { validateArtifact } from '../../src/artifact/validate-artifact';
import type { FloatDType } from '../../src/numeric/float-bits';
import { convertOptions } from '../support/convert-options';

const FIX = path.join(__dirname, '..', '..', 'fixtures');
let tmp: string;
const sanitized = new Map<string, string>();
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-quant-convert-'));
  for (const v of ['qwen35-dense', 'qwen35-moe']) {
    const out = path.join(tmp, `${v}-none`);
    await runConvert(opts(path.join(FIX, v), out, 'none'));
    sanitized.set(v, out);
  }
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function opts(source: string, out: string, spec: string, extra: Partial<ConvertOptions> = {}): ConvertOptions {
  return convertOptions(source, out, { policy: { spec }, mtpLayout: 'inline', ...extra });
}

const CASES: [string, string, Partial<ConvertOptions>][] = [
  ['qwen35-dense', 'gdn8-speed4', {}],
  ['qwen35-moe', 'gdn8-speed4', {}],
  ['qwen35-dense', 'uniform', {}],
  ['qwen35-moe', 'uniform', { rounding: 'cpu' }],
  ['qwen35-dense', 'mixed_2_6', {}],
  ['qwen35-dense', 'mixed_3_4', {}],
  ['qwen35-moe', 'mixed_3_6', {}],
  ['qwen35-dense', 'mixed_4_6', {}],
  ['qwen35-dense', 'body-int4', {}],
  ['qwen35-dense', 'gdn8-speed4+fp16', {}],
  ['qwen35-dense', 'uniform', { policy: { spec: 'uniform', mode: 'mxfp4' } }],
  ['qwen35-dense', 'uniform', { policy: { spec: 'uniform', mode: 'mxfp8' } }],
  ['qwen35-dense', 'uniform', { policy: { spec: 'uniform', mode: 'nvfp4' } }],
];

describe.each(CASES)('%s --policy %s %j', (variant, spec, extra) => {
  let out: string;
  let ck: Checkpoint;
  let ref: Checkpoint;
  let block: Record<string, any> | undefined;

  beforeAll(async () => {
    out = path.join(tmp, `${variant}-${spec}-${JSON.stringify(extra).replace(/\W/g, '')}`);
    await runConvert(opts(path.join(FIX, variant), out, spec, extra));
    ck = await Checkpoint.open(out);
    ref = await Checkpoint.open(sanitized.get(variant)!);
    block = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).quantization;
  });
  afterAll(async () => {
    await ck.close();
    await ref.close();
  });

  test('the artifact validates', async () => {
    expect((await validateArtifact(out)).problems).toEqual([]);
  });

  test('every quantized module dequantizes to the sanitized tensor within the bound, with the bits config.json records', async () => {
    const modules = [...ck.tensors.keys()].filter((n) => n.endsWith('.scales')).map((n) => n.slice(0, -'.scales'.length));
    if (spec === 'body-int4') expect(modules).toHaveLength(7);
    else expect(modules.length).toBeGreaterThan(10);
    for (const m of modules) {
      const w = ck.tensors.get(`${m}.weight`)!;
      const s = ck.tensors.get(`${m}.scales`)!;
      const b = ck.tensors.get(`${m}.biases`);
      const p = moduleQuantFromConfig(block!, m, true)!;
      expect(p).toBeDefined();
      // Shapes agree with the recorded params (mlx-lm's consistency rule).
      expect((w.shape[w.shape.length - 1] * 32) / p.bits).toBe(s.shape[s.shape.length - 1] * p.groupSize);
      const source = ref.tensors.get(`${m}.weight`)!;
      expect(w.shape.slice(0, -1)).toEqual(source.shape.slice(0, -1));
      const q = {
        weight: await ck.readTensor(w.name),
        weightShape: w.shape,
        scales: await ck.readTensor(s.name),
        scalesShape: s.shape,
        scalesDType: s.dtype as FloatDType | 'U8',
        biases: b ? await ck.readTensor(b.name) : undefined,
        biasesDType: b?.dtype as FloatDType | undefined,
      };
      const deq = dequantizeToF32(q, { mode: p.mode, bits: p.bits, groupSize: p.groupSize });
      const orig = decodeFloats(await ref.readTensor(source.name), source.dtype as FloatDType);
      const g = p.groupSize;
      const groups = orig.length / g;
      // Counted, then asserted once per module (one expect per element would dominate the run time).
      let worst = { excess: -Infinity, at: -1 };
      const check = (i: number, err: number, bound: number) => {
        if (err - bound > worst.excess) worst = { excess: err - bound, at: i };
      };
      if (p.mode === 'affine') {
        const scales = decodeFloats(q.scales, s.dtype as FloatDType);
        const biases = decodeFloats(q.biases!, s.dtype as FloatDType);
        for (let k = 0; k < groups; k++) {
          // MLX's bound is about one scale; the 16-bit rounding of scale and bias adds a little.
          const slack = Math.abs(biases[k]) * 2 ** -7 + Math.abs(scales[k]) * 2 ** -7 * (2 ** p.bits - 1) + 1e-6;
          for (let i = k * g; i < (k + 1) * g; i++) check(i, Math.abs(orig[i] - deq[i]), Math.abs(scales[k]) + slack);
        }
      } else {
        // fp modes: each element within half a step of its group's largest code spacing.
        for (let k = 0; k < groups; k++) {
          let amax = 0;
          for (let i = k * g; i < (k + 1) * g; i++) amax = Math.max(amax, Math.abs(orig[i]));
          for (let i = k * g; i < (k + 1) * g; i++) check(i, Math.abs(orig[i] - deq[i]), amax * 0.5 + 1e-6);
        }
      }
      expect([m, worst.excess <= 0 ? 'within bound' : `element ${worst.at} exceeds by ${worst.excess}`]).toEqual([m, 'within bound']);
    }
  });

  test('unquantized tensors are the sanitized ones (cast only where the policy says)', async () => {
    for (const t of ck.tensors.values()) {
      if (/\.(weight|scales|biases)$/.test(t.name) && ck.tensors.has(t.name.replace(/\.(weight|scales|biases)$/, '.scales'))) continue;
      const r = ref.tensors.get(t.name)!;
      expect(r).toBeDefined();
      if (spec.endsWith('+fp16') && !(t.name.endsWith('A_log') && r.dtype === 'F32')) {
        expect(t.dtype).toBe('F16');
      } else {
        expect(t.dtype).toBe(r.dtype);
        expect((await ck.readTensor(t.name)).equals(await ref.readTensor(r.name))).toBe(true);
      }
    }
  });
});

test('gdn8-speed4 layout: GDN 8-bit, MLP/attention/embedding/lm_head 4-bit, routers 8-bit, MTP per body-int4', async () => {
  const out = path.join(tmp, 'layout');
  await runConvert(opts(path.join(FIX, 'qwen35-moe'), out, 'gdn8-speed4'));
  const ck = await Checkpoint.open(out);
  const bitsOf = (m: string) => {
    const w = ck.tensors.get(`${m}.weight`)!;
    const s = ck.tensors.get(`${m}.scales`);
    return s ? (w.shape[w.shape.length - 1] * 32) / (s.shape[s.shape.length - 1] * 64) : 16;
  };
  const L = 'language_model.model.layers';
  expect(bitsOf(`${L}.0.linear_attn.in_proj_qkv`)).toBe(8);
  expect(bitsOf(`${L}.0.linear_attn.out_proj`)).toBe(8);
  expect(bitsOf(`${L}.3.self_attn.q_proj`)).toBe(4);
  expect(bitsOf(`${L}.0.mlp.switch_mlp.gate_proj`)).toBe(4);
  expect(bitsOf(`${L}.0.mlp.shared_expert.down_proj`)).toBe(4);
  expect(bitsOf(`${L}.0.mlp.gate`)).toBe(8);
  expect(bitsOf('language_model.model.embed_tokens')).toBe(4);
  expect(bitsOf('language_model.lm_head')).toBe(4);
  expect(bitsOf('language_model.mtp.layers.0.self_attn.q_proj')).toBe(4);
  expect(bitsOf('language_model.mtp.fc')).toBe(16);
  expect(ck.tensors.get(`${L}.0.linear_attn.conv1d.weight`)!.dtype).toBe('BF16');
  expect(ck.tensors.get(`${L}.0.linear_attn.A_log`)!.dtype).toBe('F32');
  await ck.close();
});
