/**
 * Which part this process converts: `--part i/N` (1-based, as in the shard names), or `--parts N` with
 * the index from the job engine: `JOB_COMPLETION_INDEX` (Kubernetes Indexed Job) or `MTPKIT_PART_INDEX`
 * (e.g. `${{ strategy.job-index }}` in a GitHub Actions matrix), both 0-based as those engines count.
 */
import { InputError } from '../errors';
import { checkPartSpec, type PartSpec } from '../convert/partition';

export const PART_INDEX_ENV = ['JOB_COMPLETION_INDEX', 'MTPKIT_PART_INDEX'] as const;

const integer = (s: string) => (/^\d+$/.test(s.trim()) ? Number(s.trim()) : NaN);

export function partFromArgs(a: { part?: string; parts?: number }, env: NodeJS.ProcessEnv = process.env): PartSpec | undefined {
  if (a.part !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(a.part.trim());
    if (!m) throw new InputError(`expected i/N (e.g. 2/8), got ${JSON.stringify(a.part)}`, { field: '--part' });
    const p = checkPartSpec({ index: Number(m[1]), count: Number(m[2]) });
    if (a.parts !== undefined && a.parts !== p.count) throw new InputError(`--parts ${a.parts} disagrees with --part ${a.part}`, { field: '--parts' });
    return p;
  }
  if (a.parts === undefined) return undefined;
  for (const name of PART_INDEX_ENV) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    const i = integer(v);
    if (!Number.isSafeInteger(i) || i >= a.parts) {
      throw new InputError(`must be a 0-based part index below ${a.parts}, got ${JSON.stringify(v)}`, { field: name });
    }
    return checkPartSpec({ index: i + 1, count: a.parts }, '--parts');
  }
  throw new InputError(`--parts ${a.parts} needs --part i/N or a part index in ${PART_INDEX_ENV.join(' or ')}`, { field: '--parts' });
}
