/**
 * Issue 10, fidelity: `+fp16` casts an f32 source straight to float16 (mlx-lm's single `astype`), not
 * through bf16; `--dtype float16` gives float16 everywhere (trunk and MTP sidecar, scales and biases)
 * except A_log, which mlx-lm's cast_predicate never casts.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runConvert } from '../../src/convert/pipeline';
import { Checkpoint } from '../../src/safetensors/checkpoint';
import { f32ToBf16, bf16ToF32, f32ToF16 } from '../../src/numeric/float-bits';
import { convertOptions } from '../support/convert-options';

const SRC = path.join(__dirname, '..', '..', 'fixtures', 'qwen35-dense');
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-fp16-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const f32s = (b: Buffer) => Array.from({ length: b.length / 4 }, (_, i) => b.readFloatLE(i * 4));
const u16s = (b: Buffer) => Array.from({ length: b.length / 2 }, (_, i) => b.readUInt16LE(i * 2));

test('+fp16: an f32 source tensor is cast once, f32 -> f16 (not rounded to bf16 first)', async () => {
  const out = path.join(tmp, 'plus-fp16');
  await runConvert(convertOptions(SRC, out, { policy: { spec: 'gdn8-speed4+fp16' } }));
  const src = await Checkpoint.open(SRC);
  const art = await Checkpoint.open(out);
  try {
    const f32Names = [...src.tensors.values()].filter((t) => t.dtype === 'F32' && t.name.endsWith('linear_attn.norm.weight')).map((t) => t.name);
    expect(f32Names.length).toBeGreaterThan(0);
    let differsFromTwoRoundings = 0;
    for (const name of f32Names) {
      const outName = name.replace(/^model\.language_model\./, 'language_model.model.');
      expect(art.tensors.get(outName)?.dtype).toBe('F16');
      const x = f32s(await src.readTensor(name));
      const got = u16s(await art.readTensor(outName));
      expect(got).toEqual(x.map((v) => f32ToF16(v)));
      differsFromTwoRoundings += x.filter((v, i) => f32ToF16(bf16ToF32(f32ToBf16(v))) !== got[i]).length;
    }
    // The fixture's f32 values are not all bf16-exact: the old double rounding gives other bits.
    expect(differsFromTwoRoundings).toBeGreaterThan(0);
  } finally {
    await src.close();
    await art.close();
  }
});

test('--dtype float16 with gdn8-speed4: float16 everywhere, MTP sidecar included, except A_log (f32)', async () => {
  const out = path.join(tmp, 'dtype-f16');
  await runConvert(convertOptions(SRC, out, { policy: { spec: 'gdn8-speed4' }, dtype: 'float16' }));
  const files = fs.readdirSync(out).filter((f) => f.endsWith('.safetensors'));
  expect(files.sort()).toEqual(['model.safetensors', 'mtp.safetensors']);
  const art = await Checkpoint.openFiles(out, files);
  try {
    const byDtype = new Map<string, string[]>();
    for (const t of art.tensors.values()) byDtype.set(t.dtype, [...(byDtype.get(t.dtype) ?? []), t.name]);
    expect([...byDtype.keys()].sort()).toEqual(['F16', 'F32', 'U32']);
    expect(byDtype.get('F32')!.every((n) => n.endsWith('.A_log'))).toBe(true);
    expect(byDtype.get('U32')!.every((n) => n.endsWith('.weight'))).toBe(true);
    const mtp = [...art.tensors.values()].filter((t) => t.name.startsWith('mtp.'));
    expect(mtp.length).toBeGreaterThan(0);
    expect(mtp.filter((t) => t.dtype !== 'U32').every((t) => t.dtype === 'F16')).toBe(true);
  } finally {
    await art.close();
  }
});
