/**
 * Issue 14: partitioned conversion. Parts run as separate processes in a shuffled order, one killed and
 * re-run; `assemble` then yields an artifact byte-identical to a single-machine convert (the contract's
 * two clock readings aside), for dense and MoE, sidecar and inline heads. Parts that do not belong
 * together, missing or doubled parts are refused naming the part.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generateCheckpoint } from '../../fixtures/generator/write-checkpoint';
import { runConvert } from '../../src/convert/pipeline';
import { partialDirFor } from '../../src/convert/atomic-dir';
import { validateArtifact } from '../../src/artifact/validate-artifact';
import { Checkpoint } from '../../src/safetensors/checkpoint';
import { sha256File } from '../../src/checksum/checksums';
import type { PartManifest } from '../../src/convert/part-manifest';
import { convertOptions } from '../support/convert-options';
import { runCli } from '../support/run-cli';
import { killAfterShards } from '../support/kill-after-shards';
import { CLI, differingFiles, REGISTER, runAll, runCliProcess, shuffled, treeOf } from '../support/part-processes';

const FIX = path.join(__dirname, '..', '..', 'fixtures');
const POLICY = 'gdn8-speed4';
/** Small enough that every fixture gives 7 to 9 output files. */
const MAX_SHARD = 40000;
let tmp: string;
let counter = 0;
const newDir = (name: string) => path.join(tmp, `${name}-${++counter}`);

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-parts-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const partArgs = (src: string, layout: string, policy = POLICY, maxShard = MAX_SHARD) => [src, '--policy', policy, '--mtp-layout', layout, '--max-shard-bytes', String(maxShard), '--json'];

async function single(src: string, layout: 'sidecar' | 'inline', maxShard = MAX_SHARD): Promise<string> {
  const out = newDir('single');
  await runConvert(convertOptions(src, out, { policy: { spec: POLICY }, mtpLayout: layout, maxShardBytes: maxShard }));
  return out;
}

/** Converts all N parts as processes (shuffled order, 3 at a time) into `<dir>/p<i>`; returns their JSON summaries. */
async function convertParts(src: string, layout: string, n: number, dir: string, seed: number): Promise<Record<string, unknown>[]> {
  const order = shuffled(n, seed);
  const results = await runAll(
    order.map((k) => () => runCliProcess(['convert', src, path.join(dir, `p${k + 1}`), '--part', `${k + 1}/${n}`, ...partArgs(src, layout).slice(1)])),
    3,
  );
  for (const r of results) expect([r.code, r.stderr.split('\n').filter((l) => /error/.test(l))]).toEqual([0, []]);
  return results.map((r) => JSON.parse(r.stdout));
}

const readManifest = (dir: string, i: number, n: number): PartManifest =>
  JSON.parse(fs.readFileSync(path.join(dir, `p${i}`, 'mtpkit-parts', `part-${String(i).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.json`), 'utf8'));

describe.each([
  ['qwen35-dense', 'sidecar', [1, 2, 3, 7]],
  ['qwen35-moe', 'inline', [1, 2, 3, 7]],
  ['qwen35-dense', 'inline', [3]],
  ['qwen35-moe', 'sidecar', [3]],
  ['qwen3-next', 'sidecar', [2]],
] as const)('%s, %s head', (variant, layout, counts) => {
  const src = path.join(FIX, variant);
  let ref: string;
  beforeAll(async () => {
    ref = await single(src, layout);
  });

  test.each(counts.map((n) => [n]))('%i part(s) as processes in shuffled order, assembled = single-machine convert', async (n) => {
    const dir = newDir(`parts-${n}`);
    const summaries = await convertParts(src, layout, n, dir, 17 * n + counter);
    // Every part agrees on the plan; the parts' files are disjoint and cover the single-machine shards.
    expect(new Set(summaries.map((s) => s.fingerprint)).size).toBe(1);
    const shardFiles = treeOf(ref).filter((f) => f.endsWith('.safetensors'));
    const byPart = Array.from({ length: n }, (_, i) => readManifest(dir, i + 1, n).shards.map((s) => s.file));
    expect(byPart.flat().sort()).toEqual(shardFiles);
    if (n <= shardFiles.length) expect(byPart.every((f) => f.length > 0)).toBe(true);
    // A part wrote only its own files (plus its manifest).
    for (let i = 1; i <= n; i++) {
      expect(treeOf(path.join(dir, `p${i}`)).filter((f) => !f.startsWith('mtpkit-parts/'))).toEqual([...byPart[i - 1]].sort());
    }
    // Manifest checksums and tensor lists are the files' own.
    const m = readManifest(dir, n, n);
    for (const s of m.shards) {
      expect(await sha256File(path.join(dir, `p${n}`, s.file))).toEqual({ size: s.size, sha256: s.sha256 });
      const ck = await Checkpoint.openFiles(path.join(dir, `p${n}`), [s.file]);
      expect([...ck.tensors.keys()].sort()).toEqual([...s.tensors].sort());
      await ck.close();
    }

    const out = newDir('assembled');
    const r = await runCli(['assemble', out, '--parts', dir, '--json']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(treeOf(out)).toEqual(treeOf(ref));
    expect(differingFiles(ref, out)).toEqual([]);
    expect((await validateArtifact(out)).problems).toEqual([]);
  }, 240000);
});

test('more parts than files: the extra parts are empty and the artifact is still complete', async () => {
  const src = path.join(FIX, 'qwen35-dense-tied');
  const maxShard = 1 << 30; // one trunk file + the sidecar
  const ref = newDir('tied-single');
  await runConvert(convertOptions(src, ref, { policy: { spec: POLICY }, maxShardBytes: maxShard }));
  const dir = newDir('tied-parts');
  const n = 4;
  for (const i of shuffled(n, 5)) {
    const r = await runCli(['convert', src, path.join(dir, `p${i + 1}`), '--part', `${i + 1}/${n}`, '--policy', POLICY, '--max-shard-bytes', String(maxShard), '--json']);
    expect(r.code).toBe(0);
  }
  expect(Array.from({ length: n }, (_, i) => readManifest(dir, i + 1, n).shards.length)).toEqual([1, 1, 0, 0]);
  const out = newDir('tied-assembled');
  expect((await runCli(['assemble', out, '--parts', dir])).code).toBe(0);
  expect(differingFiles(ref, out)).toEqual([]);
}, 120000);

test('--parts N takes the 0-based index from JOB_COMPLETION_INDEX or MTPKIT_PART_INDEX', async () => {
  const src = path.join(FIX, 'qwen35-dense');
  const dir = newDir('env');
  const [a, b] = await Promise.all([
    runCliProcess(['convert', src, path.join(dir, 'a'), '--parts', '2', ...partArgs(src, 'sidecar').slice(1)], { JOB_COMPLETION_INDEX: '0', MTPKIT_PART_INDEX: '' }),
    runCliProcess(['convert', src, path.join(dir, 'b'), '--parts', '2', ...partArgs(src, 'sidecar').slice(1)], { JOB_COMPLETION_INDEX: '', MTPKIT_PART_INDEX: '1' }),
  ]);
  expect([a.code, b.code]).toEqual([0, 0]);
  expect([JSON.parse(a.stdout).part, JSON.parse(b.stdout).part]).toEqual([{ index: 1, count: 2 }, { index: 2, count: 2 }]);
  const bad = await runCliProcess(['convert', src, path.join(dir, 'c'), '--parts', '2', '--json'], { JOB_COMPLETION_INDEX: '2' });
  expect(bad.code).toBe(2);
  expect(JSON.parse(bad.stdout).error.message).toMatch(/JOB_COMPLETION_INDEX.*0-based part index below 2, got "2"/);
  const none = await runCli(['convert', src, path.join(dir, 'd'), '--parts', '2']);
  expect(none.code).toBe(2);
}, 120000);

describe('a killed part re-run', () => {
  let src: string;
  beforeAll(async () => {
    src = path.join(tmp, 'gen');
    await generateCheckpoint(src, { variant: 'qwen35-dense', seed: 3, targetBytes: 40e6 });
  }, 120000);

  test('part 2/3 killed after a finished shard; re-run with --resume reuses it; assembled = single convert', async () => {
    // Small files, so part 2 still has several to write when the first is recorded (then it is killed).
    const maxShard = 1 << 20;
    const ref = newDir('gen-single');
    await runConvert(convertOptions(src, ref, { policy: { spec: POLICY }, maxShardBytes: maxShard }));
    const dir = newDir('gen-parts');
    const args = (i: number) => ['convert', src, path.join(dir, `p${i}`), '--part', `${i}/3`, '--policy', POLICY, '--max-shard-bytes', String(maxShard), '--json'];

    const partial = partialDirFor(path.join(dir, 'p2'));
    const child = spawn(process.execPath, ['-r', REGISTER, CLI, ...args(2)], { stdio: 'ignore' });
    await killAfterShards(child, partial, 1);
    expect(fs.existsSync(path.join(dir, 'p2'))).toBe(false);

    // The others run meanwhile, in reverse order; assembling now names the missing part.
    for (const i of [3, 1]) expect((await runCliProcess(args(i))).code).toBe(0);
    const early = await runCli(['assemble', newDir('early'), '--parts', dir]);
    expect(early.code).toBe(2);
    expect(early.stderr).toMatch(/missing part 2\/3 \(found 1, 3\)/);

    const rerun = await runCliProcess([...args(2), '--resume']);
    expect(rerun.code).toBe(0);
    expect(JSON.parse(rerun.stdout).reusedShards.length).toBeGreaterThanOrEqual(1);
    // Running a finished part again does nothing.
    const again = await runCliProcess(args(2));
    expect(JSON.parse(again.stdout).skipped).toBe('local');

    const out = newDir('gen-assembled');
    expect((await runCli(['assemble', out, '--parts', dir])).code).toBe(0);
    expect(treeOf(out)).toEqual(treeOf(ref));
    expect(differingFiles(ref, out)).toEqual([]);
  }, 300000);
});

describe('refusals', () => {
  const src = path.join(FIX, 'qwen35-moe');
  const part = (out: string, i: number, n: number, policy = POLICY) =>
    runCli(['convert', src, out, '--part', `${i}/${n}`, '--policy', policy, '--max-shard-bytes', String(MAX_SHARD)]);

  test('a part of another plan, a missing part, a doubled part, a missing shard: exit 2 naming the part', async () => {
    const dir = newDir('mixed');
    expect((await part(path.join(dir, 'p1'), 1, 2)).code).toBe(0);
    expect((await part(path.join(dir, 'p2'), 2, 2, 'uniform')).code).toBe(0);
    const r = await runCli(['assemble', newDir('x'), '--parts', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/part 2\/2 belongs to another conversion .*: .*policy gdn8-speed4 -> uniform/);
    expect(r.stderr).toContain(path.join(dir, 'p2', 'mtpkit-parts', 'part-00002-of-00002.json'));

    // A part count that disagrees is another conversion too.
    fs.rmSync(path.join(dir, 'p2'), { recursive: true });
    expect((await part(path.join(dir, 'p2'), 2, 3)).code).toBe(0);
    expect((await runCli(['assemble', newDir('x'), '--parts', dir])).stderr).toMatch(/another conversion .*3 parts/);

    fs.rmSync(path.join(dir, 'p2'), { recursive: true });
    const missing = await runCli(['assemble', newDir('x'), '--parts', dir]);
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringMatching(/missing part 2\/2 \(found 1\)/)]);

    fs.cpSync(path.join(dir, 'p1'), path.join(dir, 'p1-copy'), { recursive: true });
    const twice = await runCli(['assemble', newDir('x'), '--parts', dir]);
    expect([twice.code, twice.stderr]).toEqual([2, expect.stringMatching(/part 1\/2 is there twice/)]);
    fs.rmSync(path.join(dir, 'p1-copy'), { recursive: true });

    expect((await part(path.join(dir, 'p2'), 2, 2)).code).toBe(0);
    const victim = readManifest(dir, 2, 2).shards[0].file;
    fs.rmSync(path.join(dir, 'p2', victim));
    const gone = await runCli(['assemble', newDir('x'), '--parts', dir]);
    expect([gone.code, gone.stderr]).toEqual([2, expect.stringMatching(new RegExp(`part 2/2: ${victim.replace(/\./g, '\\.')} is missing`))]);
  }, 120000);

  test('bad --part values and --push without --part are usage errors', async () => {
    for (const [args, msg] of [
      [['--part', '0/3'], /index must be an integer in \[1, 3\], got 0/],
      [['--part', '4/3'], /index must be an integer in \[1, 3\], got 4/],
      [['--part', 'a/b'], /expected i\/N/],
      [['--part', '1/2', '--parts', '3'], /--parts 3 disagrees with --part 1\/2/],
      [['--push', 'me/x'], /--push needs --part/],
    ] as const) {
      const r = await runCli(['convert', src, newDir('bad'), ...args]);
      expect([r.code, r.stderr]).toEqual([2, expect.stringMatching(msg)]);
    }
  });
});

test('assemble on another machine: --source names where the source is there; without it the recorded path is used', async () => {
  const elsewhere = path.join(newDir('elsewhere'), 'qwen35-dense');
  fs.cpSync(path.join(FIX, 'qwen35-dense'), elsewhere, { recursive: true });
  const dir = newDir('moved');
  for (const i of [1, 2]) expect((await runCli(['convert', elsewhere, path.join(dir, `p${i}`), '--part', `${i}/2`, '--max-shard-bytes', String(MAX_SHARD)])).code).toBe(0);
  fs.rmSync(elsewhere, { recursive: true });
  const lost = await runCli(['assemble', newDir('x'), '--parts', dir]);
  expect([lost.code, lost.stderr]).toEqual([2, expect.stringContaining(elsewhere)]);
  const out = newDir('moved-out');
  expect((await runCli(['assemble', out, '--parts', dir, '--source', path.join(FIX, 'qwen35-dense')])).code).toBe(0);
  const ref = newDir('moved-ref');
  await runConvert(convertOptions(path.join(FIX, 'qwen35-dense'), ref, { maxShardBytes: MAX_SHARD }));
  // Card and contract name the folder read at assembly (the same as the reference's).
  expect(differingFiles(ref, out)).toEqual([]);
}, 120000);

test('plan --parts N lists the same files per part as the parts write, and their bytes', async () => {
  const src = path.join(FIX, 'qwen35-moe');
  const r = await runCli(['plan', src, '--parts', '3', '--policy', POLICY, '--max-shard-bytes', String(MAX_SHARD), '--mtp-layout', 'inline', '--json']);
  expect(r.code).toBe(0);
  const plan = JSON.parse(r.stdout) as { parts: { index: number; files: string[]; outputBytes: number; readBytes: number; fetchBytes: number; peakDiskBytes: number }[]; totalOutputBytes: number };
  const dir = newDir('plan-parts');
  for (const i of [3, 1, 2]) {
    expect((await runCli(['convert', src, path.join(dir, `p${i}`), '--part', `${i}/3`, '--policy', POLICY, '--max-shard-bytes', String(MAX_SHARD), '--mtp-layout', 'inline'])).code).toBe(0);
  }
  for (const p of plan.parts) {
    const m = readManifest(dir, p.index, 3);
    expect(p.files).toEqual(m.shards.map((s) => s.file));
    // Tensor data bytes = file size minus the 8-byte length and the JSON header.
    const data = m.shards.reduce((a, s) => a + s.size - 8 - Number(fs.readFileSync(path.join(dir, `p${p.index}`, s.file)).readBigUInt64LE(0)), 0);
    expect(p.outputBytes).toBe(data);
    expect([p.fetchBytes, p.peakDiskBytes]).toEqual([0, p.outputBytes]); // a local source downloads nothing
  }
  const text = await runCli(['plan', src, '--parts', '3', '--policy', POLICY, '--max-shard-bytes', String(MAX_SHARD)]);
  expect(text.stdout).toMatch(/^part\s+files\s+output\s+reads\s+fetch\s+peak disk\s+files$/m);
  expect(text.stdout.split('\n').filter((l) => /^\d\/3 /.test(l))).toHaveLength(3);
}, 120000);
