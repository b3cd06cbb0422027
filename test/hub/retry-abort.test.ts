/** withRetry and an abort signal: an abort is never retried, and it ends a retry wait at once. */
import { withRetry, TransientError } from '../../src/hub/retry';

test('a retryable failure after the abort is thrown, not retried', async () => {
  const ac = new AbortController();
  let calls = 0;
  const err = await withRetry(async () => {
    calls++;
    ac.abort();
    throw new TransientError('connection dropped');
  }, { maxAttempts: 5, baseMs: 1, signal: ac.signal }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(TransientError);
  expect(calls).toBe(1);
  // Without a signal the same failure is retried up to maxAttempts.
  let plain = 0;
  await withRetry(async () => {
    plain++;
    throw new TransientError('connection dropped');
  }, { maxAttempts: 3, baseMs: 1 }).catch(() => undefined);
  expect(plain).toBe(3);
});

test('an abort during the wait before the next attempt ends the wait: no further attempt', async () => {
  const ac = new AbortController();
  let calls = 0;
  // A one-hour wait: the test only finishes because the abort ends it.
  const p = withRetry(async () => {
    calls++;
    throw new TransientError('HTTP 503');
  }, { maxAttempts: 5, baseMs: 3_600_000, signal: ac.signal, onRetry: () => setImmediate(() => ac.abort()) });
  await expect(p).rejects.toThrow('HTTP 503');
  expect(calls).toBe(1);
});
