/**
 * Issue 10 case 6: `--override` may not drop tensors the architecture needs, and an override that matches
 * nothing, never decides anything, or cannot apply is refused; one that applies in part is reported.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Checkpoint } from '../../src/safetensors/checkpoint';
import { buildConversionPlan, type PlanOptions } from '../../src/convert/conversion-plan';
import { InputError } from '../../src/errors';
import { runCli } from '../support/run-cli';

const FIX = path.join(__dirname, '..', '..', 'fixtures');
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-overrides-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function plan(variant: string, overrides: string[], extra: Partial<PlanOptions> = {}) {
  const ck = await Checkpoint.open(path.join(FIX, variant));
  try {
    const config = await ck.readJson<Record<string, unknown>>('config.json');
    return buildConversionPlan(variant, config, ck.tensors, { vision: 'drop', mtp: 'keep', policy: { spec: 'gdn8-speed4', overrides }, ...extra });
  } finally {
    await ck.close();
  }
}

async function planError(variant: string, overrides: string[], extra: Partial<PlanOptions> = {}): Promise<InputError> {
  const err = await plan(variant, overrides, extra).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(InputError);
  return err as InputError;
}

test("role:attention=drop is refused (exit 2, nothing written), naming a dropped attention tensor", async () => {
  const out = path.join(tmp, 'no-attention');
  const r = await runCli(['convert', path.join(FIX, 'qwen35-dense'), out, '--policy', 'none', '--override', 'role:attention=drop']);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/tensor 'language_model\.(model\.layers\.3|mtp\.layers\.0)\.self_attn\.[qkvo]_proj\.weight'/);
  expect(r.stderr).toContain('needs it');
  expect(fs.existsSync(out)).toBe(false);
});

test('dropping part of the MTP head is refused and points at --mtp drop', async () => {
  const err = await planError('qwen35-dense', ['mtp.fc=drop']);
  expect(err.place.tensor).toBe('language_model.mtp.fc.weight');
  expect(err.message).toContain('--mtp drop');
});

test('vision tensors may be dropped by a rule', async () => {
  const p = await plan('qwen35-dense', ['role:vision=drop'], { vision: 'keep' });
  const vision = p.tensors.filter((t) => t.group === 'vision');
  expect(vision.length).toBeGreaterThan(0);
  expect(vision.every((t) => t.quant?.action === 'drop')).toBe(true);
});

test.each([
  ['role:experts=q8', 'qwen35-dense', 'matches no tensor'],
  ['path:language_model.model.layers.*.mlp.down_projj=q8', 'qwen35-dense', 'matches no tensor'],
  ['layers:40-50,role:mlp=q8', 'qwen3-next', 'matches no tensor'],
  ['role:norm=q4', 'qwen35-dense', 'cannot apply'],
])('%s on %s: refused (%s)', async (override, variant, why) => {
  const err = await planError(variant, [override]);
  expect(err.message).toContain(`--override '${override}'`);
  expect(err.message).toContain(why);
});

test('an override shadowed by an earlier one on every tensor is refused, naming the winner', async () => {
  const err = await planError('qwen35-dense', ['path:**.down_proj=q4', 'path:language_model.model.layers.*.mlp.down_proj=q8']);
  expect(err.message).toContain("--override 'path:language_model.model.layers.*.mlp.down_proj=q8'");
  expect(err.message).toContain('--override[0]');
});

test('an override that applies to only part of what it selects is reported, and the rest is done', async () => {
  const p = await plan('qwen35-dense', ['mtp:true=q4']);
  const note = p.reports.find((r) => r.includes("--override 'mtp:true=q4'"));
  expect(note).toMatch(/applies to 8 of the 15 tensors/);
  // Independent count: the dense head has 8 linears (fc + 4 attention + 3 MLP) and 7 norms.
  const head = p.tensors.filter((t) => t.group === 'mtp');
  expect(head.filter((t) => t.quant?.action === 'quantize' && t.quant.bits === 4)).toHaveLength(8);
  expect(head).toHaveLength(15);
});
