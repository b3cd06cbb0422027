/**
 * Issue 10, cases 1-3: `--resume` reuses only shards of the identical plan; nothing but the artifact's
 * own files reaches the output after SIGKILL / SIGINT; Ctrl-C keeps finished shards, says what it
 * kept and how to resume, exit 130. Real child processes of the built CLI receive the signals.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generateCheckpoint } from '../../fixtures/generator/write-checkpoint';
import { partialDirFor } from '../../src/convert/atomic-dir';
import { RESUME_FILE } from '../../src/convert/resume';
import { sha256File } from '../../src/checksum/checksums';
import { assertDistFresh, spawnCli, waitWhileRunning } from '../support/cli-process';
import { runCli } from '../support/run-cli';

const SHARD = String(6 << 20);
let tmp: string;
let src: string;
let clean: string;
beforeAll(async () => {
  assertDistFresh();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-resume-'));
  src = path.join(tmp, 'src');
  await generateCheckpoint(src, { variant: 'qwen35-dense', seed: 5, targetBytes: 60e6 });
  clean = path.join(tmp, 'clean');
  const r = await spawnCli(['convert', src, clean, '--max-shard-bytes', SHARD, '--json']).done;
  expect(r.code).toBe(0);
}, 300000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const recorded = (partial: string): string[] => {
  try {
    return Object.keys(JSON.parse(fs.readFileSync(path.join(partial, RESUME_FILE), 'utf8')).shards).sort();
  } catch {
    return [];
  }
};
const list = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);
const temps = (dir: string): string[] => list(dir).filter((f) => f.includes('.tmp-'));

/** Starts a convert to `out` and SIGKILLs it once `ready(partial)` holds. */
async function killedRun(out: string, args: string[], ready: (partial: string) => boolean): Promise<void> {
  const run = spawnCli(['convert', src, out, '--json', ...args]);
  await waitWhileRunning(run.child, () => ready(partialDirFor(out)), 'the kill point');
  run.child.kill('SIGKILL');
  expect((await run.done).signal).toBe('SIGKILL');
  expect(fs.existsSync(out)).toBe(false);
}

const inputChecksums = (dir: string): unknown =>
  JSON.parse(fs.readFileSync(path.join(dir, 'mtplx_runtime.json'), 'utf8')).mtpkit_provenance.input_checksums;

/** The output holds exactly the files the summary lists, validates, records the clean run's input checksums, and its shards equal a clean run's. */
async function expectExactArtifact(out: string, summary: { files: string[] }, sameAsClean = true): Promise<void> {
  expect(list(out)).toEqual([...summary.files].sort());
  const v = await runCli(['validate', out, '--json']);
  expect(JSON.parse(v.stdout).problems).toEqual([]);
  // The inputs' checksums do not depend on what was resumed (their reads are only the shards written again).
  expect(inputChecksums(out)).toEqual(inputChecksums(clean));
  if (sameAsClean) {
    for (const f of list(clean).filter((n) => n.endsWith('.safetensors'))) {
      expect([f, (await sha256File(path.join(out, f))).sha256]).toEqual([f, (await sha256File(path.join(clean, f))).sha256]);
    }
  }
}

test('case 1: --resume with another --max-shard-bytes starts clean, says why, and leaves no stale shard', async () => {
  const out = path.join(tmp, 'case1');
  await killedRun(out, ['--max-shard-bytes', SHARD], (p) => recorded(p).length >= 2);
  const other = String(9 << 20);
  const r = await spawnCli(['convert', src, out, '--max-shard-bytes', other, '--resume', '--json']).done;
  expect(r.code).toBe(0);
  const summary = JSON.parse(r.stdout);
  await expectExactArtifact(out, summary, false);
  expect(summary.reusedShards).toEqual([]);
  expect(r.stderr).toMatch(new RegExp(`different settings \\(.*max shard bytes ${SHARD} -> ${other}.*starting clean`));
}, 300000);

test('case 1: a source changed since the interrupted run is a different plan (its shards are not reused)', async () => {
  const out = path.join(tmp, 'case1b');
  await killedRun(out, ['--max-shard-bytes', SHARD], (p) => recorded(p).length >= 2);
  const shard = list(src).find((f) => f.endsWith('.safetensors'))!;
  const later = new Date(Date.now() + 60_000);
  fs.utimesSync(path.join(src, shard), later, later); // same bytes, but nothing proves that cheaply
  const r = await spawnCli(['convert', src, out, '--max-shard-bytes', SHARD, '--resume', '--json']).done;
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(/different settings \(source files [0-9a-f]+ -> [0-9a-f]+\)/);
  expect(JSON.parse(r.stdout).reusedShards).toEqual([]);
  await expectExactArtifact(out, JSON.parse(r.stdout));
}, 300000);

test("case 2: after SIGKILL mid-shard, --resume moves only the artifact's own files into place (no *.tmp-*)", async () => {
  const out = path.join(tmp, 'case2');
  await killedRun(out, ['--max-shard-bytes', SHARD], (p) => recorded(p).length >= 1 && temps(p).length > 0);
  const partial = partialDirFor(out);
  expect(temps(partial).length).toBeGreaterThan(0); // the killed writer's temp file is there
  const r = await spawnCli(['convert', src, out, '--max-shard-bytes', SHARD, '--resume', '--json']).done;
  expect(r.code).toBe(0);
  const summary = JSON.parse(r.stdout);
  expect(summary.reusedShards.length).toBeGreaterThanOrEqual(1);
  expect(temps(out)).toEqual([]);
  expect(fs.existsSync(partial)).toBe(false);
  await expectExactArtifact(out, summary);
}, 300000);

test('case 3: SIGINT keeps the finished shards in a resume manifest, prints them and the --resume command, exit 130', async () => {
  const out = path.join(tmp, 'case3');
  const partial = partialDirFor(out);
  const run = spawnCli(['convert', src, out, '--max-shard-bytes', SHARD]);
  // Interrupt as soon as one shard is finished on disk (its checksum may still be running).
  await waitWhileRunning(run.child, () => list(partial).some((f) => /^model-.*\.safetensors$/.test(f)), 'a finished shard');
  run.child.kill('SIGINT');
  const r = await run.done;
  expect(r.code).toBe(130);
  const m = r.stderr.match(/interrupted by SIGINT: kept (\d+) finished shard\(s\) in (.+) \((.+)\)\n/);
  expect(m).not.toBeNull();
  const kept = m![3].split(', ').sort();
  expect(Number(m![1])).toBe(kept.length);
  expect(m![2]).toBe(partial);
  // The manifest records exactly those shards, with their real checksums; no temp file is left.
  expect(recorded(partial)).toEqual(kept);
  const manifest = JSON.parse(fs.readFileSync(path.join(partial, RESUME_FILE), 'utf8')).shards;
  for (const f of kept) expect((await sha256File(path.join(partial, f))).sha256).toBe(manifest[f].sha256);
  expect(temps(partial)).toEqual([]);
  expect(fs.existsSync(out)).toBe(false);

  // The printed command resumes and reuses every kept shard.
  const cmd = r.stderr.match(/resume with: (.+)\n/)![1].split(' ');
  expect(cmd[0]).toBe('mtpkit');
  expect(cmd).toContain('--resume');
  const resumed = await spawnCli([...cmd.slice(1), '--json']).done;
  expect(resumed.code).toBe(0);
  const summary = JSON.parse(resumed.stdout);
  expect([...summary.reusedShards].sort()).toEqual(kept);
  await expectExactArtifact(out, summary);
}, 300000);

test('SIGTERM is handled the same way (exit 143); a run that kept nothing leaves no partial folder and no lock', async () => {
  const out = path.join(tmp, 'term');
  const partial = partialDirFor(out);
  const run = spawnCli(['convert', src, out, '--max-shard-bytes', SHARD]);
  await waitWhileRunning(run.child, () => fs.existsSync(partial), 'the partial folder');
  run.child.kill('SIGTERM');
  const r = await run.done;
  expect(r.code).toBe(143);
  const m = r.stderr.match(/interrupted by SIGTERM(?: before any shard was finished; nothing was kept|: kept (\d+) finished shard)/);
  expect(m).not.toBeNull();
  if (m![1]) expect(recorded(partial)).toHaveLength(Number(m![1]));
  else expect(fs.existsSync(partial)).toBe(false);
  expect(list(tmp).filter((f) => f.includes('mtpkit-lock'))).toEqual([]);
  expect(fs.existsSync(out)).toBe(false);
}, 300000);
