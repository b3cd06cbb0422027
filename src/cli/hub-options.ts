/** Hub options shared by `convert` and `plan` (endpoint, token and cache also come from HF_* variables). */
import type { Argv } from 'yargs';
import type { HubConfigOptions } from '../hub/hub-config';

export interface HubArgs {
  'token-file'?: string;
  concurrency?: number;
  offline?: boolean;
  'cache-dir'?: string;
}

export function hubOptions<T>(y: Argv<T>): Argv<T> {
  return y
    .option('token-file', { type: 'string', describe: 'file holding a Hugging Face token (default: HF_TOKEN, HF_TOKEN_PATH, HF_HOME/token)' })
    .option('concurrency', { type: 'number', describe: 'parallel Hub transfers (default 4)' })
    .option('offline', { type: 'boolean', describe: 'use the HF cache only, no network (as HF_HUB_OFFLINE=1)' })
    .option('cache-dir', { type: 'string', describe: 'HF cache folder (default: HF_HUB_CACHE, else HF_HOME/hub)' }) as Argv<T>;
}

/** Only the options given (the rest falls back to the environment in resolveHubConfig); progress unless --json. */
export function hubConfigFrom(a: HubArgs & { json?: boolean }): HubConfigOptions {
  return {
    ...(a['token-file'] !== undefined ? { tokenFile: a['token-file'] } : {}),
    ...(a.concurrency !== undefined ? { concurrency: a.concurrency } : {}),
    ...(a.offline !== undefined ? { offline: a.offline } : {}),
    ...(a['cache-dir'] !== undefined ? { cacheDir: a['cache-dir'] } : {}),
    progress: !a.json,
  };
}
