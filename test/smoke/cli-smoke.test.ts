/** `mtpkit smoke`, `convert --smoke` and `graft --smoke` end to end on planted checkpoints. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generatePlantedCheckpoint } from '../../fixtures/generator/planted';
import { runCli } from '../support/run-cli';

let root: string;
beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-smoke-cli-'));
  await generatePlantedCheckpoint(path.join(root, 'src'), { variant: 'qwen35-dense', seed: 7 });
  await generatePlantedCheckpoint(path.join(root, 'other'), { variant: 'qwen35-dense', seed: 99 });
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const contractOf = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'mtplx_runtime.json'), 'utf8'));

test('convert --smoke records a passing contract (and the activation mode); smoke --json prints one document; bad depths or mode exit 2', async () => {
  const art = path.join(root, 'art');
  const r = await runCli(['convert', path.join(root, 'src'), art, '--policy', 'uniform', '--smoke', '--smoke-max-tokens', '8', '--threads', '1', '--json']);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout).smoke.status).toBe('passed');
  expect(contractOf(art).exactness_baseline.status).toBe('passed');
  expect(contractOf(art).verified_on.activations).toBe('q8');
  expect(fs.readFileSync(path.join(art, 'README.md'), 'utf8')).toMatch(/q8 activations/);

  const s = await runCli(['smoke', art, '--max-tokens', '8', '--depths', '2,1', '--threads', '1', '--json', '--no-write', '--activations', 'f32']);
  expect(s.code).toBe(0);
  const doc = JSON.parse(s.stdout);
  expect(doc.engine.activations).toBe('f32');
  expect(doc.depths.map((d: { depth: number }) => d.depth)).toEqual([1, 2]);
  expect(doc.depths[0].acceptanceByPosition[0]).toBeGreaterThanOrEqual(0.9);

  const table = await runCli(['smoke', art, '--max-tokens', '8', '--depths', '1', '--threads', '1', '--no-write']);
  expect(table.code).toBe(0);
  expect(table.stdout).toMatch(/result: +PASSED/);

  expect((await runCli(['smoke', art, '--depths', '0,9'])).code).toBe(2);
  const badMode = await runCli(['smoke', art, '--activations', 'int4']);
  expect(badMode.code).toBe(2);
  expect(badMode.stderr).toMatch(/--activations takes q8 or f32.*'int4'/);

  const file = path.join(root, 'prompts.txt');
  fs.writeFileSync(file, 'int main(void) {\nOnce upon a time\n');
  const custom = await runCli(['smoke', art, '--prompts', file, '--max-tokens', '8', '--depths', '1', '--threads', '1', '--no-write', '--json']);
  expect(custom.code).toBe(0);
  expect(JSON.parse(custom.stdout).prompts).toEqual(['prompt-1', 'prompt-2']);
  expect((await runCli(['smoke', art, '--prompts', path.join(root, 'missing.txt')])).code).toBe(2);
});

test('convert --smoke that fails (head quantized to 2 bits) leaves nothing at the output path, and --force keeps the old artifact', async () => {
  const policy = path.join(root, 'mtp2.json');
  fs.writeFileSync(policy, JSON.stringify({
    name: 'mtp-2bit',
    rules: [
      { match: { role: ['mtp', 'mtp.fc'] }, action: { quantize: { mode: 'affine', bits: 2, group_size: 64 } } },
      { match: {}, action: { keep: 'source' } },
    ],
  }));
  const out = path.join(root, 'two-bit');
  const r = await runCli(['convert', path.join(root, 'src'), out, '--policy', policy, '--smoke', '--smoke-max-tokens', '8', '--threads', '1']);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/smoke test failed \(fail_head_audit\).*quantized to 2 bits/);
  expect(fs.existsSync(out)).toBe(false);

  // Over an existing artifact: the failing one is never moved into place.
  expect((await runCli(['convert', path.join(root, 'src'), out, '--policy', 'uniform', '--json'])).code).toBe(0);
  const read = () => ['mtplx_runtime.json', 'config.json', 'mtp.safetensors'].map((f) => fs.readFileSync(path.join(out, f)));
  const before = read();
  const again = await runCli(['convert', path.join(root, 'src'), out, '--policy', policy, '--force', '--smoke', '--smoke-max-tokens', '8', '--threads', '1']);
  expect(again.code).toBe(1);
  read().forEach((b, i) => expect(b.equals(before[i])).toBe(true));
});

test('graft --smoke of a head from another model fails (exit 1) and keeps the artifact out of place', async () => {
  const trunk = path.join(root, 'trunk');
  expect((await runCli(['convert', path.join(root, 'src'), trunk, '--policy', 'uniform', '--mtp', 'drop', '--json'])).code).toBe(0);
  const out = path.join(root, 'grafted');
  const r = await runCli(['graft', trunk, path.join(root, 'other'), out, '--smoke', '--smoke-max-tokens', '8', '--threads', '1']);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/smoke test failed \(fail_acceptance_collapsed\)/);
  expect(fs.existsSync(out)).toBe(false);
  // The same graft without --smoke lands, and smoke then exits 1 and records the failure.
  expect((await runCli(['graft', trunk, path.join(root, 'other'), out, '--threads', '1', '--json'])).code).toBe(0);
  const s = await runCli(['smoke', out, '--max-tokens', '8', '--threads', '1']);
  expect(s.code).toBe(1);
  expect(contractOf(out).exactness_baseline.status).toBe('fail_acceptance_collapsed');
});

test('run --mtp gives the tokens of plain greedy run and reports acceptance; sampled --mtp runs too', async () => {
  const art = path.join(root, 'art');
  const plain = await runCli(['run', art, '--ids', '3,17,200', '--max-tokens', '12', '--threads', '1', '--json']);
  expect(plain.code).toBe(0);
  for (const depth of ['1', '3']) {
    const mtp = await runCli(['run', art, '--ids', '3,17,200', '--max-tokens', '12', '--threads', '1', '--mtp', '--depth', depth, '--json']);
    expect(mtp.code).toBe(0);
    const doc = JSON.parse(mtp.stdout);
    expect(doc.ids).toEqual(JSON.parse(plain.stdout).ids);
    expect(doc.mtp.acceptanceByPosition).toHaveLength(Number(depth));
    expect(doc.mtp.acceptanceByPosition[0]).toBeGreaterThan(0.9);
  }
  const sampled = await runCli(['run', art, '--ids', '3,17,200', '--max-tokens', '12', '--threads', '1', '--mtp', '--temp', '0.8', '--top-p', '0.9', '--top-k', '20']);
  expect(sampled.code).toBe(0);
  expect(sampled.stderr).toMatch(/mtp depth 2: acceptance by position/);
  expect((await runCli(['run', art, '--ids', '1', '--mtp', '--depth', '9'])).code).toBe(2);
});
