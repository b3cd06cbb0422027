/** `mtpkit publish` end to end against the loopback Hub: convert, validate, upload; refusal of a broken artifact. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startHarness, TOKEN, type Harness } from '../support/hub-server/harness';
import { runCli } from '../support/run-cli';
import { HubRepo } from '../../src/hub/hub-repo';

let h: Harness;
let tmp: string;
const saved = { ...process.env };
beforeAll(async () => {
  h = await startHarness();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-publish-cli-'));
  process.env.HF_ENDPOINT = h.server.url;
  process.env.HF_TOKEN = TOKEN;
  process.env.HF_HUB_CACHE = path.join(tmp, 'cache');
});
afterAll(async () => {
  process.env = saved;
  await h.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('publish uploads a valid artifact in one commit; the token never shows', async () => {
  const art = path.join(tmp, 'art');
  expect((await runCli(['convert', path.join(__dirname, '..', '..', 'fixtures', 'qwen35-dense-tied'), art, '--json'])).code).toBe(0);
  const r = await runCli(['publish', art, '--repo', 'me/tiny-mtp', '--json']);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, repo: 'me/tiny-mtp', createdRepo: true });
  expect(r.stdout + r.stderr).not.toContain(TOKEN);
  const repo = await HubRepo.open('me/tiny-mtp', h.config(await h.newCacheDir()));
  const names = repo.files.map((f) => f.path);
  for (const f of ['mtp.safetensors', 'model.safetensors', 'config.json', 'mtplx_runtime.json', 'README.md']) expect(names).toContain(f);
  const fetched = fs.readFileSync(await repo.ensureFile('mtp.safetensors'));
  expect(fetched.equals(fs.readFileSync(path.join(art, 'mtp.safetensors')))).toBe(true);
});

test('publish refuses an artifact that fails validate (exit 2, problems listed) unless --force', async () => {
  const art = path.join(tmp, 'broken');
  expect((await runCli(['convert', path.join(__dirname, '..', '..', 'fixtures', 'qwen35-dense-tied'), art, '--json'])).code).toBe(0);
  fs.rmSync(path.join(art, 'mtp.safetensors'));
  const refused = await runCli(['publish', art, '--repo', 'me/broken']);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/mtp\.safetensors/);
  expect((await runCli(['publish', art, '--repo', 'me/broken', '--force', '--json'])).code).toBe(0);
});
