/** `mtpkit graft <mlx-trunk> <mtp-source> <out>`: add an original checkpoint's MTP head to an MLX trunk. */
import type { CommandModule } from 'yargs';
import { runGraft } from '../../convert/graft';
import { smokeFlags, smokeHook, type SmokeFlagArgs } from './smoke';
import { printJson } from '../output';
import { createProgress } from '../progress';
import { hubConfigFrom, hubOptions, type HubArgs } from '../hub-options';
import { printSummary, writeOptions, type WriteArgs } from './convert';
import { withInterruptTrap } from '../interrupt';

interface GraftArgs extends HubArgs, WriteArgs, SmokeFlagArgs {
  trunk: string;
  'mtp-source': string;
  policy: string;
  override?: string[];
  json: boolean;
}

export const graftCommand: CommandModule<object, GraftArgs> = {
  command: 'graft <trunk> <mtp-source> <out>',
  describe: 'add the MTP head of an original checkpoint to an MLX trunk without one (trunk files linked, never modified)',
  builder: (y) =>
    smokeFlags(writeOptions(hubOptions(y)))
      .positional('trunk', { type: 'string', demandOption: true, describe: 'MLX checkpoint folder without an MTP head' })
      .positional('mtp-source', { type: 'string', demandOption: true, describe: 'checkpoint that has the head: folder or org/name[@revision]' })
      .positional('out', { type: 'string', demandOption: true, describe: 'output folder' })
      .option('policy', { type: 'string', default: 'body-int4', describe: 'policy for the head (default body-int4: 7 layer-0 linears 4-bit, fc and norms bf16)' })
      .option('override', { type: 'string', array: true, describe: 'extra rule SELECTOR=ACTION (repeatable)' }) as never,
  handler: async (a) => {
    const progress = createProgress(a.json);
    const smoke = smokeHook(a);
    const summary = await withInterruptTrap((signal) =>
      runGraft({
        signal,
        onNote: (m) => process.stderr.write(`mtpkit: ${m}\n`),
        beforePublish: smoke.beforePublish,
        trunk: a.trunk,
        mtpSource: a['mtp-source'],
        out: a.out,
        force: a.force,
        resume: a.resume,
        threads: a.threads,
        rounding: a.rounding,
        policy: { spec: a.policy, overrides: a.override },
        onProgress: progress.update,
        hub: hubConfigFrom(a),
      }),
    ).finally(() => progress.done());
    if (a.json) printJson({ ok: true, ...summary, ...(smoke.report() ? { smoke: smoke.report() } : {}) });
    else printSummary(summary);
  },
};
