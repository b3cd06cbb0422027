/**
 * Issue 10, fidelity (graft) and safety (no local paths): a graft records its trunk (where from, its
 * quantization, content hash) and pairs it with the head; published files never carry local paths or
 * user names, only folder base names and the sha256 of the files.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import { runConvert } from '../../src/convert/pipeline';
import { runGraft } from '../../src/convert/graft';
import { validateArtifact } from '../../src/artifact/validate-artifact';
import { Checkpoint } from '../../src/safetensors/checkpoint';
import { tensorBytes } from '../../src/safetensors/types';
import { convertOptions } from '../support/convert-options';

const FIX = path.join(__dirname, '..', '..', 'fixtures');
const USER = 'alice-private';
let tmp: string;
let home: string;
let src: string;
let trunk: string;
let grafted: string;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-graft-record-'));
  home = path.join(tmp, 'home', USER);
  src = path.join(home, 'models', 'qwen35-dense');
  fs.cpSync(path.join(FIX, 'qwen35-dense'), src, { recursive: true });
  trunk = path.join(home, 'work', 'trunk-4bit');
  await runConvert(convertOptions(src, trunk, { mtp: 'drop', policy: { spec: 'uniform', bits: 4, groupSize: 64 } }));
  grafted = path.join(home, 'out', 'grafted');
  await runGraft({ trunk, mtpSource: src, out: grafted, force: false, rounding: 'metal', policy: { spec: 'body-int4' } });
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
const json = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8'));

test('no published text file of a convert or a graft names a local path or the user', async () => {
  const converted = path.join(home, 'out', 'converted');
  await runConvert(convertOptions(src, converted, { policy: { spec: 'gdn8-speed4' } }));
  for (const dir of [converted, grafted]) {
    for (const f of fs.readdirSync(dir).filter((n) => !n.endsWith('.safetensors'))) {
      const text = fs.readFileSync(path.join(dir, f), 'utf8');
      expect({ f, leaks: text.includes(USER) || text.includes(tmp) || text.includes(os.homedir() + '/') }).toEqual({ f, leaks: false });
    }
    const prov = json(path.join(dir, 'mtplx_runtime.json')).mtpkit_provenance;
    expect(prov.source).toEqual({ name: 'qwen35-dense' });
    // The local source is identified by its files' sha256, computed here independently.
    for (const c of prov.input_checksums) expect(c.sha256).toBe(sha(path.join(src, c.file)));
  }
  const card = fs.readFileSync(path.join(converted, 'README.md'), 'utf8');
  expect(card).toContain('local folder `qwen35-dense`');
  expect(card).toContain(sha(path.join(src, 'model.safetensors-00001-of-00001.safetensors')));
});

test('graft records the trunk (name, quantization, bits per weight, content hash) and pairs it with the head', async () => {
  const c = json(path.join(grafted, 'mtplx_runtime.json'));
  expect(c.artifact_role).toBe('mtpkit-graft');
  expect(c.base_trunk).toBe('trunk-4bit');
  const g = c.mtpkit_provenance.graft;
  const trunkCfg = json(path.join(trunk, 'config.json'));
  expect(g.trunk).toMatchObject({ name: 'trunk-4bit', quantization: { bits: trunkCfg.quantization.bits, group_size: trunkCfg.quantization.group_size, mode: 'affine' } });
  expect(g.trunk.files).toEqual([{ file: 'model.safetensors', sha256: sha(path.join(trunk, 'model.safetensors')) }]);
  const lines = `${sha(path.join(trunk, 'model.safetensors'))}  model.safetensors\n`;
  expect(g.trunk.content_sha256).toBe(createHash('sha256').update(lines).digest('hex'));
  expect(g.head).toEqual({ source: { name: 'qwen35-dense' }, file: 'mtp.safetensors', sha256: sha(path.join(grafted, 'mtp.safetensors')) });
  // Bits per weight of the trunk: stored bytes * 8 / mlx-lm's total_parameters from the trunk's index.
  const ck = await Checkpoint.open(trunk);
  const bytes = [...ck.tensors.values()].reduce((a, t) => a + tensorBytes(t.dtype, t.shape), 0);
  await ck.close();
  const params = json(path.join(trunk, 'model.safetensors.index.json')).metadata.total_parameters;
  expect(g.trunk.bits_per_weight).toBeCloseTo((bytes * 8) / params, 3);
  const card = fs.readFileSync(path.join(grafted, 'README.md'), 'utf8');
  expect(card).toContain('- Trunk: local folder `trunk-4bit`, quantization affine 4-bit g64');
  expect(card).toContain(g.trunk.content_sha256);
  expect(card).not.toMatch(/\| trunk \| 0\.000 \|/);
  expect((await validateArtifact(grafted)).info.join('\n')).toContain('the pair the graft recorded');
});

test('graft summary: trunk bits per weight measured (never 0.000), also without total_parameters in the index', async () => {
  const noTotal = path.join(tmp, 'trunk-no-total');
  fs.cpSync(trunk, noTotal, { recursive: true });
  const idx = path.join(noTotal, 'model.safetensors.index.json');
  const index = json(idx);
  const params = index.metadata.total_parameters;
  delete index.metadata.total_parameters;
  fs.writeFileSync(idx, JSON.stringify(index));
  const a = await runGraft({ trunk, mtpSource: src, out: path.join(tmp, 'g1'), force: false, rounding: 'metal', policy: { spec: 'body-int4' } });
  const b = await runGraft({ trunk: noTotal, mtpSource: src, out: path.join(tmp, 'g2'), force: false, rounding: 'metal', policy: { spec: 'body-int4' } });
  expect(a.bitsPerWeight.trunk).toBeGreaterThan(4);
  // Counting parameters from the packed tensors gives mlx-lm's total_parameters.
  expect(b.bitsPerWeight.trunk).toBeCloseTo(a.bitsPerWeight.trunk, 9);
  expect(params).toBeGreaterThan(0);
});

test('a grafted head moved onto another trunk is caught: not the recorded pair', async () => {
  const other = path.join(tmp, 'other-trunk');
  await runConvert(convertOptions(src, other, { mtp: 'drop', policy: { spec: 'uniform', bits: 8, groupSize: 64 } }));
  const moved = path.join(tmp, 'moved');
  fs.cpSync(grafted, moved, { recursive: true });
  fs.copyFileSync(path.join(other, 'model.safetensors'), path.join(moved, 'model.safetensors'));
  const r = await validateArtifact(moved);
  expect(r.problems.join('\n')).toMatch(/the MTP head was grafted onto trunk [0-9a-f]{12}…, but these trunk files hash to [0-9a-f]{12}…: head and trunk are not the recorded pair/);
});

test('validate warns (exit 0) about a contract that still records an absolute local path', async () => {
  const dir = path.join(tmp, 'old-style');
  fs.cpSync(grafted, dir, { recursive: true });
  const file = path.join(dir, 'mtplx_runtime.json');
  const c = json(file);
  c.mtpkit_provenance.source = { path: src };
  fs.writeFileSync(file, JSON.stringify(c, null, 2));
  const r = await validateArtifact(dir);
  expect(r.ok).toBe(true);
  expect(r.warnings.join('\n')).toContain(`source.path is a local absolute path ('${src}')`);
});
