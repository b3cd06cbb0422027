/** Every command prints exactly one JSON document with --json, on success and on failure. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli } from '../support/run-cli';

const FIX = path.join(__dirname, '..', '..', 'fixtures', 'qwen35-dense-tied');
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-json-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test.each([
  ['convert', () => ['convert', FIX, path.join(tmp, 'a'), '--policy', 'uniform', '--json']],
  ['graft (bad: trunk has a head)', () => ['graft', FIX, FIX, path.join(tmp, 'g'), '--json']],
  ['plan', () => ['plan', FIX, '--json']],
  ['validate', () => ['validate', path.join(tmp, 'a'), '--json']],
  ['inspect', () => ['inspect', FIX, '--json']],
  ['policies', () => ['policies', '--json']],
  ['policies gdn8-speed4', () => ['policies', 'gdn8-speed4', '--json']],
  ['publish (bad repo name)', () => ['publish', path.join(tmp, 'a'), '--repo', 'not a repo', '--json']],
  ['usage error', () => ['convert', '--json']],
])('%s', async (_name, args) => {
  const r = await runCli(args());
  const doc = JSON.parse(r.stdout);
  expect(typeof doc.ok).toBe('boolean');
  expect(doc.ok).toBe(r.code === 0);
  if (!doc.ok) {
    expect(r.code).toBe(2);
    expect(typeof doc.error.message).toBe('string');
  }
});
