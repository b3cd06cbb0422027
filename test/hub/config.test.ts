/** Repo specs, environment configuration, token secrecy, HTTP error mapping, progress rendering. */
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { inspect } from 'util';
import { InputError, MtpkitError } from '../../src/errors';
import { resolveHubConfig } from '../../src/hub/hub-config';
import { HubRepo } from '../../src/hub/hub-repo';
import { createProgressRenderer, formatDuration, formatSize } from '../../src/hub/progress';
import { publishArtifact } from '../../src/hub/publish';
import { isRepoSpec, parseRepoSpec } from '../../src/hub/repo-spec';
import { SHARD1 } from '../support/hub-server/fixtures';
import { Harness, listTree, REPO, startHarness, TOKEN } from '../support/hub-server/harness';

let tmp: string;
beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'mtpkit-hub-config-'));
});
afterAll(async () => fsp.rm(tmp, { recursive: true, force: true }));

describe('repo specs', () => {
  test('org/name[@revision]', () => {
    expect(parseRepoSpec('Qwen/Qwen3.5-27B')).toEqual({ repo: 'Qwen/Qwen3.5-27B', revision: 'main' });
    expect(parseRepoSpec('Qwen/Qwen3.5-27B@v1.0')).toEqual({ repo: 'Qwen/Qwen3.5-27B', revision: 'v1.0' });
    expect(parseRepoSpec('a_b/c-d@refs/pr/3')).toEqual({ repo: 'a_b/c-d', revision: 'refs/pr/3' });
    const sha = '0123456789abcdef0123456789abcdef01234567';
    expect(parseRepoSpec(`o/n@${sha}`)).toEqual({ repo: 'o/n', revision: sha });
    for (const bad of ['name', 'a/b/c', '../x', 'a/..', 'a/b..c', 'a--b/c', '/a', 'a/', 'a/b@', 'a/b@x..y', 'a/b@-x', 'a/b@x y', 'a b/c', 'a/b.git', '.a/b']) {
      expect([bad, parseRepoSpec(bad)]).toEqual([bad, null]);
    }
  });

  test('an existing local path is never a repo spec', async () => {
    expect(isRepoSpec('org/model')).toBe(true);
    const cwd = process.cwd();
    await fsp.mkdir(path.join(tmp, 'org', 'model'), { recursive: true });
    process.chdir(tmp);
    try {
      expect(isRepoSpec('org/model')).toBe(false);
      expect(isRepoSpec('org/other')).toBe(true);
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('configuration from options and environment', () => {
  test('endpoint, cache dir and offline follow HF_* variables with the documented precedence', () => {
    const home = path.join(tmp, 'hfhome');
    expect(resolveHubConfig({ env: {} }).endpoint).toBe('https://huggingface.co');
    expect(resolveHubConfig({ env: { HF_ENDPOINT: 'https://mirror.example/' } }).endpoint).toBe('https://mirror.example');
    expect(resolveHubConfig({ env: { HF_ENDPOINT: 'https://mirror.example' }, endpoint: 'http://127.0.0.1:1' }).endpoint).toBe('http://127.0.0.1:1');
    expect(() => resolveHubConfig({ env: { HF_ENDPOINT: 'ftp://x' } })).toThrow(InputError);

    expect(resolveHubConfig({ env: { HF_HOME: home } }).cacheDir).toBe(path.join(home, 'hub'));
    expect(resolveHubConfig({ env: { HF_HOME: home, HUGGINGFACE_HUB_CACHE: '/c2' } }).cacheDir).toBe('/c2');
    expect(resolveHubConfig({ env: { HF_HOME: home, HUGGINGFACE_HUB_CACHE: '/c2', HF_HUB_CACHE: '/c1' } }).cacheDir).toBe('/c1');
    expect(resolveHubConfig({ env: { HF_HUB_CACHE: '/c1' }, cacheDir: '/c0' }).cacheDir).toBe('/c0');
    expect(resolveHubConfig({ env: {} }).cacheDir).toBe(path.join(os.homedir(), '.cache', 'huggingface', 'hub'));

    for (const v of ['1', 'true', 'ON', 'yes']) expect(resolveHubConfig({ env: { HF_HUB_OFFLINE: v } }).offline).toBe(true);
    for (const v of ['0', '', 'false']) expect(resolveHubConfig({ env: { HF_HUB_OFFLINE: v } }).offline).toBe(false);
    expect(resolveHubConfig({ env: { HF_HUB_OFFLINE: '1' }, offline: false }).offline).toBe(false);
    expect(resolveHubConfig({ env: { HF_HUB_DOWNLOAD_TIMEOUT: '2.5' } }).idleTimeoutMs).toBe(2500);
    expect(() => resolveHubConfig({ env: {}, concurrency: 0 })).toThrow(/concurrency/);
  });

  test('token: --token-file, then HF_TOKEN, then HF_TOKEN_PATH, then $HF_HOME/token', async () => {
    const home = path.join(tmp, 'tokhome');
    await fsp.mkdir(home, { recursive: true });
    await fsp.writeFile(path.join(home, 'token'), 'hf_fromHome\n');
    const tf = path.join(tmp, 'tokfile');
    await fsp.writeFile(tf, '  hf_fromFile  \n');
    const tp = path.join(tmp, 'tokpath');
    await fsp.writeFile(tp, 'hf_fromPath');
    expect(resolveHubConfig({ env: { HF_HOME: home, HF_TOKEN: 'hf_env' }, tokenFile: tf }).tokenSource).toBe('token-file');
    expect(resolveHubConfig({ env: { HF_HOME: home, HF_TOKEN: 'hf_env', HF_TOKEN_PATH: tp } }).tokenSource).toBe('HF_TOKEN');
    expect(resolveHubConfig({ env: { HF_HOME: home, HF_TOKEN_PATH: tp } }).tokenSource).toBe('HF_TOKEN_PATH');
    expect(resolveHubConfig({ env: { HF_HOME: home } }).tokenSource).toBe('HF_HOME/token');
    expect(resolveHubConfig({ env: { HF_HOME: path.join(tmp, 'empty') } })).toMatchObject({ tokenSource: 'none', hasToken: false });
    // Which token wins is visible through redaction.
    expect(resolveHubConfig({ env: { HF_HOME: home }, tokenFile: tf }).redact('x hf_fromFile y')).toBe('x hf_*** y');

    await expect(async () => resolveHubConfig({ env: {}, tokenFile: path.join(tmp, 'absent') })).rejects.toThrow(/absent.*cannot read the token file/);
    const bad = path.join(tmp, 'badtok');
    await fsp.writeFile(bad, 'ghp_secretvalue');
    let msg = '';
    try {
      resolveHubConfig({ env: {}, tokenFile: bad });
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/token from token-file does not start with 'hf_'/);
    expect(msg).not.toContain('secretvalue');
  });

  test('the token is not on the config object: not in JSON, inspect or keys', () => {
    const config = resolveHubConfig({ env: { HF_TOKEN: TOKEN } });
    expect(config.hasToken).toBe(true);
    expect(JSON.stringify(config)).not.toContain(TOKEN);
    expect(inspect(config, { showHidden: true, depth: 5 })).not.toContain(TOKEN);
    expect(Object.values(config).map(String).join(' ')).not.toContain(TOKEN);
    expect(config.redact(`a ${TOKEN} b ${TOKEN}`)).toBe('a hf_*** b hf_***');
  });
});

describe('against the loopback Hub', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());
  beforeEach(() => h.server.reset());

  test('a server error that echoes the Authorization header never carries the token out', async () => {
    const cacheDir = await h.newCacheDir();
    const logs: string[] = [];
    const spies = (['log', 'warn', 'error', 'debug', 'info'] as const).map((m) => jest.spyOn(console, m).mockImplementation((...a: unknown[]) => void logs.push(a.map(String).join(' '))));
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (logs.push(String(s)), true));
    const errors: unknown[] = [];
    try {
      h.server.faults.fail.push({ match: /revision/, status: 403, times: 1, echoAuth: true });
      await HubRepo.open(REPO, h.config(cacheDir)).catch((e) => errors.push(e));
      const repo = await HubRepo.open(REPO, h.config(cacheDir), { onProgress: createProgressRenderer({ tty: false }).onProgress });
      h.server.faults.fail.push({ match: /\/cdn\/.*model-00001/, status: 500, times: 99, echoAuth: true });
      await repo.ensureFile(SHARD1).catch((e) => errors.push(e));
      await repo.readRange(SHARD1, 0, 10).catch((e) => errors.push(e));
      h.server.faults.fail.push({ match: /preupload/, status: 400, times: 1, echoAuth: true });
      await publishArtifact(h.dir, { repo: 'org/pub', config: h.config(cacheDir, { maxAttempts: 1 }) }).catch((e) => errors.push(e));
    } finally {
      spies.forEach((s) => s.mockRestore());
      stderr.mockRestore();
    }
    // The server really did echo it: the leak was there to be stopped.
    expect(h.server.requests.filter((r) => r.status >= 400).length).toBeGreaterThanOrEqual(4);
    expect(errors).toHaveLength(4);
    for (const e of errors) {
      expect(e).toBeInstanceOf(MtpkitError);
      const all = `${(e as Error).message}\n${(e as Error).stack}\n${JSON.stringify(e)}\n${inspect(e, { showHidden: true, depth: 5 })}`;
      expect(all).not.toContain(TOKEN);
      expect((e as Error).message).toContain('hf_***');
    }
    expect(errors[0]).toBeInstanceOf(InputError);
    expect((errors[0] as Error).message).toMatch(/org\/model@main.*access denied/);
    expect(logs.join('\n')).not.toContain(TOKEN);
    // Nothing we wrote to the cache holds it either.
    const root = path.join(cacheDir, 'models--org--model');
    for (const f of await listTree(root)) {
      const text = await fsp.readFile(path.join(root, f)).catch(() => Buffer.alloc(0));
      expect(text.includes(TOKEN)).toBe(false);
    }
  });

  test('a wrong or missing token and a missing file map to InputErrors, and 4xx are not retried', async () => {
    const cacheDir = await h.newCacheDir();
    await expect(HubRepo.open(REPO, h.config(cacheDir, { env: { HF_TOKEN: 'hf_wrong' } }))).rejects.toThrow(/token was rejected/);
    await expect(HubRepo.open(REPO, h.config(cacheDir, { env: {} }))).rejects.toThrow(/authentication required/);
    const repo = await HubRepo.open(REPO, h.config(cacheDir));
    h.server.resetStats();
    h.server.faults.fail.push({ match: /\/cdn\/.*model-00001/, status: 404, times: 5 });
    const err = await repo.ensureFile(SHARD1).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/model-00001-of-00002\.safetensors.*not found/);
    expect(h.server.requests.filter((r) => r.path.startsWith('/cdn/'))).toHaveLength(1);
  });
});

describe('progress rendering', () => {
  const sink = () => {
    const out: string[] = [];
    return { out, stream: { write: (s: string) => out.push(s), isTTY: true } };
  };

  test('TTY: one redrawn line with bytes, rate and ETA; CI or no TTY: plain lines', () => {
    let t = 0;
    const a = sink();
    const tty = createProgressRenderer({ stream: a.stream, env: {}, now: () => t });
    t = 1000;
    tty.onProgress({ path: 'x', bytesDone: 1024 * 1024, bytesTotal: 4 * 1024 * 1024 });
    expect(a.out[0]).toBe('\r\x1b[2K[0/1 files] 1.0 MiB / 4.0 MiB  1.0 MiB/s  ETA 3s');
    t = 1050;
    tty.onProgress({ path: 'x', bytesDone: 2 * 1024 * 1024, bytesTotal: 4 * 1024 * 1024 });
    expect(a.out).toHaveLength(1); // throttled
    t = 4000;
    tty.onProgress({ path: 'x', bytesDone: 4 * 1024 * 1024, bytesTotal: 4 * 1024 * 1024 });
    tty.finish();
    expect(a.out[a.out.length - 1]).toMatch(/^\r\x1b\[2K\[1\/1 files\] 4\.0 MiB \/ 4\.0 MiB .*\n$/);

    const b = sink();
    const ci = createProgressRenderer({ stream: b.stream, env: { CI: 'true' }, now: () => t });
    ci.onProgress({ path: 'y', bytesDone: 10, bytesTotal: 20 });
    ci.onProgress({ path: 'y', bytesDone: 20, bytesTotal: 20 });
    expect(b.out.every((l) => !l.includes('\r') && l.endsWith('\n'))).toBe(true);
    expect(b.out).toContain('fetched y (20 B)\n');

    const c = sink();
    createProgressRenderer({ stream: c.stream, env: { HF_HUB_DISABLE_PROGRESS_BARS: '1' } }).onProgress({ path: 'z', bytesDone: 1, bytesTotal: 1 });
    expect(c.out).toEqual([]);
    expect(formatSize(1536)).toBe('1.5 KiB');
    expect(formatDuration(3725)).toBe('1h02m');
    expect(formatDuration(Infinity)).toBe('?');
  });
});
