/** The `--part` / `--parts` / `--push` options of `mtpkit convert` and their handler. */
import type { Argv } from 'yargs';
import { runConvertPart, type PartSummary } from '../../convert/convert-part';
import type { ConvertOptions } from '../../convert/pipeline';
import { formatBytes, printJson, printLines } from '../output';
import { partFromArgs } from '../part-spec';
import { InputError } from '../../errors';
import { withInterruptTrap } from '../interrupt';

export interface PartArgs {
  part?: string;
  parts?: number;
  push?: string;
}

export function partOptions<T>(y: Argv<T>): Argv<T> {
  return y
    .option('part', { type: 'string', describe: 'convert only part i of N (i/N, 1-based): its output shards and a part manifest; see `mtpkit assemble`' })
    .option('parts', { type: 'number', describe: 'number of parts, with the 0-based index from JOB_COMPLETION_INDEX or MTPKIT_PART_INDEX' })
    .option('push', { type: 'string', describe: 'with --part: upload the part to this Hub repo (org/name) as one commit' }) as Argv<T>;
}

/** Runs a part when --part/--parts asks for one; false when this is a plain convert. */
export async function maybeConvertPart(a: PartArgs & { json: boolean; smoke?: boolean }, opts: ConvertOptions, progressDone: () => void): Promise<boolean> {
  const part = partFromArgs(a);
  if (!part) {
    if (a.push) throw new InputError('--push needs --part i/N (a whole artifact is uploaded with `mtpkit publish`)', { field: '--push' });
    return false;
  }
  if (a.smoke) throw new InputError('--smoke needs the whole artifact: run `mtpkit smoke` after `mtpkit assemble`', { field: '--smoke' });
  // Ctrl-C as in a whole convert: stop after the current tensor (at once during a download), keep the
  // finished shards for --resume, exit 130.
  const s = await withInterruptTrap((signal) =>
    runConvertPart({ ...opts, part, signal, onNote: (m) => process.stderr.write(`mtpkit: ${m}\n`), ...(a.push ? { push: { repo: a.push } } : {}) }),
  ).finally(progressDone);
  if (a.json) printJson({ ok: true, ...s });
  else printLines(renderPart(s));
  return true;
}

function renderPart(s: PartSummary): string[] {
  const what = s.skipped === 'local' ? 'already complete in' : s.skipped === 'hub' ? 'already pushed, nothing to do for' : 'wrote';
  return [
    `part ${s.part.index}/${s.part.count}: ${what} ${s.out}: ${s.files.length} file(s), ${formatBytes(s.bytesWritten)} written, ${formatBytes(s.bytesFetched)} fetched in ${s.seconds.toFixed(1)} s`,
    `plan ${s.fingerprint}, source revision ${s.sourceRevision}`,
    ...(s.reusedShards.length ? [`reused ${s.reusedShards.length} finished shard(s)`] : []),
    ...(s.pushed ? [`pushed to ${s.pushed.repo}@${s.pushed.branch}: commit ${s.pushed.commit}`] : []),
    ...s.warnings.map((w) => `warning: ${w}`),
  ];
}
