/**
 * Issue 14 against the loopback Hub: every part (its own cache, as on its own machine) downloads only
 * the byte ranges of its own output files, pushes them as one commit, and `assemble --repo` adds the
 * final commit; the repo then validates and equals a single-machine convert from the Hub file for file.
 * Re-running a pushed part does nothing; parts of other source revisions are refused.
 */
import * as fs from 'fs';
import * as path from 'path';
import { runConvert, type ConvertOptions } from '../../src/convert/pipeline';
import { runConvertPart } from '../../src/convert/convert-part';
import { runAssemble } from '../../src/convert/assemble';
import { buildConversionPlan } from '../../src/convert/conversion-plan';
import { layoutArtifact } from '../../src/convert/artifact-layout';
import { shardReads, shardsOfPart } from '../../src/convert/partition';
import { partitionReport } from '../../src/convert/partition-report';
import { partHubOptions } from '../../src/convert/convert-part';
import { HubSource } from '../../src/source/hub-source';
import { validateArtifact } from '../../src/artifact/validate-artifact';
import { HubRepo } from '../../src/hub/hub-repo';
import { publishArtifact } from '../../src/hub/publish';
import { resolveHubConfig, type HubConfigOptions } from '../../src/hub/hub-config';
import { InputError } from '../../src/errors';
import type { Checkpoint } from '../../src/safetensors/checkpoint';
import type { HubTestServer } from '../support/hub-server/server';
import { startFixtureRepo, type FixtureRepo } from '../support/hub-server/fixture-repo';
import { differingFiles, treeOf } from '../support/part-processes';

const VARIANT = 'qwen35-moe';
const REPO = `hubtest/${VARIANT}`;
const POLICY = { spec: 'gdn8-speed4' };
const MAX_SHARD = 40000;
const N = 3;

let fx: FixtureRepo;
let server: HubTestServer;
let commit: string;
let tmp: string;
let DIR: string;
let local: Checkpoint;
let ref: string;
let counter = 0;
const newDir = (name: string) => path.join(tmp, `${name}-${++counter}`);
const newCache = () => fs.mkdtempSync(path.join(tmp, 'cache-'));
// No gap filling: every byte a part downloads is one it reads.
const hubOpts = (cacheDir = newCache(), extra: HubConfigOptions = {}): HubConfigOptions => fx.hubOpts(cacheDir, { gapBytes: 0, ...extra });
const options = (source: string, out: string, extra: Partial<ConvertOptions> = {}): ConvertOptions => ({
  source,
  out,
  force: false,
  rounding: 'metal',
  vision: 'drop',
  mtp: 'keep',
  policy: POLICY,
  maxShardBytes: MAX_SHARD,
  hub: hubOpts(),
  ...extra,
});

const headerBytes = (shard: string) => 8 + Number(fs.readFileSync(path.join(DIR, shard)).readBigUInt64LE(0));
const allHeaders = () => local.shards.reduce((n, s) => n + headerBytes(s), 0);

/** Source bytes part i reads, as absolute byte ranges per source shard (from the local headers). */
function neededBytes(i: number): number {
  const plan = buildConversionPlan(REPO, JSON.parse(fs.readFileSync(path.join(DIR, 'config.json'), 'utf8')), local.tensors, { vision: 'drop', mtp: 'keep', policy: POLICY });
  const layout = layoutArtifact(plan.tensors, 'sidecar', MAX_SHARD);
  const perShard = new Map<string, [number, number][]>();
  for (const r of shardReads(shardsOfPart(layout, { index: i, count: N }))) {
    const t = local.tensors.get(r.tensor)!;
    const list = perShard.get(t.shard) ?? [];
    list.push([t.offset + r.start, t.offset + r.end]);
    perShard.set(t.shard, list);
  }
  // Union of the ranges (a byte read twice is downloaded once).
  let n = 0;
  for (const list of perShard.values()) {
    list.sort((a, b) => a[0] - b[0]);
    let end = -1;
    for (const [s, e] of list) {
      if (e <= end) continue;
      n += e - Math.max(s, end);
      end = e;
    }
  }
  return n;
}

/** Every file of `repo@main` (besides .gitattributes and the part manifests) downloaded into a new folder. */
async function download(repoId: string): Promise<string> {
  const repo = await HubRepo.open(repoId, resolveHubConfig(hubOpts()));
  const out = newDir('download');
  fs.mkdirSync(out);
  for (const f of repo.files.filter((x) => x.path !== '.gitattributes' && !x.path.startsWith('mtpkit-parts/'))) {
    fs.copyFileSync(await repo.ensureFile(f.path), path.join(out, f.path));
  }
  return out;
}

beforeAll(async () => {
  fx = await startFixtureRepo(VARIANT, 'mtpkit-parts-hub-');
  ({ tmp, dir: DIR, server, commit, local } = fx);
  ref = newDir('single');
  server.reset();
  await runConvert(options(REPO, ref));
}, 60000);
afterAll(async () => fx?.close());

describe('parts pushed to the Hub, then assembled there', () => {
  const TARGET = 'me/parts-out';
  const outs: string[] = [];

  test('each part downloads only its own ranges; together what one machine downloads', async () => {
    // One machine, also by ranges only (by default it would take a mostly-needed shard whole).
    server.reset();
    await runConvert(options(REPO, newDir('single-again'), { hub: hubOpts(newCache(), { wholeShardFraction: 1 }) }));
    const singleTensorBytes = server.bytesServed(/\.safetensors$/) - allHeaders();

    // What `plan --parts` predicts, from a cache holding only what opening the source reads.
    const planned = await (async () => {
      const src = await HubSource.open(REPO, partHubOptions(hubOpts()));
      try {
        const plan = buildConversionPlan(src.label, await src.readJson('config.json'), src.tensors, { vision: 'drop', mtp: 'keep', policy: POLICY });
        return await partitionReport(src, layoutArtifact(plan.tensors, 'sidecar', MAX_SHARD), N);
      } finally {
        await src.close();
      }
    })();
    const opened = allHeaders() + ['config.json', 'model.safetensors.index.json'].reduce((a, f) => a + fs.statSync(path.join(DIR, f)).size, 0);

    let sum = 0;
    for (const i of [2, 3, 1]) {
      server.reset();
      const out = newDir(`part${i}`);
      outs[i] = out;
      const s = await runConvertPart({ ...options(REPO, out), part: { index: i, count: N }, push: { repo: TARGET } });
      expect(s.skipped).toBeUndefined();
      expect(s.sourceRevision).toBe(commit);
      // What the server sent of the source shards: their headers (read at open) and this part's ranges.
      const served = server.bytesServed(new RegExp(`^${REPO}/.*\\.safetensors$`));
      expect([i, served - allHeaders()]).toEqual([i, neededBytes(i)]);
      expect(s.bytesFetched).toBeGreaterThanOrEqual(served);
      expect([i, server.bytesServed(new RegExp(`^${REPO}/`)) - opened]).toEqual([i, planned.parts[i - 1].fetchBytes]);
      expect(planned.parts[i - 1].files).toEqual(s.files);
      sum += served - allHeaders();
      // Pushed as one commit holding the part's files and manifest.
      expect(s.pushed?.files).toBe(s.files.length + 1);
      expect(server.lfsBytesReceived).toBe(s.files.reduce((a, f) => a + fs.statSync(path.join(out, f)).size, 0));
    }
    expect(sum).toBe(singleTensorBytes);
  }, 120000);

  test('assemble --repo adds the final commit; the repo validates and equals the single-machine artifact', async () => {
    server.reset();
    const s = await runAssemble({ repo: TARGET, hub: hubOpts() });
    expect(s.parts).toBe(N);
    // Assembling reads headers and small files of the source, never a tensor byte.
    expect(server.bytesServed(new RegExp(`^${REPO}/.*\\.safetensors$`))).toBe(allHeaders());
    expect(server.lfsBytesReceived).toBe(0);
    const got = await download(TARGET);
    expect(treeOf(got)).toEqual(treeOf(ref));
    expect(differingFiles(ref, got)).toEqual([]);
    expect((await validateArtifact(got)).problems).toEqual([]);
  }, 120000);

  test('re-running a pushed part (on a fresh machine) downloads and uploads nothing', async () => {
    server.reset();
    const s = await runConvertPart({ ...options(REPO, newDir('rerun')), part: { index: 2, count: N }, push: { repo: TARGET } });
    expect(s.skipped).toBe('hub');
    expect(server.bytesServed(new RegExp(`^${REPO}/.*\\.safetensors$`))).toBe(allHeaders());
    expect(server.lfsBytesReceived).toBe(0);
    expect(server.requests.filter((r) => r.method === 'POST' && /\/commit\//.test(r.path))).toEqual([]);
  }, 60000);

  test('a push that failed is completed by a re-run, without converting or uploading the shards again', async () => {
    const flaky = (extra: HubConfigOptions = {}) => ({ ...options(REPO, outs[1], { hub: hubOpts(newCache(), extra) }), part: { index: 1, count: N }, push: { repo: 'me/flaky' } });
    server.reset();
    server.faults.fail.push({ match: /^POST \/api\/models\/me\/flaky\/commit\//, status: 500, times: 1 });
    await expect(runConvertPart(flaky({ maxAttempts: 1 }))).rejects.toThrow(/HTTP 500/);
    expect(server.lfsBytesReceived).toBeGreaterThan(0);
    server.reset();
    const s = await runConvertPart(flaky());
    expect(s.skipped).toBe('local');
    expect(s.pushed?.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(server.lfsBytesReceived).toBe(0);
    expect(server.bytesServed(new RegExp(`^${REPO}/.*\\.safetensors$`))).toBe(allHeaders());
  }, 60000);

  test('assemble --repo with a part missing, or a shard missing from the repo, is refused naming it', async () => {
    for (const i of [1, 3]) await runConvertPart({ ...options(REPO, outs[i]), part: { index: i, count: N }, push: { repo: 'me/incomplete' } });
    const err = await runAssemble({ repo: 'me/incomplete', hub: hubOpts() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/missing part 2\/3 \(found 1, 3\)/);

    // Part 2's manifest without its shards (an interrupted upload would not commit, but a hand-made repo can).
    const manifestOnly = newDir('manifest-only');
    fs.cpSync(path.join(outs[2], 'mtpkit-parts'), path.join(manifestOnly, 'mtpkit-parts'), { recursive: true });
    await publishArtifact(manifestOnly, { repo: 'me/incomplete', config: resolveHubConfig(hubOpts()) });
    const err2 = await runAssemble({ repo: 'me/incomplete', hub: hubOpts() }).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(InputError);
    const shard = JSON.parse(fs.readFileSync(path.join(outs[2], 'mtpkit-parts', 'part-00002-of-00003.json'), 'utf8')).shards[0].file;
    expect((err2 as Error).message).toContain(`part 2/3: ${shard} is not in me/incomplete`);
  }, 60000);
});

test('a part converted from another source revision is refused, naming the part and both revisions', async () => {
  const v2 = path.join(tmp, 'v2');
  fs.cpSync(DIR, v2, { recursive: true });
  fs.writeFileSync(path.join(v2, 'README.md'), '---\nlicense: apache-2.0\n---\n# a tiny test model, second revision\n');
  const commit2 = await server.addRepoFromFolder(REPO, v2, 'v2');
  expect(commit2).not.toBe(commit);
  const dir = newDir('mixed-rev');
  await runConvertPart({ ...options(`${REPO}@${commit}`, path.join(dir, 'a')), part: { index: 1, count: 2 } });
  await runConvertPart({ ...options(`${REPO}@v2`, path.join(dir, 'b')), part: { index: 2, count: 2 } });
  const err = await runAssemble({ out: newDir('x'), partsDir: dir, hub: hubOpts() }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(InputError);
  expect((err as Error).message).toMatch(new RegExp(`part 2/2 was converted from source revision ${commit2}, part 1/2 .* from ${commit}`));
  expect((err as InputError).message + JSON.stringify((err as InputError).place)).toContain(path.join(dir, 'b', 'mtpkit-parts', 'part-00002-of-00002.json'));
}, 60000);
