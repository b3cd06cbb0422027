/** Issue 5: atomic output, --force, and --resume after a killed run. */
import { spawn, execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generateCheckpoint } from '../../fixtures/generator/write-checkpoint';
import { partialDirFor } from '../../src/convert/atomic-dir';
import { killAfterShards, recordedShards } from '../support/kill-after-shards';
import { runCli } from '../support/run-cli';

const REGISTER = path.join(__dirname, '..', 'support', 'ts-register.js');
const CHILD = path.join(__dirname, '..', 'support', 'convert-child.ts');
let tmp: string;
let src: string;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-atomic-'));
  src = path.join(tmp, 'src');
  await generateCheckpoint(src, { variant: 'qwen35-dense', seed: 3, targetBytes: 60e6 });
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const MAX_SHARD = String(6 << 20);

test('a killed convert leaves nothing at the output path; --resume reuses its finished shards', async () => {
  const out = path.join(tmp, 'out');
  const partial = partialDirFor(out);
  const child = spawn(process.execPath, ['-r', REGISTER, CHILD, src, out, MAX_SHARD], { stdio: 'ignore' });
  // Kill it once the resume manifest records a couple of finished shards.
  await killAfterShards(child, partial, 2);
  expect(fs.existsSync(out)).toBe(false);
  const finished = recordedShards(partial).sort();
  expect(finished.length).toBeGreaterThanOrEqual(2);

  // A corrupted finished shard must not be reused.
  const victim = path.join(partial, finished[0]);
  const bytes = fs.readFileSync(victim);
  bytes[bytes.length - 1] ^= 0xff;
  fs.writeFileSync(victim, bytes);

  const resumed = JSON.parse(execFileSync(process.execPath, ['-r', REGISTER, CHILD, src, out, MAX_SHARD, '--resume'], { encoding: 'utf8' }));
  expect(resumed.reusedShards.length).toBeGreaterThanOrEqual(1);
  expect(resumed.reusedShards).not.toContain(finished[0]);
  expect(fs.existsSync(partial)).toBe(false);

  // Same bytes as a clean run.
  const clean = path.join(tmp, 'clean');
  execFileSync(process.execPath, ['-r', REGISTER, CHILD, src, clean, MAX_SHARD]);
  for (const f of fs.readdirSync(clean).filter((f) => f.endsWith('.safetensors'))) {
    expect(fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(clean, f)))).toBe(true);
  }
}, 120000);

test('an existing output is refused without --force; --force replaces an artifact whole but never a folder of other files', async () => {
  const out = path.join(tmp, 'existing');
  fs.mkdirSync(out);
  fs.writeFileSync(path.join(out, 'keep.txt'), 'x');
  const fixture = path.join(__dirname, '..', '..', 'fixtures', 'qwen35-dense-tied');
  const refused = await runCli(['convert', fixture, out]);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/already exists.*--force/);
  const notAnArtifact = await runCli(['convert', fixture, out, '--force']);
  expect(notAnArtifact.code).toBe(2);
  expect(fs.readFileSync(path.join(out, 'keep.txt'), 'utf8')).toBe('x');
  fs.rmSync(path.join(out, 'keep.txt'));
  expect((await runCli(['convert', fixture, out, '--force', '--json'])).code).toBe(0);
  fs.writeFileSync(path.join(out, 'model.safetensors'), 'an older, broken shard');
  const forced = await runCli(['convert', fixture, out, '--force', '--json']);
  expect(forced.code).toBe(0);
  expect(fs.statSync(path.join(out, 'model.safetensors')).size).toBeGreaterThan(100);
});

test('bad input leaves no partial folder and no output', async () => {
  const out = path.join(tmp, 'bad-out');
  const r = await runCli(['convert', path.join(__dirname, '..', '..', 'fixtures', 'qwen35-stripped'), out]);
  expect(r.code).toBe(2);
  expect(fs.existsSync(out)).toBe(false);
  expect(fs.existsSync(partialDirFor(out))).toBe(false);
});
