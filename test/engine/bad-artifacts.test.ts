/** Bad artifacts and bad input give InputErrors (exit 2) naming the tensor or field, before native code runs. */
import * as fs from 'fs';
import * as path from 'path';
import { InputError } from '../../src/errors';
import { loadModel } from '../../src/runtime/engine/load-model';
import { convertFixture, copyArtifact, dropTensor, editConfig, tempDir } from './engine-artifacts';

const tmp = tempDir('bad');
let good: string;
let n = 0;

beforeAll(async () => {
  good = await convertFixture(tmp, 'qwen35-dense', { policy: { spec: 'gdn8-speed4' } } as never);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function copy(): string {
  return copyArtifact(good, path.join(tmp, `bad-${n++}`));
}

async function loadError(dir: string): Promise<InputError> {
  const e = await loadModel(dir, { threads: 1 }).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(InputError);
  expect((e as InputError).exitCode).toBe(2);
  return e as InputError;
}

test('a missing trunk tensor is named', async () => {
  const dir = copy();
  await dropTensor(dir, 'model.safetensors', 'language_model.model.layers.2.linear_attn.A_log');
  const e = await loadError(dir);
  expect(e.message).toMatch(/missing tensor 'layers\.2\.linear_attn\.A_log'/);
});

test('a missing MTP sidecar tensor is named', async () => {
  const dir = copy();
  await dropTensor(dir, 'mtp.safetensors', 'mtp.layers.0.self_attn.k_norm.weight');
  const e = await loadError(dir);
  expect(e.message).toMatch(/mtp\.layers\.0\.self_attn\.k_norm\.weight/);
  expect(e.place.file).toMatch(/mtp\.safetensors$/);
});

test('a shape that disagrees with the config is named with both shapes', async () => {
  const dir = copy();
  editConfig(dir, (c) => {
    c.text_config.intermediate_size = 192;
  });
  const e = await loadError(dir);
  expect(e.place.tensor).toBe('language_model.model.layers.0.mlp.gate_proj.weight');
  expect(e.message).toMatch(/192/);
});

test('a quantization block that disagrees with the stored shapes is named', async () => {
  const dir = copy();
  editConfig(dir, (c) => {
    c.quantization.bits = 8;
    c.quantization_config.bits = 8;
  });
  const e = await loadError(dir);
  expect(e.message).toMatch(/affine 8\/64 from quantization/);
  expect(e.place.tensor).toMatch(/\.weight$/);
});

test('a module the quantization block marks unquantized but stored with scales is refused', async () => {
  const dir = copy();
  editConfig(dir, (c) => {
    c.quantization['language_model.model.layers.3.self_attn.k_proj'] = false;
  });
  const e = await loadError(dir);
  expect(e.place.tensor).toBe('language_model.model.layers.3.self_attn.k_proj.weight');
});

test('an unsupported architecture names model_type', async () => {
  const dir = copy();
  editConfig(dir, (c) => {
    c.model_type = 'llama';
    c.architectures = ['LlamaForCausalLM'];
  });
  const e = await loadError(dir);
  expect(e.place.field).toBe('model_type');
  expect(e.message).toMatch(/unsupported architecture/);
});

test('a folder without config.json, and a path that is neither folder nor repo', async () => {
  const empty = path.join(tmp, 'empty');
  fs.mkdirSync(empty);
  expect((await loadError(empty)).message).toMatch(/config\.json/);
  expect((await loadError(path.join(tmp, 'no-such-dir'))).message).toMatch(/not a Hub repo/);
});

test('token ids out of range and empty input are InputErrors; the session stays usable', async () => {
  const model = await loadModel(good, { threads: 1 });
  const s = model.newSession();
  await expect(s.forward([1, 384])).rejects.toThrow(/token id 384 \(at index 1\) is out of range \[0, 384\)/);
  await expect(s.forward([-1])).rejects.toBeInstanceOf(InputError);
  await expect(s.forward([])).rejects.toBeInstanceOf(InputError);
  await expect(s.forward([1.5])).rejects.toBeInstanceOf(InputError);
  expect(s.position).toBe(0);
  await expect(s.mtpForward(new Float32Array(10), [1])).rejects.toThrow(/expected 1 rows of 64/);
  expect((await s.forward([1, 2])).logits.length).toBe(2 * 384);
  expect(() => s.rollback(0)).toThrow(/cannot roll back/);
  model.close();
  expect(() => model.newSession()).toThrow(/closed/);
});

test('the context limit is enforced without corrupting the session', async () => {
  const model = await loadModel(good, { threads: 1 });
  const s = model.newSession({ maxContext: 4 });
  await s.forward([1, 2, 3]);
  await expect(s.forward([4, 5])).rejects.toThrow(/context full/);
  expect(s.position).toBe(3);
  await s.forward([4]);
  model.close();
});

test.each(['qwen35-dense', 'qwen3-next'])('a raw Hugging Face checkpoint (%s) points at mtpkit convert', async (variant) => {
  const e = await loadError(path.join(__dirname, '..', '..', 'fixtures', variant));
  expect(e.message).toMatch(/Hugging Face checkpoint layout.*mtpkit convert/);
});

test("the sidecar's mtplx_mtp_quantization specs are read per module, and checked against the packed shapes", async () => {
  const dir = copy();
  editConfig(dir, (c) => {
    c.mtplx_mtp_quantization.modules['mtp.layers.0.mlp.down_proj'].bits = 8;
  });
  const e = await loadError(dir);
  expect(e.place.tensor).toBe('mtp.layers.0.mlp.down_proj.weight');
  expect(e.message).toMatch(/mtplx_mtp_quantization\.modules\['mtp\.layers\.0\.mlp\.down_proj'\]/);
});
