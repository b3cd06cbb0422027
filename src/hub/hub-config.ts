/**
 * Hub settings from options and the environment variables the Python client understands
 * (HF_ENDPOINT, HF_TOKEN, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE, ...), which @huggingface/hub does not read.
 *
 * The token is kept in a module-private WeakMap, never on the config object, so printing or
 * JSON-serialising a config cannot leak it; `redact()` scrubs it from any text that leaves src/hub.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { InputError, MtpkitError } from '../errors';
import { errorMessage } from './retry';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';
export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_MAX_ATTEMPTS = 5;
export const DEFAULT_RETRY_BASE_MS = 1000;
/** Python's HF_HUB_DOWNLOAD_TIMEOUT default: seconds without a byte before a transfer is abandoned. */
export const DEFAULT_IDLE_TIMEOUT_MS = 10_000;
export const REDACTED = 'hf_***';

export type TokenSource = 'token-file' | 'HF_TOKEN' | 'HF_TOKEN_PATH' | 'HF_HOME/token' | 'none';

export interface HubConfigOptions {
  tokenFile?: string;
  endpoint?: string;
  cacheDir?: string;
  offline?: boolean;
  concurrency?: number;
  /** Attempts per transfer (first try included) before giving up on 5xx / dropped connections. */
  maxAttempts?: number;
  /** First retry delay; doubles each attempt. */
  retryBaseMs?: number;
  idleTimeoutMs?: number;
  /** A fetch implementation (proxies, tests); defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Environment to read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Conversion sources (HubSource): a shard needing more than this fraction is fetched whole. Default 0.5. */
  wholeShardFraction?: number;
  /** Conversion sources: tensor ranges closer than this many bytes are fetched as one. Default 1 MiB. */
  gapBytes?: number;
  /** Conversion sources: draw transfer progress on stderr (the CLI sets it unless --json). */
  progress?: boolean;
  /** Aborts every request and retry wait of this config at once (Ctrl-C during a download). */
  signal?: AbortSignal;
}

export interface HubConfig {
  readonly endpoint: string;
  readonly cacheDir: string;
  readonly offline: boolean;
  readonly concurrency: number;
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  readonly idleTimeoutMs: number;
  readonly tokenSource: TokenSource;
  readonly hasToken: boolean;
  readonly fetch?: typeof fetch;
  /** Set: every request of this config is aborted with it, and no retry follows. */
  readonly signal?: AbortSignal;
  /** `text` with every occurrence of the token replaced by `hf_***`. */
  redact(text: string): string;
}

const tokens = new WeakMap<HubConfig, string>();

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

function envFlag(v: string | undefined): boolean {
  return v !== undefined && ['1', 'ON', 'YES', 'TRUE'].includes(v.trim().toUpperCase());
}

function positiveInt(v: number | string | undefined, fallback: number, field: string, max: number): number {
  if (v === undefined || v === '') return fallback;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new InputError(`must be an integer in [1, ${max}], got ${JSON.stringify(v)}`, { field });
  return n;
}

function readTokenFile(file: string, what: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read the ${what}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { file });
  }
  const token = text.trim();
  if (!token) throw new InputError(`the ${what} is empty`, { file });
  return token;
}

function findToken(opts: HubConfigOptions, env: NodeJS.ProcessEnv, hfHome: string): { token?: string; source: TokenSource } {
  if (opts.tokenFile) return { token: readTokenFile(opts.tokenFile, 'token file'), source: 'token-file' };
  const fromEnv = env.HF_TOKEN?.trim();
  if (fromEnv) return { token: fromEnv, source: 'HF_TOKEN' };
  if (env.HF_TOKEN_PATH) {
    const p = expandHome(env.HF_TOKEN_PATH);
    if (fs.existsSync(p)) return { token: readTokenFile(p, 'token file named by HF_TOKEN_PATH'), source: 'HF_TOKEN_PATH' };
    return { source: 'none' };
  }
  const stored = path.join(hfHome, 'token');
  if (fs.existsSync(stored)) return { token: readTokenFile(stored, 'stored Hugging Face token'), source: 'HF_HOME/token' };
  return { source: 'none' };
}

function resolveEndpoint(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InputError(`not a URL: ${JSON.stringify(value)}`, { field: 'HF_ENDPOINT' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InputError(`must be an http(s) URL, got ${JSON.stringify(value)}`, { field: 'HF_ENDPOINT' });
  }
  return value.replace(/\/+$/, '');
}

export function resolveHubConfig(opts: HubConfigOptions = {}): HubConfig {
  const env = opts.env ?? process.env;
  const hfHome = expandHome(env.HF_HOME || path.join(env.XDG_CACHE_HOME ? expandHome(env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache'), 'huggingface'));
  const cacheDir = path.resolve(expandHome(opts.cacheDir || env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE || path.join(hfHome, 'hub')));
  const { token, source } = findToken(opts, env, hfHome);
  if (token !== undefined && !token.startsWith('hf_')) {
    // The library rejects other prefixes too; say where the token came from, never what it is.
    throw new InputError(`the Hugging Face token from ${source} does not start with 'hf_'`);
  }
  const idleSeconds = env.HF_HUB_DOWNLOAD_TIMEOUT ? Number(env.HF_HUB_DOWNLOAD_TIMEOUT) : undefined;
  if (idleSeconds !== undefined && !(idleSeconds > 0)) {
    throw new InputError(`must be a positive number of seconds, got ${JSON.stringify(env.HF_HUB_DOWNLOAD_TIMEOUT)}`, { field: 'HF_HUB_DOWNLOAD_TIMEOUT' });
  }
  const redact = (text: string): string => (token && text ? text.split(token).join(REDACTED) : text);
  const config: HubConfig = {
    endpoint: resolveEndpoint(opts.endpoint || env.HF_ENDPOINT || DEFAULT_ENDPOINT),
    cacheDir,
    offline: opts.offline ?? envFlag(env.HF_HUB_OFFLINE),
    concurrency: positiveInt(opts.concurrency, DEFAULT_CONCURRENCY, 'concurrency', 64),
    maxAttempts: positiveInt(opts.maxAttempts, DEFAULT_MAX_ATTEMPTS, 'maxAttempts', 100),
    retryBaseMs: opts.retryBaseMs ?? DEFAULT_RETRY_BASE_MS,
    idleTimeoutMs: opts.idleTimeoutMs ?? (idleSeconds !== undefined ? idleSeconds * 1000 : DEFAULT_IDLE_TIMEOUT_MS),
    tokenSource: source,
    hasToken: token !== undefined,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    redact,
  };
  if (token !== undefined) tokens.set(config, token);
  return Object.freeze(config);
}

/**
 * The `hubUrl` / `accessToken` / `fetch` parameters of @huggingface/hub calls. For src/hub only:
 * the returned object holds the token and must go straight into a library call.
 */
export function libraryParams(config: HubConfig, fetchImpl?: typeof fetch): { hubUrl: string; accessToken?: string; fetch?: typeof fetch } {
  const token = tokens.get(config);
  const base = fetchImpl ?? config.fetch;
  // @huggingface/hub takes an abortSignal only for uploads (huggingface/huggingface.js packages/hub/src/lib/
  // commit.ts), none for downloads or listings; every request goes through this fetch, though.
  const f = config.signal ? abortableFetch(base ?? fetch, config.signal) : base;
  return { hubUrl: config.endpoint, ...(token ? { accessToken: token } : {}), ...(f ? { fetch: f } : {}) };
}

/** `base` with `signal` added to every request: an abort cancels the request and its body stream. */
function abortableFetch(base: typeof fetch, signal: AbortSignal): typeof fetch {
  return (input, init) => base(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
}

/**
 * Turns any error into an MtpkitError whose message and stack are scrubbed of the token.
 * InputErrors keep their class (exit 2); the original error is not kept as `cause`, since its
 * fields (URL, response data) might carry what we are hiding.
 */
export function publicError(config: HubConfig, err: unknown, context?: string): MtpkitError {
  const raw = err instanceof MtpkitError ? err.message : errorMessage(err);
  const text = config.redact(context && !raw.startsWith(context) ? `${context}: ${raw}` : raw);
  const out = err instanceof InputError ? new InputError(text) : new MtpkitError(text, {}, err instanceof MtpkitError ? err.exitCode : undefined);
  if (out.stack) out.stack = config.redact(out.stack);
  return out;
}
