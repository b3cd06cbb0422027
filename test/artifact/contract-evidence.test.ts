/**
 * Issue 10 case 9: validate says what a contract status rests on, and a claimed `passed` / `verified`
 * without matching evidence is a problem. The evidence is written by the real smoke writer
 * (writeSmokeContract) from a smoke report; only the report's figures are made up here.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import { runConvert } from '../../src/convert/pipeline';
import { validateArtifact } from '../../src/artifact/validate-artifact';
import { writeSmokeContract, SMOKE_GATE } from '../../src/smoke/contract-update';
import type { SmokeReport } from '../../src/smoke/run-smoke';
import { convertOptions } from '../support/convert-options';

let root: string;
let base: string;
let n = 0;
beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-evidence-'));
  base = path.join(root, 'base');
  await runConvert(convertOptions(path.join(__dirname, '..', '..', 'fixtures', 'qwen35-dense'), base));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function copy(): string {
  const dir = path.join(root, `a${n++}`);
  fs.cpSync(base, dir, { recursive: true });
  return dir;
}

function report(dir: string, status: SmokeReport['status']): SmokeReport {
  return {
    artifact: dir, status, exitCode: status === 'passed' ? 0 : 1, reasons: [],
    audit: { ok: true, mtpTensors: 29, findings: [] } as unknown as SmokeReport['audit'],
    prompts: ['code'], maxTokens: 4, arTokS: 10,
    depths: [{ depth: 1, identity: true, matches: 1, acceptanceByPosition: [0.5], draftAcceptance: 0.5, meanAcceptedLength: 1.5, histogram: [1, 1], mtpTokS: 12, speedup: 1.2, collapsed: false }],
    verdict: 'mtp_depth_wins',
    engine: { name: 'test engine', version: '0', cpu: 'cpu', threads: 1, activations: 'q8', platform: 'linux', arch: 'x64' },
    seconds: 0,
  };
}

const contractOf = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'mtplx_runtime.json'), 'utf8'));
const writeContract = (dir: string, c: unknown) => fs.writeFileSync(path.join(dir, 'mtplx_runtime.json'), JSON.stringify(c, null, 2));
const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

test('a status written by mtpkit smoke names its gate, tool and the checksums of the files it covers', async () => {
  const dir = copy();
  await writeSmokeContract(dir, report(dir, 'passed'));
  const ev = contractOf(dir).exactness_baseline;
  expect(ev).toMatchObject({ gate: SMOKE_GATE, status: 'passed', evidence: { status: 'passed', tool: expect.stringMatching(/^mtpkit /) } });
  // Independently: every top-level file but the card and the contract, with its real sha256.
  const expected = fs.readdirSync(dir).filter((f) => f !== 'README.md' && f !== 'mtplx_runtime.json').sort();
  expect(ev.evidence.files.map((f: { file: string }) => f.file)).toEqual(expected);
  for (const f of ev.evidence.files) expect(f.sha256).toBe(sha(path.join(dir, f.file)));

  const r = await validateArtifact(dir);
  expect(r.problems).toEqual([]);
  expect(r.warnings).toEqual([]);
  expect(r.info.join('\n')).toMatch(new RegExp(`exactness_baseline.status 'passed'.*rests on ${SMOKE_GATE} run by mtpkit .* for ${expected.length} file\\(s\\) whose sha256 match`));
});

test('a hand-edited passed / verified with no gate is a problem', async () => {
  const dir = copy();
  const c = contractOf(dir);
  c.exactness_baseline = { status: 'passed' };
  c.verified_on.status = 'verified';
  writeContract(dir, c);
  const r = await validateArtifact(dir);
  expect(r.ok).toBe(false);
  expect(r.problems.join('\n')).toMatch(/exactness_baseline.status 'passed', verified_on.status 'verified' but no gate is recorded/);
});

test('verified_on edited to verified while the exactness gate is still pending is a problem', async () => {
  const dir = copy();
  const c = contractOf(dir);
  c.verified_on.status = 'verified';
  writeContract(dir, c);
  const r = await validateArtifact(dir);
  expect(r.ok).toBe(false);
  expect(r.problems.join('\n')).toMatch(/verified_on.status 'verified' but no gate is recorded/);
});

test("mtpkit's gate named without evidence, or a failed result edited to passed, is a problem", async () => {
  const bare = copy();
  const c = contractOf(bare);
  c.exactness_baseline = { gate: SMOKE_GATE, status: 'passed' };
  writeContract(bare, c);
  expect((await validateArtifact(bare)).problems.join('\n')).toMatch(/exactness_baseline.evidence .* is missing or incomplete/);

  const flipped = copy();
  await writeSmokeContract(flipped, report(flipped, 'fail_exactness'));
  const f = contractOf(flipped);
  f.exactness_baseline.status = 'passed';
  f.speed_evidence.status = 'passed';
  writeContract(flipped, f);
  const r = await validateArtifact(flipped);
  expect(r.problems.join('\n')).toMatch(/exactness_baseline.status is 'passed' but the gate recorded 'fail_exactness'/);
  expect(r.problems.join('\n')).toMatch(/speed_evidence.status is 'passed' but the gate recorded 'fail_exactness'/);
});

test('evidence for other bytes: a file changed or added after the smoke test is a problem', async () => {
  const dir = copy();
  await writeSmokeContract(dir, report(dir, 'passed'));
  // (The conversion's output checksums flag the change too; the evidence check says the result is stale.)
  fs.appendFileSync(path.join(dir, 'generation_config.json'), ' ');
  fs.writeFileSync(path.join(dir, 'chat_template.jinja'), '{{ messages }}');
  const r = await validateArtifact(dir);
  expect(r.problems.join('\n')).toMatch(/evidence does not match the files: 'generation_config.json' \(changed\)/);
  expect(r.problems.join('\n')).toMatch(/evidence does not cover 'chat_template.jinja'/);
});

test("another tool's gate is a visible warning (exit 0): mtpkit cannot check it", async () => {
  const dir = copy();
  const c = contractOf(dir);
  c.exactness_baseline = { gate: 'mtp1-greedy-ar-equivalence', status: 'passed', matches: 1, total: 1 };
  writeContract(dir, c);
  const r = await validateArtifact(dir);
  expect(r.ok).toBe(true);
  expect(r.warnings.join('\n')).toMatch(/rests on gate 'mtp1-greedy-ar-equivalence', which mtpkit cannot check/);
});

test('evidence holds through symlinks (a Hub cache snapshot links its files to blobs)', async () => {
  const dir = copy();
  await writeSmokeContract(dir, report(dir, 'passed'));
  const blobs = path.join(root, `blobs-${n}`);
  fs.mkdirSync(blobs);
  for (const f of fs.readdirSync(dir)) {
    fs.renameSync(path.join(dir, f), path.join(blobs, f));
    fs.symlinkSync(path.join(blobs, f), path.join(dir, f));
  }
  const r = await validateArtifact(dir);
  expect(r.info.join('\n')).toMatch(/rests on .* whose sha256 match/);
  expect(r.problems.filter((p) => p.includes('evidence'))).toEqual([]);
});
