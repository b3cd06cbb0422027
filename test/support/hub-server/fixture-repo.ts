/**
 * A committed fixture checkpoint served by the loopback Hub: the Hub conversion tests (single machine and
 * partitioned) start from the same repo, a copy of `fixtures/<variant>` with a model card (the pipeline
 * reads its license), opened locally too as the independent reference.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { HubConfigOptions } from '../../../src/hub/hub-config';
import { Checkpoint } from '../../../src/safetensors/checkpoint';
import { TOKEN } from './harness';
import { HubTestServer } from './server';

export interface FixtureRepo {
  /** `hubtest/<variant>`: not a local path (local folders win over repo specs). */
  repo: string;
  server: HubTestServer;
  commit: string;
  /** Scratch folder of the test file; removed by close(). */
  tmp: string;
  /** The local copy the repo was committed from. */
  dir: string;
  local: Checkpoint;
  /** Config for the server: token from HF_TOKEN, fast retries, the given cache. */
  hubOpts(cacheDir: string, extra?: HubConfigOptions): HubConfigOptions;
  close(): Promise<void>;
}

export async function startFixtureRepo(variant: string, tmpPrefix: string): Promise<FixtureRepo> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), tmpPrefix));
  const dir = path.join(tmp, variant);
  fs.cpSync(path.join(__dirname, '..', '..', '..', 'fixtures', variant), dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'README.md'), '---\nlicense: apache-2.0\n---\n# a tiny test model\n');
  const repo = `hubtest/${variant}`;
  const server = await HubTestServer.start({ token: TOKEN });
  const commit = await server.addRepoFromFolder(repo, dir);
  const local = await Checkpoint.open(dir);
  return {
    repo,
    server,
    commit,
    tmp,
    dir,
    local,
    hubOpts: (cacheDir, extra = {}) => ({ endpoint: server.url, cacheDir, env: { HF_TOKEN: TOKEN }, retryBaseMs: 1, idleTimeoutMs: 5000, ...extra }),
    async close() {
      await local.close();
      await server.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}
