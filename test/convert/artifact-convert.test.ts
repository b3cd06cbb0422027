/** Issue 5: complete artifacts from `convert` — sidecar/inline layouts, config keys, contract, card, validate. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runConvert } from '../../src/convert/pipeline';
import { Checkpoint } from '../../src/safetensors/checkpoint';
import { validateArtifact } from '../../src/artifact/validate-artifact';
import { validateRuntimeContract } from '../../src/artifact/contract';
import { sha256File } from '../../src/checksum/checksums';
import { convertOptions } from '../support/convert-options';

const FIX = path.join(__dirname, '..', '..', 'fixtures');
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-artifact-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const opts = convertOptions;

test('sidecar layout: mtp.* keys in mtp.safetensors, none in the trunk, config and contract point at it', async () => {
  const out = path.join(tmp, 'sidecar');
  await runConvert(opts(path.join(FIX, 'qwen35-dense'), out));
  const trunk = await Checkpoint.open(out);
  expect([...trunk.tensors.keys()].filter((n) => n.includes('mtp.'))).toEqual([]);
  await trunk.close();
  const side = await Checkpoint.openFiles(out, ['mtp.safetensors']);
  const names = [...side.tensors.keys()];
  expect(names).toHaveLength(15);
  expect(names.every((n) => n.startsWith('mtp.'))).toBe(true);
  expect(side.metadataByShard.get('mtp.safetensors')).toEqual({ format: 'mlx' });
  await side.close();
  const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
  expect(cfg.mlx_lm_extra_tensors).toEqual({ mtp_file: 'mtp.safetensors', mtp_tensor_count: 15 });
  const index = JSON.parse(fs.readFileSync(path.join(out, 'model.safetensors.index.json'), 'utf8'));
  expect(Object.values(index.weight_map)).not.toContain('mtp.safetensors');

  const contract = JSON.parse(fs.readFileSync(path.join(out, 'mtplx_runtime.json'), 'utf8'));
  expect(validateRuntimeContract(contract, 'mtplx_runtime.json')).toEqual([]);
  expect(contract.arch_id).toBe('qwen3-next-mtp');
  expect(contract.exactness_baseline.status).toMatch(/^pending_/);
  // Output checksums in the contract are the real files' sha256.
  for (const c of contract.mtpkit_provenance.output_checksums) {
    expect((await sha256File(path.join(out, c.file))).sha256).toBe(c.sha256);
  }
  const report = await validateArtifact(out);
  expect(report.problems).toEqual([]);
  expect(report.mtp).toMatchObject({ layout: 'sidecar', tensors: 15 });
  const card = fs.readFileSync(path.join(out, 'README.md'), 'utf8');
  expect(card).toMatch(/^---\n[\s\S]*library_name: mlx[\s\S]*---/);
});

test('a sidecar artifact reconverts to identical bytes (the head is read with the trunk)', async () => {
  const out = path.join(tmp, 'sidecar');
  const again = path.join(tmp, 'sidecar-again');
  await runConvert(opts(out, again));
  for (const f of ['model.safetensors', 'mtp.safetensors']) {
    expect(fs.readFileSync(path.join(again, f)).equals(fs.readFileSync(path.join(out, f)))).toBe(true);
  }
});

test('inline layout keeps language_model.mtp.* in the trunk and validates', async () => {
  const out = path.join(tmp, 'inline');
  await runConvert(opts(path.join(FIX, 'qwen35-moe'), out, { mtpLayout: 'inline' }));
  expect(fs.existsSync(path.join(out, 'mtp.safetensors'))).toBe(false);
  const ck = await Checkpoint.open(out);
  expect([...ck.tensors.keys()].some((n) => n.startsWith('language_model.mtp.'))).toBe(true);
  await ck.close();
  const report = await validateArtifact(out);
  expect(report.problems).toEqual([]);
});
