/**
 * Issue 10 cases 4 and 5: a source or an artifact whose tensors disagree with its architecture's expected
 * set (missing, unexpected, wrong shape for the config) or whose config names an unknown architecture or
 * dtype is refused, naming the tensor / field; expected shapes come from test/support/expected-mlx.ts, an
 * implementation independent of src/.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runConvert } from '../../src/convert/pipeline';
import { validateArtifact } from '../../src/artifact/validate-artifact';
import { InputError } from '../../src/errors';
import { Checkpoint } from '../../src/safetensors/checkpoint';
import { SafetensorsFile } from '../../src/safetensors/reader';
import { convertOptions } from '../support/convert-options';
import { expectedMlxTensors } from '../support/expected-mlx';
import { addTensor, copyCheckpoint, dropTensors, editJsonFile, editTensors } from '../support/checkpoint-surgery';
import { runCli } from '../support/run-cli';

let tmp: string;
let n = 0;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-expected-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const fresh = (variant: string) => copyCheckpoint(variant, path.join(tmp, `${variant}-${n++}`));
const out = () => path.join(tmp, `out-${n++}`);

/** The InputError a conversion of `src` fails with (fails the test if it succeeds). */
async function convertError(src: string, extra = {}): Promise<InputError> {
  const o = out();
  const err = await runConvert(convertOptions(src, o, extra)).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(InputError);
  expect(fs.existsSync(o)).toBe(false);
  return err as InputError;
}

describe('case 4: the source must hold exactly the tensors of its architecture (plan time)', () => {
  test.each([
    ['qwen35-dense', 'model.language_model.layers.3.self_attn.q_proj.weight'],
    ['qwen35-dense', 'mtp.layers.0.mlp.down_proj.weight'],
    ['qwen35-dense-tied', 'model.language_model.layers.1.linear_attn.in_proj_a.weight'],
    ['qwen36-moe', 'model.language_model.layers.2.mlp.shared_expert_gate.weight'],
    ['qwen3-next', 'model.layers.0.linear_attn.in_proj_ba.weight'],
    ['qwen3-next', 'mtp.pre_fc_norm_hidden.weight'],
  ])('%s without %s (header and index) is refused naming it', async (variant, tensor) => {
    const src = fresh(variant);
    await dropTensors(src, tensor);
    const err = await convertError(src);
    expect(err.place.tensor).toBe(tensor);
    expect(err.message).toContain('missing tensor');
    // `plan` refuses it the same way, exit 2.
    const r = await runCli(['plan', src]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(tensor);
  });

  test('untied lm_head missing is refused; tied embeddings need none', async () => {
    const src = fresh('qwen35-dense');
    await dropTensors(src, 'lm_head.weight');
    expect((await convertError(src)).place.tensor).toBe('lm_head.weight');
  });

  test('a tensor the architecture has no place for is refused naming it', async () => {
    const src = fresh('qwen35-dense');
    // Layer 0 is a GDN layer: it has no self_attn.
    const stray = 'model.language_model.layers.0.self_attn.q_norm.weight';
    await addTensor(src, 'model.safetensors-00001-of-00001.safetensors', { spec: { name: stray, dtype: 'BF16', shape: [32] }, data: Buffer.alloc(64) });
    const err = await convertError(src);
    expect(err.place.tensor).toBe(stray);
    expect(err.message).toContain('unexpected tensor');
  });

  test.each([[2], [0]])('a config declaring %d MTP layers while the head has 1 is refused naming the field', async (layers) => {
    const src = fresh('qwen35-dense');
    editJsonFile(src, 'config.json', (c) => (c.text_config.mtp_num_hidden_layers = layers));
    const err = await convertError(src);
    expect(err.place.field).toBe('text_config.mtp_num_hidden_layers');
    expect(err.message).toContain(`declares ${layers} MTP layer(s) but the checkpoint's mtp.* tensors hold 1`);
    // --mtp drop converts it without the head.
    if (layers === 0) await runConvert(convertOptions(src, out(), { mtp: 'drop' }));
  });

  test('graft: an MTP source missing one head tensor is refused', async () => {
    const src = fresh('qwen35-dense');
    await dropTensors(src, 'mtp.fc.weight');
    const trunk = path.join(tmp, `trunk-${n++}`);
    await runConvert(convertOptions(path.join(__dirname, '..', '..', 'fixtures', 'qwen35-dense'), trunk, { mtp: 'drop', policy: { spec: 'uniform' } }));
    const r = await runCli(['graft', trunk, src, out()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("tensor 'mtp.fc.weight'");
  });
});

test('graft: a trunk missing one q_proj is refused before anything is linked', async () => {
  const trunk = path.join(tmp, `trunk-${n++}`);
  await runConvert(convertOptions(path.join(__dirname, '..', '..', 'fixtures', 'qwen35-dense'), trunk, { mtp: 'drop', policy: { spec: 'uniform' } }));
  const m = 'language_model.model.layers.3.self_attn.q_proj';
  await dropTensors(trunk, `${m}.weight`, `${m}.scales`, `${m}.biases`);
  const dest = out();
  const r = await runCli(['graft', trunk, path.join(__dirname, '..', '..', 'fixtures', 'qwen35-dense'), dest]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`'${m}.weight'`);
  expect(r.stderr).toContain('not a complete qwen3_5 model');
  expect(fs.existsSync(dest)).toBe(false);
});

describe('case 5: shapes against the config, architectures and dtypes (plan time)', () => {
  test('hidden_size 128 with 64-wide tensors: refused naming a tensor, its shape and the implied one', async () => {
    const src = fresh('qwen35-dense');
    editJsonFile(src, 'config.json', (c) => (c.text_config.hidden_size = 128));
    const err = await convertError(src);
    const m = /shape \[([\d, ]+)\].* implies \[([\d, ]+)\]/.exec(err.message);
    expect(m).not.toBeNull();
    // The named tensor's real shape, and the shape an independent reading of the edited config implies.
    const ck = await Checkpoint.open(src);
    const config = (await ck.readJson<Record<string, unknown>>('config.json'))!;
    const actual = ck.tensors.get(err.place.tensor!)!.shape;
    await ck.close();
    const mlx = err.place.tensor!.replace(/^model\.language_model\./, 'language_model.model.').replace(/^mtp\./, 'language_model.mtp.').replace(/^lm_head/, 'language_model.lm_head');
    const implied = expectedMlxTensors(config).find((e) => e.name === mlx)!.shape;
    expect(m![1]).toBe(actual.join(', '));
    expect(m![2]).toBe(implied.join(', '));
    expect(actual).not.toEqual(implied);
  });

  test('a transposed down_proj is refused naming tensor, expected and actual shape', async () => {
    const src = fresh('qwen35-dense');
    const t = 'model.language_model.layers.0.mlp.down_proj.weight';
    await editTensors(src, (e) => (e.spec.name === t ? { ...e, spec: { ...e.spec, shape: [...e.spec.shape].reverse() } } : e));
    const err = await convertError(src);
    expect(err.place.tensor).toBe(t);
    expect(err.message).toContain('shape [128, 64]');
    expect(err.message).toContain('implies [64, 128]');
  });

  test.each([
    ['model_type', (c: any) => (c.model_type = 'llama')],
    ['text_config.model_type', (c: any) => (c.text_config.model_type = 'llama')],
    // Top level says qwen3_next, text_config says qwen3_5_text: the second one is named as the contradiction.
    ['text_config.model_type', (c: any) => (c.model_type = 'qwen3_next')],
  ])('an unknown or contradictory %s is refused', async (field, edit) => {
    const src = fresh('qwen35-dense');
    editJsonFile(src, 'config.json', edit);
    const err = await convertError(src);
    expect(err.place.field).toBe(field);
  });

  test.each([
    ['text_config.dtype', (c: any) => (c.text_config.dtype = 'float8')],
    ['torch_dtype', (c: any) => (c.torch_dtype = 'banana')],
    ['text_config.dtype', (c: any) => (c.text_config.dtype = 16)],
  ])('an invalid %s is refused', async (field, edit) => {
    const src = fresh('qwen35-dense');
    editJsonFile(src, 'config.json', edit);
    const err = await convertError(src);
    expect(err.place.field).toBe(field);
    expect(err.message).toContain('invalid dtype');
  });
});

describe('cases 4 and 5: validate checks the same on the artifact', () => {
  let quantized: string;
  let plain: string;
  beforeAll(async () => {
    quantized = path.join(tmp, 'artifact-q');
    plain = path.join(tmp, 'artifact-none');
    await runConvert(convertOptions(path.join(__dirname, '..', '..', 'fixtures', 'qwen35-dense'), quantized, { policy: { spec: 'gdn8-speed4' } }));
    await runConvert(convertOptions(path.join(__dirname, '..', '..', 'fixtures', 'qwen35-dense'), plain));
  });
  const copy = (dir: string) => copyCheckpoint(dir, path.join(tmp, `copy-${n++}`));

  test('the converted artifacts validate clean', async () => {
    for (const dir of [quantized, plain]) expect((await validateArtifact(dir)).problems).toEqual([]);
  });

  test('a trunk missing one q_proj (weight, scales, biases) is a problem naming it', async () => {
    const dir = copy(quantized);
    const m = 'language_model.model.layers.3.self_attn.q_proj';
    await dropTensors(dir, `${m}.weight`, `${m}.scales`, `${m}.biases`);
    const r = await validateArtifact(dir, { normCheck: false });
    expect(r.ok).toBe(false);
    expect(r.problems.some((p) => p.includes(`'${m}.weight'`) && p.includes('missing'))).toBe(true);
  });

  test('a trunk tensor the architecture has no place for is a problem naming it', async () => {
    const dir = copy(plain);
    const stray = 'language_model.model.layers.0.self_attn.k_norm.weight';
    await addTensor(dir, 'model.safetensors', { spec: { name: stray, dtype: 'BF16', shape: [32] }, data: Buffer.alloc(64) });
    const r = await validateArtifact(dir, { normCheck: false });
    expect(r.problems.some((p) => p.includes(stray) && p.includes('no place'))).toBe(true);
  });

  test('hidden_size 128 in config.json with 64-wide tensors is a problem naming tensors and shapes', async () => {
    const dir = copy(plain);
    editJsonFile(dir, 'config.json', (c) => (c.text_config.hidden_size = 128));
    const r = await validateArtifact(dir, { normCheck: false });
    expect(r.ok).toBe(false);
    expect(r.problems).toContainEqual(expect.stringContaining("tensor 'language_model.model.layers.0.mlp.down_proj.weight': shape [64, 128] disagrees with config.json, which implies [128, 128]"));
  });

  test('a transposed down_proj is a problem naming tensor, expected and actual shape (plain and packed)', async () => {
    for (const dir of [copy(plain), copy(quantized)]) {
      const t = 'language_model.model.layers.0.mlp.down_proj.weight';
      let stored: number[] = [];
      await editTensors(dir, (e) => {
        if (e.spec.name !== t) return e;
        // The same bytes read as [in, out]: a transposed matrix (packed: the same number of u32 words).
        const [rows, cols] = e.spec.shape;
        stored = e.spec.dtype === 'U32' ? [128, (rows * cols) / 128] : [cols, rows];
        return { ...e, spec: { ...e.spec, shape: stored } };
      });
      const r = await validateArtifact(dir, { normCheck: false });
      expect(r.problems.some((p) => p.includes(`tensor '${t}': shape [${stored.join(', ')}]`) && /implies \[64, \d+\]/.test(p))).toBe(true);
    }
  });
});

describe('a MoE config without shared_expert_intermediate_size: one default (the family profile, as mlx-lm) for trunk and head', () => {
  const sharedNames = (dir: string) =>
    Object.keys(JSON.parse(fs.readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8')).weight_map).filter((k) => k.includes('shared_expert'));

  test('qwen3_5_moe: mlx-lm reads it as 0, so a checkpoint without shared experts converts, head included, and validates', async () => {
    const src = fresh('qwen36-moe');
    editJsonFile(src, 'config.json', (c) => delete c.text_config.shared_expert_intermediate_size);
    const shared = sharedNames(src);
    expect(shared.filter((k) => k.startsWith('mtp.'))).toHaveLength(4);
    await dropTensors(src, ...shared);
    const o = out();
    await runConvert(convertOptions(src, o));
    const r = await validateArtifact(o, { normCheck: false });
    expect(r.problems).toEqual([]);
    expect(r.mtp.layout).toBe('sidecar');
    const sidecar = await SafetensorsFile.open(path.join(o, 'mtp.safetensors'));
    const names = [...sidecar.tensors.keys()];
    await sidecar.close();
    expect(names.filter((k) => k.includes('shared_expert'))).toEqual([]);
    expect(names.some((k) => k.includes('switch_mlp'))).toBe(true);
  });

  test('qwen3_5_moe: the same config with the shared-expert tensors still present is refused naming one (trunk and head agree)', async () => {
    const src = fresh('qwen36-moe');
    editJsonFile(src, 'config.json', (c) => delete c.text_config.shared_expert_intermediate_size);
    const err = await convertError(src);
    expect(err.message).toContain('unexpected tensor');
    expect(err.place.tensor).toMatch(/shared_expert/);
  });

  test('qwen3_next: mlx-lm has no default, so the field is required (convert and validate name it)', async () => {
    const src = fresh('qwen3-next');
    editJsonFile(src, 'config.json', (c) => delete c.shared_expert_intermediate_size);
    const err = await convertError(src);
    expect(err.place.field).toBe('shared_expert_intermediate_size');
    const art = out();
    await runConvert(convertOptions(fresh('qwen3-next'), art));
    editJsonFile(art, 'config.json', (c) => delete c.shared_expert_intermediate_size);
    const r = await validateArtifact(art, { normCheck: false });
    expect(r.problems.some((p) => p.includes('shared_expert_intermediate_size') && p.includes('no default'))).toBe(true);
  });
});
