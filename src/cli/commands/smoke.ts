/**
 * `mtpkit smoke <artifact>`: proves an MTP artifact with speculative decoding on the CPU engine and
 * records the result in its runtime contract (local folders only; a Hub snapshot is reported, never
 * rewritten). Exit 0 when greedy identity holds and acceptance has not collapsed, 1 otherwise.
 */
import * as fs from 'fs';
import type { Argv, CommandModule } from 'yargs';
import { InputError, MtpkitError } from '../../errors';
import { resolveArtifact } from '../../runtime/engine/resolve-artifact';
import { runSmoke, type SmokeReport } from '../../smoke/run-smoke';
import { writeSmokeContract } from '../../smoke/contract-update';
import { renderSmoke } from '../../smoke/render';
import { hubConfigFrom, hubOptions, type HubArgs } from '../hub-options';
import { parseThreads } from '../option-values';
import { printJson, printLines } from '../output';
import { activationsOption, type ActivationsArgs } from '../activations-option';

interface SmokeArgs extends HubArgs, ActivationsArgs {
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
      activationsOption(y)
        .positional('artifact', { type: 'string', demandOption: true, describe: 'artifact folder, or org/name[@revision] on the Hub' })
        .option('prompts', { type: 'string', describe: 'file of prompts (one per line, or a JSON array of strings) replacing the built-in set' })
        .option('max-tokens', { type: 'number', default: 64, describe: 'tokens generated per prompt' })
        .option('depths', { type: 'string', default: '1,2,3', describe: 'draft depths to measure' })
        .option('threads', { type: 'string', describe: 'native worker threads, 0 = all cores (default: all cores)' })
        .coerce('threads', (v: unknown) => parseThreads(v))
        .option('write', { type: 'boolean', default: true, describe: 'record the result in the artifact contract (--no-write to only report)' }),
    ) as never,
  handler: async (a) => {
    const depths = parseDepths(a.depths);
    const local = fs.existsSync(a.artifact);
    const dir = await resolveArtifact(a.artifact, hubConfigFrom(a));
    const report = await runSmoke(dir, { depths, maxTokens: a['max-tokens'], threads: a.threads, activations: a.activations, promptFile: a.prompts });
    if (a.write && local) await writeSmokeContract(dir, report);
    if (a.json) printJson(report);
    else printLines(renderSmoke(report));
    process.exitCode = report.exitCode;
  },
};

export interface SmokeFlagArgs extends ActivationsArgs {
  smoke: boolean;
  'smoke-max-tokens': number;
  threads?: number;
  json: boolean;
}

/** `--smoke` for convert and graft. */
export function smokeFlags<T>(y: Argv<T>): Argv<T> {
  return activationsOption(y)
    .option('smoke', { type: 'boolean', default: false, describe: 'run `mtpkit smoke` on the finished artifact before it is moved into place; a failure keeps it out' })
    .option('smoke-max-tokens', { type: 'number', default: 32, describe: 'tokens per prompt for --smoke' }) as Argv<T>;
}

/** The beforePublish hook of --smoke: smoke the hidden folder, record the result, refuse a failure. */
export function smokeHook(a: SmokeFlagArgs): { beforePublish?: (dir: string) => Promise<void>; report: () => SmokeReport | undefined } {
  let report: SmokeReport | undefined;
  if (!a.smoke && a.activations !== undefined) throw new InputError('--activations chooses the engine mode of --smoke: give --smoke too', { field: 'activations' });
  if (!a.smoke) return { report: () => undefined };
  return {
    report: () => report,
    beforePublish: async (dir) => {
      report = await runSmoke(dir, { maxTokens: a['smoke-max-tokens'], threads: a.threads, activations: a.activations });
      await writeSmokeContract(dir, report);
      if (!a.json) printLines(renderSmoke(report));
      if (report.exitCode !== 0) {
        throw new MtpkitError(`smoke test failed (${report.status}): ${report.reasons.join('; ')}; the finished artifact stays in ${dir} and was not moved into place`);
      }
    },
  };
}
