/**
 * Issue 10, case 2 (validate / publish): a leftover temp file in an artifact folder fails `validate`;
 * a stranger file is reported; `publish` uploads exactly the artifact's own files, never those.
 */
import * as fs from 'fs';
import * as path from 'path';
import { useHubCliEnv } from '../support/hub-cli-env';
import { runCli } from '../support/run-cli';
import { HubRepo } from '../../src/hub/hub-repo';

const FIXTURE = path.join(__dirname, '..', '..', 'fixtures', 'qwen35-dense-tied');
const env = useHubCliEnv('mtpkit-members-');

async function uploaded(repoId: string): Promise<string[]> {
  const h = env.harness();
  const repo = await HubRepo.open(repoId, h.config(await h.newCacheDir()));
  return repo.files.map((f) => f.path).filter((p) => p !== '.gitattributes').sort();
}

test('validate fails on a leftover temp file and reports a stranger; publish uploads only the listed files', async () => {
  const art = path.join(env.tmp(), 'art');
  const conv = await runCli(['convert', FIXTURE, art, '--json']);
  expect(conv.code).toBe(0);
  const own = (JSON.parse(conv.stdout).files as string[]).slice().sort();
  expect(fs.readdirSync(art).sort()).toEqual(own);

  fs.writeFileSync(path.join(art, 'notes.txt'), 'private');
  const withNotes = await runCli(['validate', art, '--json']);
  expect(withNotes.code).toBe(0);
  expect(JSON.parse(withNotes.stdout).info.join('\n')).toMatch(/'notes\.txt': not part of the artifact/);

  const leftover = 'model.safetensors.tmp-4242-0123456789ab';
  fs.writeFileSync(path.join(art, leftover), 'half a shard');
  const withTemp = await runCli(['validate', art, '--json']);
  expect(withTemp.code).not.toBe(0);
  expect(JSON.parse(withTemp.stdout).problems).toEqual([expect.stringMatching(new RegExp(`^${leftover.replace(/\./g, '\\.')}: leftover of an interrupted write`))]);

  const refused = await runCli(['publish', art, '--repo', 'me/members', '--allow-unverified']);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain(leftover);

  const forced = await runCli(['publish', art, '--repo', 'me/members', '--allow-unverified', '--force', '--json']);
  expect(forced.code).toBe(0);
  expect(JSON.parse(forced.stdout).files).toBe(own.length);
  expect(await uploaded('me/members')).toEqual(own);
});
