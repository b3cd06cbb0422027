/** `mtpkit validate <artifact>`: checks an MLX artifact folder; exit 2 with the list of problems when any (warnings are listed, exit 0). */
import type { CommandModule } from 'yargs';
import { EXIT_BAD_INPUT } from '../../errors';
import { validateArtifact, type ValidationReport } from '../../artifact/validate-artifact';
import { formatBytes, printJson, printLines } from '../output';

interface ValidateArgs {
  artifact: string;
  json: boolean;
  'norm-check': boolean;
}

export const validateCommand: CommandModule<object, ValidateArgs> = {
  command: 'validate <artifact>',
  describe: 'check an MLX artifact: index vs shards, every tensor readable and finite, quantization blocks, MTP head, runtime contract',
  builder: (y) =>
    y
      .positional('artifact', { type: 'string', demandOption: true, describe: 'artifact folder' })
      .option('norm-check', { type: 'boolean', default: true, describe: 'flag norms that look raw / delta-encoded (--no-norm-check to skip the heuristic)' }) as never,
  handler: async (args) => {
    const report = await validateArtifact(args.artifact, { normCheck: args['norm-check'] });
    if (args.json) printJson(report);
    else printLines(renderReport(report));
    if (!report.ok) process.exitCode = EXIT_BAD_INPUT;
  },
};

export function renderReport(r: ValidationReport): string[] {
  const bytes = r.files.reduce((a, f) => a + f.size, 0);
  const mtp =
    r.mtp.layout === 'sidecar' ? `sidecar ${r.mtp.file}, ${r.mtp.tensors} tensors`
    : r.mtp.layout === 'inline' ? `inline, ${r.mtp.tensors} tensors`
    : r.ok ? 'none (an mlx-lm artifact without an MTP head: nothing to speculate with)' : 'none';
  const lines = [
    `artifact:  ${r.dir}`,
    `tensors:   ${r.tensors} in ${r.files.length} file(s), ${formatBytes(bytes)} read`,
    `MTP head:  ${mtp}`,
  ];
  for (const i of r.info) lines.push(`info:      ${i}`);
  if (r.warnings.length) {
    lines.push(`warnings (${r.warnings.length}):`);
    for (const w of r.warnings) lines.push(`  - ${w}`);
  }
  if (r.problems.length) {
    lines.push(`problems (${r.problems.length}):`);
    for (const p of r.problems) lines.push(`  - ${p}`);
  }
  const warned = r.warnings.length ? ` with ${r.warnings.length} warning${r.warnings.length === 1 ? '' : 's'}` : '';
  lines.push(r.ok ? `result:    OK${warned}` : `result:    FAILED (${r.problems.length} problem${r.problems.length === 1 ? '' : 's'})`);
  return lines;
}
