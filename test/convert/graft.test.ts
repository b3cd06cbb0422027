/** Issue 5: graft an MTP head from an original (raw HF) checkpoint onto an MLX trunk without one. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runConvert } from '../../src/convert/pipeline';
import { runGraft, type GraftOptions } from '../../src/convert/graft';
import { Checkpoint } from '../../src/safetensors/checkpoint';
import { validateArtifact } from '../../src/artifact/validate-artifact';
import { bf16PlusOne } from '../support/expected-mlx';

const FIX = path.join(__dirname, '..', '..', 'fixtures');
let tmp: string;
let trunk: string;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-graft-'));
  trunk = path.join(tmp, 'trunk');
  // A trunk "converted elsewhere without its head": mtp dropped, mtp_num_hidden_layers 0.
  await runConvert({ source: path.join(FIX, 'qwen35-dense'), out: trunk, force: false, rounding: 'metal', vision: 'drop', mtp: 'drop', policy: { spec: 'none' } });
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const graftOpts = (out: string, extra: Partial<GraftOptions> = {}): GraftOptions => ({
  trunk,
  mtpSource: path.join(FIX, 'qwen35-dense'),
  out,
  force: false,
  rounding: 'metal',
  policy: { spec: 'none' },
  ...extra,
});
const u16 = (b: Buffer) => Array.from({ length: b.length / 2 }, (_, i) => b.readUInt16LE(i * 2));

test('graft links the trunk unchanged and adds a sidecar with shifted norms; the result validates', async () => {
  const out = path.join(tmp, 'grafted');
  const trunkBefore = fs.readFileSync(path.join(trunk, 'model.safetensors'));
  await runGraft(graftOpts(out));
  expect(fs.readFileSync(path.join(trunk, 'model.safetensors')).equals(trunkBefore)).toBe(true);
  expect(fs.readFileSync(path.join(out, 'model.safetensors')).equals(trunkBefore)).toBe(true);
  const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
  expect(cfg.text_config.mtp_num_hidden_layers).toBe(1);
  expect(cfg.mlx_lm_extra_tensors).toEqual({ mtp_file: 'mtp.safetensors', mtp_tensor_count: 15 });
  const trunkCfg = JSON.parse(fs.readFileSync(path.join(trunk, 'config.json'), 'utf8'));
  expect(trunkCfg.text_config.mtp_num_hidden_layers).toBe(0); // source never modified

  const side = await Checkpoint.openFiles(out, ['mtp.safetensors']);
  const src = await Checkpoint.open(path.join(FIX, 'qwen35-dense'));
  try {
    // The source is raw HF: the head's norms get +1 although no conv1d is among the grafted tensors.
    const got = u16(await side.readTensor('mtp.pre_fc_norm_hidden.weight'));
    const raw = u16(await src.readTensor('mtp.pre_fc_norm_hidden.weight'));
    expect(got).toEqual(raw.map(bf16PlusOne));
    expect((await side.readTensor('mtp.fc.weight')).equals(await src.readTensor('mtp.fc.weight'))).toBe(true);
  } finally {
    await side.close();
    await src.close();
  }
  const contract = JSON.parse(fs.readFileSync(path.join(out, 'mtplx_runtime.json'), 'utf8'));
  expect(contract.base_trunk).toBe(path.basename(trunk)); // the folder's name, never a local path
  const report = await validateArtifact(out);
  expect(report.problems).toEqual([]);
});

test('graft from an already-converted source does not shift again', async () => {
  const converted = path.join(tmp, 'converted-with-head');
  await runConvert({ source: path.join(FIX, 'qwen35-dense'), out: converted, force: false, rounding: 'metal', vision: 'drop', mtp: 'keep', policy: { spec: 'none' } });
  const out = path.join(tmp, 'grafted-from-mlx');
  await runGraft(graftOpts(out, { mtpSource: converted }));
  const a = await Checkpoint.openFiles(out, ['mtp.safetensors']);
  const b = await Checkpoint.openFiles(converted, ['mtp.safetensors']);
  for (const name of a.tensors.keys()) expect((await a.readTensor(name)).equals(await b.readTensor(name))).toBe(true);
  await a.close();
  await b.close();
});

test('mismatched checkpoints are refused with the field and both sources named', async () => {
  await expect(runGraft(graftOpts(path.join(tmp, 'bad'), { mtpSource: path.join(FIX, 'qwen35-dense-tied') }))).rejects.toThrow(
    /trunk and MTP source differ: .*(hidden_size|vocab_size|tie_word_embeddings|num_hidden_layers)/,
  );
  expect(fs.existsSync(path.join(tmp, 'bad'))).toBe(false);
});

test('a trunk that already has a head is refused', async () => {
  await expect(runGraft(graftOpts(path.join(tmp, 'bad2'), { trunk: path.join(FIX, 'qwen35-dense') }))).rejects.toThrow(/already has an MTP head/);
});

test('graft onto a quantized trunk (a "community 4-bit" conversion without its head) with body-int4', async () => {
  const q4 = path.join(tmp, 'trunk-4bit');
  await runConvert({ source: path.join(FIX, 'qwen35-dense'), out: q4, force: false, rounding: 'metal', vision: 'drop', mtp: 'drop', policy: { spec: 'uniform' } });
  const out = path.join(tmp, 'grafted-4bit');
  await runGraft(graftOpts(out, { trunk: q4, policy: { spec: 'body-int4' } }));
  const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
  const trunkCfg = JSON.parse(fs.readFileSync(path.join(q4, 'config.json'), 'utf8'));
  expect(cfg.quantization).toEqual(trunkCfg.quantization); // the trunk's block is kept as is
  expect(cfg.mtplx_mtp_quantization).toMatchObject({ bits: 4, group_size: 64, policy: 'cyankiwi' });
  const side = await Checkpoint.openFiles(out, ['mtp.safetensors']);
  expect(side.tensors.size).toBe(29);
  await side.close();
  expect((await validateArtifact(out)).problems).toEqual([]);
});
