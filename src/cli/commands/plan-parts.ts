/** `mtpkit plan SRC --parts N`: the partition of a conversion (bytes, fetch and peak disk per part). */
import type { Argv } from 'yargs';
import { layoutArtifact } from '../../convert/artifact-layout';
import type { ConversionPlan } from '../../convert/conversion-plan';
import { partitionReport, type PartitionReport } from '../../convert/partition-report';
import type { CheckpointSource } from '../../source/checkpoint-source';
import { formatBytes, formatTable, printJson, printLines } from '../output';

export interface PlanPartsArgs {
  parts?: number;
  'mtp-layout': 'sidecar' | 'inline';
  'max-shard-bytes'?: number;
}

export function planPartsOptions<T>(y: Argv<T>): Argv<T> {
  return y
    .option('parts', { type: 'number', describe: 'show how `convert --part i/N` splits the work into N parts' }) as Argv<T>;
}

export async function printPartition(src: CheckpointSource, plan: ConversionPlan, a: PlanPartsArgs & { json: boolean }): Promise<void> {
  const layout = layoutArtifact(plan.tensors, a['mtp-layout'], a['max-shard-bytes']);
  const r = await partitionReport(src, layout, a.parts!);
  if (a.json) printJson({ ok: true, source: plan.source, ...r });
  else printLines(renderPartition(r));
}

function renderPartition(r: PartitionReport): string[] {
  const rows = r.parts.map((p) => [
    `${p.index}/${p.count}`,
    String(p.files.length),
    formatBytes(p.outputBytes),
    formatBytes(p.readBytes),
    formatBytes(p.fetchBytes),
    formatBytes(p.peakDiskBytes),
    p.files.length ? (p.files.length > 2 ? `${p.files[0]} .. ${p.files[p.files.length - 1]}` : p.files.join(', ')) : '(nothing: more parts than files)',
  ]);
  return [
    ...formatTable(['part', 'files', 'output', 'reads', 'fetch', 'peak disk', 'files'], rows),
    '',
    `total: ${formatBytes(r.totalOutputBytes)} output, ${formatBytes(r.totalFetchBytes)} fetched; largest file ${formatBytes(r.largestFileBytes)}`,
  ];
}
