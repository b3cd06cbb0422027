/** Hub failures as one clear, token-free line: what we were doing, and what the user can do about it. */
import { InputError, MtpkitError } from '../errors';
import { HubConfig, publicError } from './hub-config';
import { errorMessage, errorStatus } from './retry';

/** Query strings of URLs in messages can hold signed (temporary) credentials of CDN links. */
function stripQueries(text: string): string {
  return text.replace(/(https?:\/\/[^\s?]+)\?[^\s]*/g, '$1');
}

export function hubFailure(config: HubConfig, err: unknown, what: string): MtpkitError {
  if (err instanceof MtpkitError) return publicError(config, err, what);
  const status = errorStatus(err);
  const detail = stripQueries(errorMessage(err));
  let hint: string | undefined;
  if (status === 401) hint = config.hasToken ? 'the token was rejected' : 'authentication required: give --token-file, set HF_TOKEN, or log in';
  else if (status === 403) hint = 'access denied (private or gated repo, or a read-only token)';
  else if (status === 404) hint = 'not found (check the repo name and revision)';
  if (hint) return publicError(config, new InputError(`${hint} (${detail})`), what);
  return publicError(config, detail, `${what} failed${status !== undefined ? ` (HTTP ${status})` : ''}`);
}

/** Runs `fn`, converting whatever it throws with hubFailure(). */
export async function guarded<T>(config: HubConfig, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw hubFailure(config, err, what);
  }
}
