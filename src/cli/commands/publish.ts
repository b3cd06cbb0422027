/** `mtpkit publish <artifact> --repo org/name`: validate, then upload the whole artifact in one commit. */
import type { CommandModule } from 'yargs';
import { publishArtifact } from '../../hub/publish';
import { resolveHubConfig } from '../../hub/hub-config';
import { createProgressRenderer } from '../../hub/progress';
import { validateArtifact } from '../../artifact/validate-artifact';
import { artifactMembers } from '../../artifact/artifact-files';
import { printJson, printLines } from '../output';
import { InputError } from '../../errors';
import { unverifiedReasons } from '../../smoke/publish-gate';
import { hubConfigFrom, hubOptions, type HubArgs } from '../hub-options';

interface PublishArgs extends HubArgs {
  artifact: string;
  repo: string;
  private: boolean;
  revision?: string;
  force: boolean;
  'allow-unverified': boolean;
  message?: string;
  json: boolean;
}

export const publishCommand: CommandModule<object, PublishArgs> = {
  command: 'publish <artifact>',
  describe: 'upload an artifact to a Hub repo in one commit (refuses one that fails `mtpkit validate` unless --force)',
  builder: (y) =>
    hubOptions(y)
      .positional('artifact', { type: 'string', demandOption: true, describe: 'artifact folder' })
      .option('repo', { type: 'string', demandOption: true, describe: 'target repo org/name (created if missing)' })
      .option('private', { type: 'boolean', default: false, describe: 'create the repo private' })
      .option('revision', { type: 'string', describe: 'branch to commit to (default main)' })
      .option('message', { type: 'string', describe: 'commit title' })
      .option('force', { type: 'boolean', default: false, describe: 'publish even if validation finds problems' })
      .option('allow-unverified', { type: 'boolean', default: false, describe: 'publish although the contract is pending or failing (no passing `mtpkit smoke`)' }) as never,
  handler: async (a) => {
    const unverified = await unverifiedReasons(a.artifact);
    if (unverified.length && !a['allow-unverified']) {
      throw new InputError(`refusing to publish an unverified artifact (run \`mtpkit smoke\`, or pass --allow-unverified):\n  - ${unverified.join('\n  - ')}`, { file: a.artifact });
    }
    const config = resolveHubConfig(hubConfigFrom(a));
    const renderer = a.json ? undefined : createProgressRenderer({ direction: 'upload' });
    const result = await publishArtifact(a.artifact, {
      repo: a.repo,
      private: a.private,
      revision: a.revision,
      config,
      commitTitle: a.message,
      force: a.force,
      files: await artifactMembers(a.artifact),
      validate: async () => (await validateArtifact(a.artifact)).problems,
      onProgress: renderer ? (e) => renderer.onProgress(e) : undefined,
    });
    renderer?.finish();
    if (a.json) printJson({ ok: true, ...result });
    else printLines([`published ${a.artifact} to ${result.repo}@${result.branch}: commit ${result.commit}, ${result.files} files`]);
  },
};
