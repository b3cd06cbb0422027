/**
 * Ctrl-C while a Hub download is in flight (here: stalled, so only an abort can end it; the idle watchdog
 * is set to an hour) stops `convert` (whole-shard downloads) and `convert --part` (range downloads) at once
 * with exit 130, not at the first tensor after the transfer.
 * The cache holds no blob that is not the served file's exact content, and the next run completes from it.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { assertDistFresh, spawnCli, waitWhileRunning, type CliRun } from '../support/cli-process';
import { startFixtureRepo, type FixtureRepo } from '../support/hub-server/fixture-repo';
import { listTree, TOKEN } from '../support/hub-server/harness';

const VARIANT = 'qwen35-dense-tied';
const STALL_AFTER = 200_000;
let fx: FixtureRepo;

beforeAll(async () => {
  assertDistFresh();
  fx = await startFixtureRepo(VARIANT, 'mtpkit-hub-interrupt-');
});
afterAll(() => fx.close());

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test.each([
  ['convert', [] as string[]],
  ['convert --part 1/2 (range downloads)', ['--part', '1/2']],
])('%s: SIGINT during a stalled shard download exits 130 at once, no wrong blob in the cache, the next run finishes', async (what, extra) => {
  fx.server.reset();
  const tag = extra.length ? 'part' : 'whole';
  const shard = fs.readdirSync(fx.dir).find((f) => f.endsWith('.safetensors'))!;
  const shardBytes = fs.readFileSync(path.join(fx.dir, shard));
  expect(shardBytes.length).toBeGreaterThan(2 * STALL_AFTER);
  const cache = path.join(fx.tmp, `cache-${tag}`);
  const env = { HF_ENDPOINT: fx.server.url, HF_TOKEN: TOKEN, HF_HUB_CACHE: cache, HF_HUB_DOWNLOAD_TIMEOUT: '3600' };
  const out = path.join(fx.tmp, `out-${tag}`);
  // Header reads stay below STALL_AFTER bytes; the whole-shard download stops there and stays silent.
  fx.server.faults.cut.push({ match: new RegExp(`${shard.replace(/\./g, '\\.')}$`), afterBytes: STALL_AFTER, times: 1000, stall: true });
  let run: CliRun | undefined;
  try {
    run = spawnCli(['convert', fx.repo, out, ...extra, '--json'], env);
    await waitWhileRunning(run.child, () => fx.server.requests.some((r) => r.file?.endsWith(shard) && r.bytes >= STALL_AFTER), 'the stalled shard download');
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(r.stdout + r.stderr).toContain('interrupted by SIGINT');
    expect(fs.existsSync(out)).toBe(false);
  } finally {
    if (run && run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
  }

  // Every finished blob is exactly a served file; a partial download is only ever a prefix of its file.
  const served = new Map(fs.readdirSync(fx.dir).map((f) => [f, fs.readFileSync(path.join(fx.dir, f))]));
  const blobs = (await listTree(cache)).filter((f) => f.includes('/blobs/'));
  const contents = new Set([...served.values()].map(sha256));
  for (const b of blobs) {
    const data = fs.readFileSync(path.join(cache, b));
    if (b.endsWith('.incomplete')) expect(data.equals(shardBytes.subarray(0, data.length))).toBe(true);
    else expect(contents.has(sha256(data))).toBe(true);
  }
  expect(blobs.some((b) => !b.endsWith('.incomplete') && sha256(fs.readFileSync(path.join(cache, b))) === sha256(shardBytes))).toBe(false);

  fx.server.faults.cut.length = 0;
  const again = await spawnCli(['convert', fx.repo, out, ...extra, '--json'], env).done;
  expect(again.code).toBe(0);
  if (!extra.length) expect((await spawnCli(['validate', out], env).done).code).toBe(0);
  expect(what).toBeTruthy();
}, 120000);
