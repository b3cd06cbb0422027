/** `mtpkit publish` end to end against the loopback Hub: convert, validate, upload; refusal of a broken artifact. */
import * as fs from 'fs';
import * as path from 'path';
import { TOKEN } from '../support/hub-server/harness';
import { runCli } from '../support/run-cli';
import { useHubCliEnv } from '../support/hub-cli-env';
import { HubRepo } from '../../src/hub/hub-repo';

const env = useHubCliEnv('mtpkit-publish-cli-');

test('publish uploads a valid artifact in one commit; the token never shows', async () => {
  const art = path.join(env.tmp(), 'art');
  expect((await runCli(['convert', path.join(__dirname, '..', '..', 'fixtures', 'qwen35-dense-tied'), art, '--json'])).code).toBe(0);
  // A fresh conversion is pending_smoke_test: the gate refuses it unless told otherwise.
  const gated = await runCli(['publish', art, '--repo', 'me/tiny-mtp']);
  expect(gated.code).toBe(2);
  expect(gated.stderr).toMatch(/unverified.*\n.*exactness_baseline\.status is 'pending_smoke_test'/);
  const r = await runCli(['publish', art, '--repo', 'me/tiny-mtp', '--allow-unverified', '--json']);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, repo: 'me/tiny-mtp', createdRepo: true });
  expect(r.stdout + r.stderr).not.toContain(TOKEN);
  const h = env.harness();
  const repo = await HubRepo.open('me/tiny-mtp', h.config(await h.newCacheDir()));
  const names = repo.files.map((f) => f.path);
  for (const f of ['mtp.safetensors', 'model.safetensors', 'config.json', 'mtplx_runtime.json', 'README.md']) expect(names).toContain(f);
  const fetched = fs.readFileSync(await repo.ensureFile('mtp.safetensors'));
  expect(fetched.equals(fs.readFileSync(path.join(art, 'mtp.safetensors')))).toBe(true);
});

test('publish refuses an artifact that fails validate (exit 2, problems listed) unless --force', async () => {
  const art = path.join(env.tmp(), 'broken');
  expect((await runCli(['convert', path.join(__dirname, '..', '..', 'fixtures', 'qwen35-dense-tied'), art, '--json'])).code).toBe(0);
  fs.rmSync(path.join(art, 'mtp.safetensors'));
  const refused = await runCli(['publish', art, '--repo', 'me/broken', '--allow-unverified']);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/mtp\.safetensors/);
  expect((await runCli(['publish', art, '--repo', 'me/broken', '--force', '--allow-unverified', '--json'])).code).toBe(0);
});

test('publish progress says uploaded, never fetched', async () => {
  const art = path.join(env.tmp(), 'words');
  expect((await runCli(['convert', path.join(__dirname, '..', '..', 'fixtures', 'qwen35-dense-tied'), art, '--json'])).code).toBe(0);
  const r = await runCli(['publish', art, '--repo', 'me/words', '--allow-unverified']);
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(/uploaded (model|mtp)\.safetensors/);
  expect(r.stderr).not.toContain('fetched');
  expect(r.stdout).toMatch(/^published .* to me\/words@main/);
});
