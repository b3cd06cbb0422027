/** `mtpkit assemble <out> --parts DIR | --repo org/name`: join converted parts into the finished artifact. */
import type { CommandModule } from 'yargs';
import { runAssemble } from '../../convert/assemble';
import { formatBytes, printJson, printLines } from '../output';
import { hubConfigFrom, hubOptions, type HubArgs } from '../hub-options';

interface AssembleArgs extends HubArgs {
  out?: string;
  parts?: string;
  repo?: string;
  revision?: string;
  source?: string;
  force: boolean;
  json: boolean;
}

export const assembleCommand: CommandModule<object, AssembleArgs> = {
  command: 'assemble [out]',
  describe: 'join the parts of `convert --part i/N`: check they belong together, then write index, config, card and contract',
  builder: (y) =>
    hubOptions(y)
      .positional('out', { type: 'string', describe: 'output folder (with --parts); not needed with --repo' })
      .option('parts', { type: 'string', describe: 'folder holding the part folders (searched for mtpkit-parts/part-*.json)' })
      .option('repo', { type: 'string', describe: 'Hub repo the parts were pushed to (--push); the final commit goes there' })
      .option('revision', { type: 'string', describe: 'with --repo: branch to commit to (default main)' })
      .option('source', { type: 'string', describe: 'read the source checkpoint from here (default: what the parts recorded; its revision must match)' })
      .option('force', { type: 'boolean', default: false, describe: 'replace an existing output folder' }) as never,
  handler: async (a) => {
    const s = await runAssemble({ out: a.out, partsDir: a.parts, repo: a.repo, revision: a.revision, source: a.source, force: a.force, hub: hubConfigFrom(a) });
    if (a.json) {
      printJson({ ok: true, ...s });
      return;
    }
    printLines([
      s.repo ? `assembled ${s.repo}: commit ${s.commit}` : `assembled ${s.out}`,
      `${s.parts} part(s), ${s.files.length} files, ${formatBytes(s.shardBytes)} of shards; plan ${s.fingerprint}, source revision ${s.sourceRevision}`,
    ]);
  },
};
