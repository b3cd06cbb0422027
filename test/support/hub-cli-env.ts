/** Registers beforeAll/afterAll that start the loopback Hub and point the CLI's env (endpoint, token, cache) at it. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startHarness, TOKEN, type Harness } from './hub-server/harness';

export function useHubCliEnv(prefix: string): { harness: () => Harness; tmp: () => string } {
  let h: Harness;
  let tmp: string;
  const saved = { ...process.env };
  beforeAll(async () => {
    h = await startHarness();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    process.env.HF_ENDPOINT = h.server.url;
    process.env.HF_TOKEN = TOKEN;
    process.env.HF_HUB_CACHE = path.join(tmp, 'cache');
  });
  afterAll(async () => {
    process.env = saved;
    await h.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  return { harness: () => h, tmp: () => tmp };
}
