/**
 * `mtpkit smoke <artifact>`: proves an MTP artifact with speculative decoding on the CPU engine and
 * records the result in its runtime contract (local folders only; a Hub snapshot is reported, never
 * rewritten). Exit 0 when greedy identity holds and acceptance has not collapsed, 1 otherwise.
 */
import * as fs from 'fs';
import type { CommandModule } from 'yargs';
import { InputError } from '../../errors';
import { resolveArtifact } from '../../runtime/engine/resolve-artifact';
import { runSmoke } from '../../smoke/run-smoke';
import { writeSmokeContract } from '../../smoke/contract-update';
import { renderSmoke } from '../../smoke/render';
import { hubConfigFrom, hubOptions, type HubArgs } from '../hub-options';
import { printJson, printLines } from '../output';

interface SmokeArgs extends HubArgs {
  artifact: string;
  prompts?: string;
  'max-tokens': number;
  depths: string;
  threads?: number;
  write: boolean;
  json: boolean;
}

export function parseDepths(s: string): number[] {
  const parts = s.split(',').map((x) => x.trim()).filter(Boolean);
  if (!parts.length || parts.some((p) => !/^[1-7]$/.test(p))) throw new InputError(`--depths takes a comma-separated list of depths from 1 to 7, got '${s}'`, { field: 'depths' });
  return [...new Set(parts.map(Number))].sort((a, b) => a - b);
}

export const smokeCommand: CommandModule<object, SmokeArgs> = {
  command: 'smoke <artifact>',
  describe: 'prove an MTP artifact: head audit, greedy identity and acceptance per draft depth, AR vs MTP tok/s; records the result in mtplx_runtime.json',
  builder: (y) =>
    hubOptions(
      y
        .positional('artifact', { type: 'string', demandOption: true, describe: 'artifact folder, or org/name[@revision] on the Hub' })
        .option('prompts', { type: 'string', describe: 'file of prompts (one per line, or a JSON array of strings) replacing the built-in set' })
        .option('max-tokens', { type: 'number', default: 64, describe: 'tokens generated per prompt' })
        .option('depths', { type: 'string', default: '1,2,3', describe: 'draft depths to measure' })
        .option('threads', { type: 'number', describe: 'native worker threads (default: all cores)' })
        .option('write', { type: 'boolean', default: true, describe: 'record the result in the artifact contract (--no-write to only report)' }),
    ) as never,
  handler: async (a) => {
    const depths = parseDepths(a.depths);
    const local = fs.existsSync(a.artifact);
    const dir = await resolveArtifact(a.artifact, hubConfigFrom(a));
    const report = await runSmoke(dir, { depths, maxTokens: a['max-tokens'], threads: a.threads, promptFile: a.prompts });
    if (a.write && local) await writeSmokeContract(dir, report);
    if (a.json) printJson(report);
    else printLines(renderSmoke(report));
    process.exitCode = report.exitCode;
  },
};
