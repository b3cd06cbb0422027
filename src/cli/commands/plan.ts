/** `mtpkit plan <src>`: the per-tensor plan (sources, transforms, decision, rule, bytes), without converting. */
import type { CommandModule } from 'yargs';
import { openSource } from '../../source/open-source';
import { buildConversionPlan } from '../../convert/conversion-plan';
import { planReport, type PlanReport } from '../../convert/plan-report';
import { planReads } from '../../convert/plan-reads';
import { formatBytes, formatTable, printJson, printLines, terminalWidth } from '../output';
import { layoutOptions, planOptions, policyChoice, type CommonPlanArgs, type LayoutArgs } from './convert';
import { layoutArtifact } from '../../convert/artifact-layout';
import { hubConfigFrom, hubOptions, type HubArgs } from '../hub-options';
import { planPartsOptions, printPartition, type PlanPartsArgs } from './plan-parts';
import { partHubOptions } from '../../convert/convert-part';

export const planCommand: CommandModule<object, CommonPlanArgs & HubArgs & LayoutArgs & PlanPartsArgs> = {
  command: 'plan <source>',
  describe: 'show the conversion plan: for every output tensor its sources, transforms, quantization and bytes',
  builder: (y) =>
    planPartsOptions(layoutOptions(hubOptions(planOptions(y)))).positional('source', { type: 'string', demandOption: true, describe: 'checkpoint folder, or org/name[@revision] on the Hub' }) as never,
  handler: async (a) => {
    // Parts fetch ranges only (convert --part does the same).
    const src = await openSource(a.source, a.parts === undefined ? hubConfigFrom(a) : partHubOptions(hubConfigFrom(a)));
    try {
      const config = await src.readJson<Record<string, unknown>>('config.json');
      const plan = buildConversionPlan(src.label, config, src.tensors, {
        vision: a.vision,
        mtp: a.mtp,
        dtype: a.dtype,
        policy: policyChoice(a),
      });
      if (a.parts !== undefined) return await printPartition(src, plan, a);
      const layout = layoutArtifact(plan.tensors, a['mtp-layout'], a['max-shard-bytes']);
      const report = planReport(plan, await src.estimateFetch(planReads(plan.tensors)), layout);
      if (a.json) printJson({ ok: true, ...report });
      else printLines(renderPlan(report));
    } finally {
      await src.close();
    }
  },
};

export function renderPlan(r: PlanReport, width = terminalWidth()): string[] {
  const lines = [
    `source:        ${r.source}`,
    `architecture:  ${r.architecture}`,
    `raw HF:        ${r.rawCheckpoint ? 'yes' : 'no'} (${r.rawEvidence})`,
    `policy:        ${r.policy}`,
    ...(r.mtpLayout ? [`MTP layout:    ${r.mtpLayout}`] : []),
    `to fetch:      ${r.fetch.bytesToFetch ? `${formatBytes(r.fetch.bytesToFetch)} (${r.fetch.wholeFiles.length} whole files, ${r.fetch.rangeRequests} range requests)` : 'nothing (local or cached)'}`,
  ];
  for (const [g, s] of Object.entries(r.groups)) {
    if (!s.tensors) continue;
    lines.push(`${(g + ':').padEnd(14)} ${s.tensors} tensors -> ${s.storedTensors} stored, ${formatBytes(s.bytes)}, ${s.bitsPerWeight.toFixed(3)} bits per weight`);
  }
  if (Object.keys(r.configPatch).length) lines.push(`config:        ${JSON.stringify(r.configPatch)}`);
  if (r.dropped.length) lines.push(`dropped:       ${r.dropped.length} source tensors (${[...new Set(r.dropped.map((d) => d.reason))].join('; ')})`);
  for (const note of r.reports) lines.push(`note:          ${note}`);
  lines.push('');
  const header = ['tensor (as written)', 'file', 'dtype', 'shape', 'decision', 'bytes', 'rule', 'from / transforms'];
  const rows = r.tensors.map((t) => [
    t.name,
    t.file ?? '',
    t.dtype,
    `[${t.shape.join(',')}]`,
    t.decision,
    String(t.bytes),
    t.rule ?? '',
    t.transforms.join('; ') || t.sources.join(', '),
  ]);
  let table = formatTable(header, rows);
  if (width && table.some((l) => l.length > width)) {
    // A terminal too narrow for every column: drop the free text, then the file; cut names last.
    const pick = (cols: number[]) => (r: string[]) => cols.map((i) => r[i]);
    const sets = [[0, 1, 2, 3, 4, 5], [0, 2, 3, 4, 5]];
    const cols = sets.find((c) => formatTable(pick(c)(header), rows.map(pick(c))).every((l) => l.length <= width)) ?? sets[1];
    table = formatTable(pick(cols)(header), rows.map(pick(cols)), { maxWidth: width, shrink: [0], minColumn: 16 });
    lines.push(`(columns ${header.filter((_, i) => !cols.includes(i)).join(', ')} left out to fit ${width} columns; --json or a pipe shows them)`);
  }
  lines.push(...table);
  return lines;
}
