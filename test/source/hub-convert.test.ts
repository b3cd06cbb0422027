/**
 * Converting straight from the (loopback) Hub: the artifact equals the local conversion byte for byte,
 * only planned tensor bytes are downloaded, the cache serves later runs (also offline), `plan` predicts
 * the download exactly, and the token never shows up anywhere.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { buildConversionPlan } from '../../src/convert/conversion-plan';
import { runConvert, type ConvertOptions } from '../../src/convert/pipeline';
import { planReads } from '../../src/convert/plan-reads';
import { InputError } from '../../src/errors';
import type { HubConfigOptions } from '../../src/hub/hub-config';
import { CONVERT_SMALL_FILES, HubSource } from '../../src/source/hub-source';
import { isVisionTensor } from '../../src/plan/tensor-names';
import type { Checkpoint } from '../../src/safetensors/checkpoint';
import type { TensorInfo } from '../../src/safetensors/types';
import { listTree, TOKEN } from '../support/hub-server/harness';
import type { HubTestServer } from '../support/hub-server/server';
import { startFixtureRepo, type FixtureRepo } from '../support/hub-server/fixture-repo';
import { parseJsonOutput, runCli } from '../support/run-cli';

const VARIANT = 'qwen35-moe';
/** A copy of the fixture with a model card (the pipeline reads its license). */
let DIR: string;
const REPO = `hubtest/${VARIANT}`; // not a local path (local folders win over repo specs)

let fx: FixtureRepo;
let server: HubTestServer;
let commit: string;
let tmp: string;
let local: Checkpoint;
let localOut: string;
let counter = 0;

const newDir = (name: string) => path.join(tmp, `${name}-${++counter}`);
const newCache = () => fs.mkdtempSync(path.join(tmp, 'cache-'));
const hubOpts = (cacheDir: string, extra: HubConfigOptions = {}): HubConfigOptions => fx.hubOpts(cacheDir, extra);
const convert = (source: string, out: string, hub?: HubConfigOptions) =>
  runConvert({ source, out, force: false, rounding: 'metal', vision: 'drop', mtp: 'keep', policy: { spec: 'none' }, ...(hub ? { hub } : {}) } as ConvertOptions);

/** Header bytes (8 + N) of a local shard: the independent reference for what header reads cost. */
const headerBytes = (shard: string) => 8 + Number(fs.readFileSync(path.join(DIR, shard)).readBigUInt64LE(0));
const sizeOf = (rel: string) => fs.statSync(path.join(DIR, rel)).size;
const assetsInFixture = () => CONVERT_SMALL_FILES.filter((a) => fs.existsSync(path.join(DIR, a)));
const sum = (ts: TensorInfo[]) => ts.reduce((n, t) => n + t.byteLength, 0);
const shardKey = (shard: string) => `${REPO}/${shard}`;

/** Every served [start, end) of a shard, from the server's request log. */
function servedRanges(shard: string): { start: number; end: number; status: number }[] {
  return server.requests
    .filter((r) => r.file === shardKey(shard) && r.bytes > 0)
    .map((r) => {
      const m = /^bytes=(\d+)-(\d+)$/.exec(r.range ?? '');
      const size = sizeOf(shard);
      return m ? { start: Number(m[1]), end: Math.min(Number(m[2]) + 1, size), status: r.status } : { start: 0, end: size, status: r.status };
    });
}

/** The runtime contract without what legitimately differs: when, from where, and the card's checksum. */
function contractCore(file: string): { core: unknown; source: unknown } {
  const j = JSON.parse(fs.readFileSync(file, 'utf8')) as { verified_on?: { timestamp?: string }; mtpkit_provenance?: { source?: unknown; created_at?: string } };
  delete j.verified_on?.timestamp;
  delete j.mtpkit_provenance?.created_at;
  const source = j.mtpkit_provenance?.source;
  delete j.mtpkit_provenance?.source;
  const strip = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.filter((e) => !(e && typeof e === 'object' && (e as { file?: string }).file === 'README.md')).map(strip)
      : v && typeof v === 'object'
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, strip(x)]))
        : v;
  return { core: strip(j), source };
}

async function expectSameArtifact(out: string): Promise<void> {
  const want = await listTree(localOut);
  expect(await listTree(out)).toEqual(want);
  expect(want.filter((f) => f.endsWith('.safetensors')).length).toBeGreaterThan(0);
  for (const f of want) {
    // The card and the contract name the source; everything else must be identical.
    if (f === 'README.md') continue;
    if (f === 'mtplx_runtime.json') {
      const hub = contractCore(path.join(out, f));
      expect(hub.core).toEqual(contractCore(path.join(localOut, f)).core);
      expect(hub.source).toEqual({ repo: REPO, revision: commit });
      continue;
    }
    expect([f, fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(localOut, f)))]).toEqual([f, true]);
  }
  expect(fs.readFileSync(path.join(out, 'README.md'), 'utf8')).toContain(commit);
}

/** Every file under `dir` whose bytes contain `needle`. */
function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && fs.readFileSync(p).includes(needle)) hits.push(p);
    }
  };
  walk(dir);
  return hits;
}

beforeAll(async () => {
  fx = await startFixtureRepo(VARIANT, 'mtpkit-hub-convert-');
  ({ tmp, dir: DIR, server, commit, local } = fx);
  localOut = newDir('local');
  await convert(DIR, localOut);
});
afterAll(async () => fx?.close());
beforeEach(() => server.reset());

describe('convert from the Hub with range reads', () => {
  let cache: string;
  let opts: HubConfigOptions;
  const vision = () => [...local.tensors.values()].filter((t) => isVisionTensor(t.name));
  const text = () => [...local.tensors.values()].filter((t) => !isVisionTensor(t.name));

  beforeAll(() => {
    cache = newCache();
    // No gap filling and no whole-shard rule: every byte fetched is one the plan reads.
    opts = hubOpts(cache, { gapBytes: 0, wholeShardFraction: 1 });
  });

  test('the fixture has two shards, vision tensors to skip and a model card', () => {
    expect(local.shards.length).toBe(2);
    expect(vision().length).toBeGreaterThan(0);
    expect(local.shards.some((s) => vision().some((t) => t.shard === s))).toBe(true);
    expect(assetsInFixture()).toEqual(expect.arrayContaining(['README.md', 'tokenizer.json']));
  });

  test('open reads headers by range, config and index whole; identity needs no shard bytes', async () => {
    const src = await HubSource.open(REPO, opts);
    try {
      expect(src.label).toBe(`${REPO}@${commit}`);
      const fmt = (m: Map<string, TensorInfo>) => [...m.values()].map((t) => `${t.name} ${t.dtype} ${t.shape} ${t.offset} ${t.byteLength} ${t.shard}`).sort();
      expect(fmt(src.tensors)).toEqual(fmt(local.tensors));
      const headers = local.shards.reduce((n, s) => n + headerBytes(s), 0);
      expect(server.bytesServed(/\.safetensors$/)).toBe(headers);
      expect(server.bytesServed()).toBe(headers + sizeOf('config.json') + sizeOf('model.safetensors.index.json'));

      expect(src.provenance()).toEqual({ kind: 'hub', repo: REPO, revision: 'main', commit, endpoint: server.url });
      const digests = await src.inputDigests();
      expect(digests).toEqual(
        local.shards.map((s) => ({ path: s, size: sizeOf(s), sha256: createHash('sha256').update(fs.readFileSync(path.join(DIR, s))).digest('hex') })),
      );
      expect(server.bytesServed(/\.safetensors$/)).toBe(headers); // digests came from the listing
      expect(await src.readJson('no-such.json')).toBeUndefined();
      expect(await src.copyFile('no-such.txt', path.join(tmp, 'x'))).toBe(false);
      expect(JSON.stringify(src.provenance())).not.toContain(TOKEN);
    } finally {
      await src.close();
    }
  });

  test('plan estimate = bytes served = small files + text tensors; no vision byte; artifact identical', async () => {
    const src = await HubSource.open(REPO, opts);
    const plan = buildConversionPlan(src.label, await src.readJson('config.json'), src.tensors, { vision: 'drop', mtp: 'keep', policy: { spec: 'none' } });
    const est = await src.estimateFetch(planReads(plan.tensors));
    await src.close();

    server.resetStats();
    const out = newDir('hub');
    await convert(REPO, out, opts);
    await expectSameArtifact(out);

    // Independent reference: all text tensors from the local headers, plus the asset files.
    const assets = assetsInFixture();
    expect(server.bytesServed(/\.safetensors$/)).toBe(sum(text()));
    expect(server.bytesServed()).toBe(sum(text()) + assets.reduce((n, a) => n + sizeOf(a), 0));
    expect(est.bytesToFetch).toBe(server.bytesServed());
    expect([...est.wholeFiles].sort()).toEqual([...assets].sort());
    for (const shard of local.shards) {
      expect(server.bytesByFile.get(shardKey(shard)) ?? 0).toBe(sum(text().filter((t) => t.shard === shard)));
      const served = servedRanges(shard);
      expect(served.every((r) => r.status === 206)).toBe(true);
      for (const v of vision().filter((t) => t.shard === shard)) {
        const overlap = served.filter((r) => r.start < v.offset + v.byteLength && v.offset < r.end);
        expect([v.name, overlap]).toEqual([v.name, []]);
      }
    }
    expect(est.rangeRequests).toBe(server.requests.filter((r) => r.file?.endsWith('.safetensors') && r.status === 206).length);
    expect(filesContaining(cache, TOKEN)).toEqual([]);
    expect(filesContaining(out, TOKEN)).toEqual([]);
  });

  // Uses the cache the previous test filled.
  test('a warm cache serves 0 bytes; offline then needs no request at all', async () => {
    const out = newDir('warm');
    await convert(REPO, out, opts);
    expect(server.bytesServed()).toBe(0);
    await expectSameArtifact(out);

    server.resetStats();
    const offline = newDir('offline');
    await convert(REPO, offline, { ...opts, env: { HF_TOKEN: TOKEN, HF_HUB_OFFLINE: '1' } });
    expect(server.requests).toEqual([]);
    await expectSameArtifact(offline);
  });

  test('offline with an empty cache, or with headers only, fails naming what is missing', async () => {
    const out = newDir('offline-empty');
    const empty = newCache();
    const err = await convert(REPO, out, hubOpts(empty, { offline: true })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/offline mode.*hubtest\/qwen35-moe@main is not in the cache \(no refs\/main under /);
    expect(fs.existsSync(out)).toBe(false);

    // Headers, config and index cached (as `plan` leaves them), tensor bytes not.
    const partial = newCache();
    await (await HubSource.open(REPO, hubOpts(partial, { gapBytes: 0, wholeShardFraction: 1 }))).close();
    server.resetStats();
    const err2 = await convert(REPO, out, hubOpts(partial, { offline: true, gapBytes: 0, wholeShardFraction: 1 })).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(InputError);
    expect((err2 as Error).message).toMatch(/offline mode.*'model\.safetensors-0000[12]-of-00002\.safetensors' are not in the cache|offline mode.*'(tokenizer|LICENSE|generation_config)[^']*' is not in the cache/);
    expect(server.requests).toEqual([]);
    expect(fs.existsSync(out)).toBe(false);
  });
});

test('whole-shard rule (defaults): a shard mostly needed comes whole, verified, and the artifact is the same', async () => {
  const cache = newCache();
  const src = await HubSource.open(REPO, hubOpts(cache));
  const plan = buildConversionPlan(src.label, await src.readJson('config.json'), src.tensors, { vision: 'drop', mtp: 'keep', policy: { spec: 'none' } });
  const est = await src.estimateFetch(planReads(plan.tensors));
  await src.close();

  // Reference decision: text tensors of a shard span [first, last) (1 MiB gaps close every hole here).
  const wholeShards = local.shards.filter((s) => {
    const ts = [...local.tensors.values()].filter((t) => t.shard === s && !isVisionTensor(t.name));
    const span = Math.max(...ts.map((t) => t.offset + t.byteLength)) - Math.min(...ts.map((t) => t.offset));
    return span > 0.5 * sizeOf(s);
  });
  expect(wholeShards.length).toBeGreaterThan(0);
  expect(est.wholeFiles.filter((f) => f.endsWith('.safetensors')).sort()).toEqual([...wholeShards].sort());

  server.resetStats();
  const out = newDir('whole');
  await convert(REPO, out, hubOpts(cache));
  await expectSameArtifact(out);
  expect(server.bytesServed()).toBe(est.bytesToFetch);
  for (const s of wholeShards) expect(server.bytesByFile.get(shardKey(s))).toBe(sizeOf(s));
  expect(fs.readdirSync(path.join(cache, 'models--hubtest--qwen35-moe', 'blobs')).filter((b) => b.includes('.incomplete'))).toEqual([]);
});

test('MTP-only reads (a graft) fetch the MTP head by ranges, not the shards', async () => {
  const cache = newCache();
  const src = await HubSource.open(REPO, hubOpts(cache));
  try {
    const mtp = [...src.tensors.values()].filter((t) => t.name.startsWith('mtp.'));
    expect(mtp.length).toBeGreaterThan(0);
    const mtpBytes = sum(mtp);
    const reads = mtp.map((t) => ({ tensor: t.name, start: 0, end: t.byteLength }));
    const est = await src.estimateFetch(reads, []);
    expect(est.wholeFiles).toEqual([]);
    expect(est.bytesToFetch).toBeGreaterThanOrEqual(mtpBytes);
    expect(est.bytesToFetch).toBeLessThanOrEqual(mtpBytes * 1.05);
    const shardBytes = local.shards.reduce((n, s) => n + sizeOf(s), 0);
    expect(mtpBytes).toBeLessThan(shardBytes * 0.3);

    server.resetStats();
    await src.prepare(reads, []);
    expect(server.bytesServed()).toBe(est.bytesToFetch);
    expect(server.bytesServed(/\.safetensors$/)).toBe(est.bytesToFetch);
    for (const t of mtp) expect((await src.readTensor(t.name)).equals(await local.readTensor(t.name))).toBe(true);
    const half = Math.floor(mtp[0].byteLength / 2);
    expect((await src.readRange(mtp[0].name, half, mtp[0].byteLength)).equals(await local.readRange(mtp[0].name, half, mtp[0].byteLength))).toBe(true);
    // Not planned: refused rather than downloaded.
    const other = [...src.tensors.values()].find((t) => t.name.startsWith('model.language_model.layers.0.'))!;
    await expect(src.readTensor(other.name)).rejects.toThrow(/not in the prepared fetch plan/);
    expect(server.bytesServed()).toBe(est.bytesToFetch);
    expect(await src.estimateFetch(reads, [])).toEqual({ bytesToFetch: 0, wholeFiles: [], rangeRequests: 0 });
  } finally {
    await src.close();
  }
});

describe('CLI', () => {
  const saved: Record<string, string | undefined> = {};
  const setEnv = (k: string, v: string | undefined) => {
    if (!(k in saved)) saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  };
  beforeEach(() => {
    setEnv('HF_ENDPOINT', server.url);
    setEnv('HF_TOKEN', TOKEN);
    setEnv('HF_HUB_OFFLINE', undefined);
    setEnv('HF_HUB_DOWNLOAD_TIMEOUT', undefined);
  });
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  test('plan --json shows exactly the bytes the following convert downloads; then nothing', async () => {
    const cache = newCache();
    const plan = await runCli(['plan', REPO, '--json', '--cache-dir', cache, '--concurrency', '2']);
    expect(plan.stderr).toBe('');
    expect(plan.code).toBe(0);
    const fetch = parseJsonOutput<{ fetch: { bytesToFetch: number; wholeFiles: string[]; rangeRequests: number } }>(plan).fetch;
    expect(fetch.bytesToFetch).toBeGreaterThan(0);

    server.resetStats();
    const out = newDir('cli');
    const conv = await runCli(['convert', REPO, out, '--json', '--cache-dir', cache]);
    expect(conv.code).toBe(0);
    expect(conv.stderr).toBe(''); // --json: no progress
    expect(server.bytesServed()).toBe(fetch.bytesToFetch);
    await expectSameArtifact(out);

    const again = parseJsonOutput<{ fetch: { bytesToFetch: number; wholeFiles: string[] } }>(await runCli(['plan', REPO, '--json', '--cache-dir', cache, '--offline']));
    expect(again.fetch).toEqual({ bytesToFetch: 0, wholeFiles: [], rangeRequests: 0 });
    for (const r of [plan, conv]) expect(r.stdout + r.stderr).not.toContain(TOKEN);
  });

  test('convert shows transfer progress as plain lines in CI; --offline on an empty cache exits 2', async () => {
    setEnv('CI', 'true');
    const out = newDir('cli-progress');
    const r = await runCli(['convert', REPO, out, '--cache-dir', newCache()]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^fetched model\.safetensors-00001-of-00002\.safetensors \(/m);
    expect(r.stderr).toMatch(/^\[\d+\/\d+ files\] /m);
    expect(r.stderr).not.toContain('\r');

    const off = await runCli(['plan', REPO, '--offline', '--cache-dir', newCache()]);
    expect(off.code).toBe(2);
    expect(off.stderr).toMatch(/offline mode.*hubtest\/qwen35-moe@main is not in the cache/);
    setEnv('HF_HUB_OFFLINE', '1');
    const offEnv = await runCli(['plan', REPO, '--json', '--cache-dir', newCache()]);
    expect(offEnv.code).toBe(2);
    expect(offEnv.stdout).toMatch(/offline mode \(HF_HUB_OFFLINE\)/);
    // --no-offline overrides the variable.
    expect((await runCli(['plan', REPO, '--json', '--no-offline', '--cache-dir', newCache()])).code).toBe(0);
  });

  test('the token never appears: not in errors (even echoed by a server), outputs or JSON', async () => {
    server.faults.fail.push({ match: /\/api\/models\//, status: 400, times: 1, echoAuth: true });
    const out = newDir('leak');
    const cache = newCache();
    const r = await runCli(['convert', REPO, out, '--cache-dir', cache]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('hf_***');
    expect(r.stdout + r.stderr).not.toContain(TOKEN);

    server.faults.fail.push({ match: /\/api\/models\//, status: 400, times: 1, echoAuth: true });
    const j = await runCli(['plan', REPO, '--json', '--cache-dir', cache]);
    expect(j.code).not.toBe(0);
    expect(j.stdout + j.stderr).not.toContain(TOKEN);

    const ok = await runCli(['convert', REPO, out, '--json', '--cache-dir', cache]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).not.toContain(TOKEN);
    expect(filesContaining(out, TOKEN)).toEqual([]);
    expect(filesContaining(cache, TOKEN)).toEqual([]);

    setEnv('HF_TOKEN', undefined);
    setEnv('HF_HOME', path.join(tmp, 'no-hf-home'));
    const anon = await runCli(['plan', REPO, '--cache-dir', newCache()]);
    expect(anon.code).toBe(2);
    expect(anon.stderr).toMatch(/authentication required/);

    const tokenFile = path.join(tmp, 'token');
    fs.writeFileSync(tokenFile, `${TOKEN}\n`);
    const withFile = await runCli(['plan', REPO, '--json', '--token-file', tokenFile, '--cache-dir', newCache()]);
    expect(withFile.code).toBe(0);
    expect(withFile.stdout).not.toContain(TOKEN);
  });
});
