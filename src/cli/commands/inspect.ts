/** `mtpkit inspect <file|folder>`: tensors, architecture and MTP presence, from headers only. */
import type { CommandModule } from 'yargs';
import { LocalSource } from '../../source/local-source';
import { summarizeCheckpoint, CheckpointSummary } from '../../arch/summary';
import { formatBytes, formatTable, printJson, printLines } from '../output';

interface InspectArgs {
  path: string;
  json: boolean;
  tensors: boolean;
}

export const inspectCommand: CommandModule<object, InspectArgs> = {
  command: 'inspect <path>',
  describe: 'list the tensors of a safetensors file or checkpoint folder, its architecture and MTP head',
  builder: (y) =>
    y
      .positional('path', { type: 'string', demandOption: true, describe: 'a .safetensors file or a checkpoint folder' })
      .option('tensors', { type: 'boolean', default: true, describe: 'list every tensor (--no-tensors for the summary only)' }) as never,
  handler: async (args) => {
    // Through LocalSource, so an artifact's MTP sidecar is listed with the trunk.
    const ckpt = await LocalSource.open(args.path);
    try {
      const summary = await summarizeCheckpoint(ckpt, args.path);
      if (args.json) printJson({ ok: true, ...summary, tensors: args.tensors ? summary.tensors : undefined });
      else printLines(renderSummary(summary, args.tensors));
    } finally {
      await ckpt.close();
    }
  },
};

function renderSummary(s: CheckpointSummary, withTensors: boolean): string[] {
  const mtpDeclared = s.mtpLayersDeclared === undefined ? '' : ` (config declares mtp_num_hidden_layers=${s.mtpLayersDeclared})`;
  const lines = [
    `path:          ${s.path}`,
    `architecture:  ${s.architecture}${s.architectureSource === 'tensor names' ? ' (guessed from tensor names)' : ''}`,
    `tensors:       ${s.tensorCount} in ${s.shards.length} shard(s), ${formatBytes(s.totalBytes)}`,
    `MTP head:      ${s.mtp.present ? `present, ${s.mtp.tensors} tensors, ${formatBytes(s.mtp.bytes)}` : 'absent'}${mtpDeclared}`,
    `vision tower:  ${s.vision.tensors ? `${s.vision.tensors} tensors, ${formatBytes(s.vision.bytes)}` : 'absent'}`,
  ];
  if (withTensors) {
    lines.push('');
    lines.push(
      ...formatTable(
        ['name', 'dtype', 'shape', 'bytes', 'shard'],
        s.tensors.map((t) => [t.name, t.dtype, `[${t.shape.join(', ')}]`, String(t.bytes), t.shard]),
      ),
    );
  }
  return lines;
}
