/**
 * Issue 10 case 7: `convert --mtp drop` writes a valid artifact. validate judges it as an mlx-lm artifact
 * (no contract needed, says there is no head) and publish uploads it without a contract to gate.
 */
import * as fs from 'fs';
import * as path from 'path';
import { runCli } from '../support/run-cli';
import { useHubCliEnv } from '../support/hub-cli-env';
import { HubRepo } from '../../src/hub/hub-repo';

const env = useHubCliEnv('mtpkit-no-mtp-');

test('convert --mtp drop: validate OK (no head, no contract needed), publish uploads it', async () => {
  const art = path.join(env.tmp(), 'drop');
  const conv = await runCli(['convert', path.join(__dirname, '..', '..', 'fixtures', 'qwen35-dense'), art, '--mtp', 'drop', '--policy', 'gdn8-speed4', '--json']);
  expect(conv.code).toBe(0);
  expect(fs.existsSync(path.join(art, 'mtplx_runtime.json'))).toBe(false);
  const config = JSON.parse(fs.readFileSync(path.join(art, 'config.json'), 'utf8'));
  expect(config.text_config.mtp_num_hidden_layers).toBe(0);

  const v = await runCli(['validate', art]);
  expect(v.code).toBe(0);
  expect(v.stdout).toContain('MTP head:  none (an mlx-lm artifact without an MTP head');
  expect(v.stdout).toMatch(/result: {4}OK/);
  const vj = JSON.parse((await runCli(['validate', art, '--json'])).stdout);
  expect(vj).toMatchObject({ ok: true, problems: [], mtp: { layout: 'none', tensors: 0 } });

  const p = await runCli(['publish', art, '--repo', 'me/no-mtp', '--json']);
  expect(p.code).toBe(0);
  const h = env.harness();
  const repo = await HubRepo.open('me/no-mtp', h.config(await h.newCacheDir()));
  // Every artifact file, plus the .gitattributes the Hub repo is created with.
  const names = repo.files.map((f) => f.path).filter((f) => f !== '.gitattributes').sort();
  expect(names).toEqual(fs.readdirSync(art).sort());
});

test('a head-less artifact whose config still claims MTP layers is not judged plain mlx-lm', async () => {
  const art = path.join(env.tmp(), 'claims');
  expect((await runCli(['convert', path.join(__dirname, '..', '..', 'fixtures', 'qwen35-dense'), art, '--mtp', 'drop', '--json'])).code).toBe(0);
  const file = path.join(art, 'config.json');
  const config = JSON.parse(fs.readFileSync(file, 'utf8'));
  config.text_config.mtp_num_hidden_layers = 1;
  fs.writeFileSync(file, JSON.stringify(config));
  const v = await runCli(['validate', art, '--json']);
  expect(v.code).toBe(2);
  expect(JSON.parse(v.stdout).problems.join('\n')).toMatch(/mtp_num_hidden_layers is 1 but the artifact has no MTP tensors/);
});
