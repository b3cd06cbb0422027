/**
 * The activation mode reaches the native engine: on an affine artifact q8 and f32 logits differ (int8
 * activations per block), by about as much as the same switch moves the independent reference; on an
 * unquantized artifact (no affine weight) the two modes are bit-identical. The option, its default and
 * MTPKIT_ACTIVATIONS are checked where they are resolved.
 */
import { InputError } from '../../src/errors';
import { loadModel } from '../../src/runtime/engine/load-model';
import { buildLoadPlan } from '../../src/runtime/engine/load-plan';
import type { ActivationMode } from '../../src/runtime/engine/activations';
import { loadReferenceModel } from '../reference/reference-model';
import { WEIGHT_FORMATS, formatArtifact } from '../support/format-artifacts';
import { rowRelErr } from '../support/rel-err';
import { sameBits } from './engine-artifacts';
import { FLIP_TOL, TOL, TOL_Q8 } from './row-check';

const PROMPT = [11, 250, 3, 97, 300, 42, 7];
const format = (id: string) => WEIGHT_FORMATS.find((f) => f.id === id)!;

async function nativeLogits(dir: string, activations?: ActivationMode): Promise<Float32Array> {
  const m = await loadModel(dir, { threads: 1, activations });
  try {
    return (await m.newSession().forward(PROMPT)).logits;
  } finally {
    m.close();
  }
}

async function refRun(dir: string, activations: ActivationMode): Promise<{ logits: Float32Array; undetermined: number }> {
  const s = (await loadReferenceModel(dir, { activations })).newSession();
  const { logits } = await s.forward(PROMPT);
  return { logits, undetermined: s.firstUndetermined() };
}

test.each(['affine8-g32-float32', 'gdn8-speed4'])('%s: q8 and f32 native logits differ, by what the same switch moves the reference', async (id) => {
  const dir = await formatArtifact('qwen35-dense', format(id));
  const [q8, f32] = [await nativeLogits(dir, 'q8'), await nativeLogits(dir, 'f32')];
  const [rq8, rf32] = [await refRun(dir, 'q8'), await refRun(dir, 'f32')];
  const V = 384;
  expect(q8.length).toBe(PROMPT.length * V);
  const native = rowRelErr(q8, f32, V);
  const ref = rowRelErr(rq8.logits, rf32.logits, V);
  expect(native).toBeGreaterThan(1e-3);
  expect(native).toBeLessThan(FLIP_TOL);
  // Past the first undetermined q8 code the two engines' codes may differ by a step (row-check.ts), so
  // the gaps agree in size only; on rows the math determines they agree to the q8 tolerance.
  expect(native / ref).toBeGreaterThan(1 / 3);
  expect(native / ref).toBeLessThan(3);
  for (let r = 0; r < Math.min(PROMPT.length, rq8.undetermined); r++) {
    const row = (a: Float32Array) => a.subarray(r * V, (r + 1) * V);
    expect(Math.abs(rowRelErr(row(q8), row(f32)) - rowRelErr(row(rq8.logits), row(rf32.logits)))).toBeLessThan(TOL_Q8 + TOL);
  }
});

test('an unquantized artifact (bf16) gives bit-identical logits in both modes', async () => {
  const dir = await formatArtifact('qwen35-dense', format('none-bfloat16'));
  expect(sameBits(await nativeLogits(dir, 'q8'), await nativeLogits(dir, 'f32'))).toBe(true);
});

test("the load plan carries the mode ('q8' by default); MTPKIT_ACTIVATIONS sets the default, the option wins", async () => {
  const dir = await formatArtifact('qwen35-dense', format('affine4-g64-bfloat16'));
  expect((await buildLoadPlan(dir, 1)).plan.activations).toBe('q8');
  expect((await buildLoadPlan(dir, 1, 'f32')).plan.activations).toBe('f32');
  const f32 = await nativeLogits(dir, 'f32');
  try {
    process.env.MTPKIT_ACTIVATIONS = 'f32';
    expect(sameBits(await nativeLogits(dir), f32)).toBe(true);
    expect(sameBits(await nativeLogits(dir, 'q8'), f32)).toBe(false);
    process.env.MTPKIT_ACTIVATIONS = 'int8';
    await expect(nativeLogits(dir)).rejects.toThrow(/MTPKIT_ACTIVATIONS takes q8 or f32.*'int8'/);
  } finally {
    delete process.env.MTPKIT_ACTIVATIONS;
  }
  expect(sameBits(await nativeLogits(dir), await nativeLogits(dir, 'q8'))).toBe(true);
  const e = await loadModel(dir, { activations: 'fp16' as ActivationMode }).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(InputError);
  expect((e as InputError).exitCode).toBe(2);
  expect((e as Error).message).toMatch(/activations takes q8 or f32.*'fp16'/);
});
