import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import yargs from 'yargs';
import { validateCommand } from '../../src/cli/commands/validate';
import { artifactSpec, writeArtifact } from '../artifact/validate-artifact-builder';

/** Runs `validate` through yargs as the CLI would (the lead registers it in commands/index.ts). */
async function run(args: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
    stdout += c.toString();
    return true;
  });
  const saved = process.exitCode;
  process.exitCode = undefined;
  try {
    await yargs(args).option('json', { type: 'boolean', default: false }).command(validateCommand).strict().exitProcess(false).parseAsync();
    return { code: Number(process.exitCode ?? 0), stdout };
  } finally {
    out.mockRestore();
    process.exitCode = saved;
  }
}

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-validate-cli-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

test('a good artifact: exit 0, human summary and --json report', async () => {
  const dir = path.join(root, 'good');
  await writeArtifact(dir, artifactSpec());
  const human = await run(['validate', dir]);
  expect(human.code).toBe(0);
  expect(human.stdout).toContain('MTP head:  sidecar mtp.safetensors, 29 tensors');
  expect(human.stdout).toContain('result:    OK');
  expect(human.stdout).toContain('pending_smoke_test');
  const json = await run(['validate', dir, '--json']);
  expect(json.code).toBe(0);
  const r = JSON.parse(json.stdout);
  expect(r).toMatchObject({ ok: true, problems: [], mtp: { layout: 'sidecar', tensors: 29 } });
});

test('problems: exit 2 and every problem listed', async () => {
  const spec = artifactSpec();
  (spec.config.mlx_lm_extra_tensors as Record<string, unknown>).mtp_tensor_count = 30;
  const dir = path.join(root, 'bad');
  await writeArtifact(dir, spec);
  fs.rmSync(path.join(dir, 'tokenizer.json'));
  const human = await run(['validate', dir]);
  expect(human.code).toBe(2);
  expect(human.stdout).toContain('problems (2):');
  expect(human.stdout).toContain('  - tokenizer.json: missing');
  expect(human.stdout).toContain('mtp_tensor_count is 30');
  expect(human.stdout).toContain('result:    FAILED (2 problems)');
  const json = await run(['validate', dir, '--json']);
  expect(json.code).toBe(2);
  expect(JSON.parse(json.stdout).problems).toHaveLength(2);
});

test('a heuristic warning is listed as a warning and exits 0 (not FAILED)', async () => {
  const dir = path.join(root, 'warned');
  await writeArtifact(dir, artifactSpec({ mtpNormShift: -1 }));
  const human = await run(['validate', dir]);
  expect(human.code).toBe(0);
  expect(human.stdout).toMatch(/warnings \(1\):\n {2}- mtp\.safetensors: MTP head norms look raw/);
  expect(human.stdout).toContain('result:    OK with 1 warning');
  expect(human.stdout).not.toContain('problems (');
  const json = JSON.parse((await run(['validate', dir, '--json'])).stdout);
  expect(json).toMatchObject({ ok: true, problems: [] });
  expect(json.warnings).toHaveLength(1);
});
