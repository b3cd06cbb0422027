/** Test setup shared by the Hub tests: a loopback server with the sample checkpoint and fresh cache folders. */
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { HubConfig, HubConfigOptions, resolveHubConfig } from '../../../src/hub/hub-config';
import { makeSampleCheckpoint, SampleTensor } from './fixtures';
import { HubServerOptions, HubTestServer } from './server';

export const TOKEN = 'hf_loopbackTestToken0123456789';
export const REPO = 'org/model';

export interface Harness {
  server: HubTestServer;
  dir: string;
  tensors: Map<string, SampleTensor>;
  commit: string;
  /** A new, empty cache folder. */
  newCacheDir(): Promise<string>;
  /** Config for the server: token from HF_TOKEN, fast retries, the given cache. */
  config(cacheDir: string, extra?: HubConfigOptions): HubConfig;
  close(): Promise<void>;
}

export async function startHarness(opts: HubServerOptions = { token: TOKEN }): Promise<Harness> {
  const server = await HubTestServer.start(opts);
  const { dir, tensors } = await makeSampleCheckpoint();
  const commit = await server.addRepoFromFolder(REPO, dir);
  const temps: string[] = [dir];
  return {
    server,
    dir,
    tensors,
    commit,
    async newCacheDir() {
      const d = await fsp.mkdtemp(path.join(os.tmpdir(), 'mtpkit-hub-cache-'));
      temps.push(d);
      return d;
    },
    config(cacheDir, extra = {}) {
      return resolveHubConfig({ endpoint: server.url, cacheDir, retryBaseMs: 1, idleTimeoutMs: 5000, env: { HF_TOKEN: opts.token ? TOKEN : '' }, ...extra });
    },
    async close() {
      await server.close();
      for (const d of temps) await fsp.rm(d, { recursive: true, force: true });
    },
  };
}

/** Every file under `dir` (relative paths), links included. */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (abs: string, rel: string): Promise<void> => {
    let entries;
    try {
      entries = await fsp.readdir(abs, { withFileTypes: true });
    } catch {
      return;
    }
    for (const d of entries) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) await walk(path.join(abs, d.name), r);
      else out.push(r);
    }
  };
  await walk(dir, '');
  return out.sort();
}
