/**
 * Streaming one byte range of a remote file through @huggingface/hub's lazy blob
 * (`downloadFile(...).slice(a, b).stream()` issues `Range: bytes=a-(b-1)`), with what the library lacks:
 * an idle watchdog, the HTTP status of the answer (its stream errors are bare strings), and a
 * correct result when a server ignores `Range` and sends the whole file.
 */
import { downloadFile, FileDownloadInfoOutput } from '@huggingface/hub';
import { MtpkitError } from '../errors';
import { HubConfig, libraryParams } from './hub-config';
import { errorMessage, HttpStatusError, TransientError } from './retry';

export interface RemoteFile {
  repo: string;
  commit: string;
  path: string;
  size: number;
  info: FileDownloadInfoOutput;
}

interface Answer {
  status?: number;
  contentRange?: string | null;
}

/** A fetch that records the last answer's status and aborts with `signal`. */
function trackingFetch(base: typeof fetch, answer: Answer, signal: AbortSignal): typeof fetch {
  return async (input, init) => {
    const merged = init?.signal ? AbortSignal.any([init.signal, signal]) : signal;
    const resp = await base(input, { ...init, signal: merged });
    answer.status = resp.status;
    answer.contentRange = resp.headers.get('content-range');
    return resp;
  };
}

/**
 * Streams bytes [start, end) of `file` to `onChunk`, in order. Returns the number of bytes delivered,
 * which is less than `end - start` when the connection ended early (the caller decides to retry).
 */
export async function streamRange(
  config: HubConfig,
  file: RemoteFile,
  start: number,
  end: number,
  onChunk: (chunk: Buffer) => Promise<void> | void,
): Promise<number> {
  if (end <= start) return 0;
  const answer: Answer = {};
  const controller = new AbortController();
  const idleMs = config.idleTimeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new TransientError(`no data received for ${idleMs / 1000} s`)), idleMs);
  };
  const params = libraryParams(config, trackingFetch(config.fetch ?? fetch, answer, controller.signal));
  const blob = await downloadFile({ ...params, repo: file.repo, path: file.path, revision: file.commit, downloadInfo: file.info, xet: false });
  if (!blob) throw new MtpkitError(`${file.repo}@${file.commit}: '${file.path}' disappeared from the server`);
  const reader = blob.slice(start, end).stream().getReader();
  let delivered = 0;
  /** Bytes to drop before the range starts (only when the server ignored Range and sent everything). */
  let skip = -1;
  let finished = false;
  arm();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        finished = true;
        break;
      }
      arm();
      if (skip < 0) skip = decideSkip(file, start, end, answer);
      let chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      if (skip > 0) {
        const n = Math.min(skip, chunk.length);
        skip -= n;
        chunk = chunk.subarray(n);
      }
      const room = end - start - delivered;
      if (chunk.length > room) chunk = chunk.subarray(0, room);
      if (chunk.length) {
        await onChunk(chunk);
        delivered += chunk.length;
      }
      // A 206 ends by itself; a full answer to a range request is cut once the range is delivered.
      if (delivered === end - start && answer.status !== 206) break;
    }
  } catch (err) {
    // Abort reasons surface as they were given; a watchdog TransientError is retryable.
    if (controller.signal.aborted && controller.signal.reason instanceof TransientError) throw controller.signal.reason;
    if (answer.status !== undefined && answer.status >= 400) throw new HttpStatusError(answer.status, `HTTP ${answer.status}: ${errorMessage(err)}`);
    throw err;
  } finally {
    if (timer) clearTimeout(timer);
    if (!finished) {
      await reader.cancel().catch(() => undefined);
      controller.abort();
    }
  }
  return delivered;
}

function decideSkip(file: RemoteFile, start: number, end: number, answer: Answer): number {
  const wantsRange = start > 0 || end < file.size;
  if (answer.status === 200) return wantsRange ? start : 0;
  if (answer.status === 206 && answer.contentRange) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(answer.contentRange.trim());
    if (!m || Number(m[1]) !== start) {
      throw new MtpkitError(`${file.repo}@${file.commit}: '${file.path}': asked for bytes from ${start}, the server answered Content-Range '${answer.contentRange}'`);
    }
    if (m[3] !== '*' && Number(m[3]) !== file.size) {
      throw new MtpkitError(`${file.repo}@${file.commit}: '${file.path}': the server reports ${m[3]} bytes, the file listing says ${file.size}`);
    }
  }
  return 0;
}
