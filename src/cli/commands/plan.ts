/** `mtpkit plan <src>`: the per-tensor plan (sources, transforms, decision, rule, bytes), without converting. */
import type { CommandModule } from 'yargs';
import { openSource } from '../../source/open-source';
import { buildConversionPlan } from '../../convert/conversion-plan';
import { planReport, type PlanReport } from '../../convert/plan-report';
import { planReads } from '../../convert/plan-reads';
import { formatBytes, formatTable, printJson, printLines } from '../output';
import { planOptions, policyChoice, type CommonPlanArgs } from './convert';
import { hubConfigFrom, hubOptions, type HubArgs } from '../hub-options';
import { planPartsOptions, printPartition, type PlanPartsArgs } from './plan-parts';
import { partHubOptions } from '../../convert/convert-part';

export const planCommand: CommandModule<object, CommonPlanArgs & HubArgs & PlanPartsArgs> = {
  command: 'plan <source>',
  describe: 'show the conversion plan: for every output tensor its sources, transforms, quantization and bytes',
  builder: (y) =>
    planPartsOptions(hubOptions(planOptions(y))).positional('source', { type: 'string', demandOption: true, describe: 'checkpoint folder, or org/name[@revision] on the Hub' }) as never,
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
      const report = planReport(plan, await src.estimateFetch(planReads(plan.tensors)));
      if (a.json) printJson({ ok: true, ...report });
      else printLines(renderPlan(report));
    } finally {
      await src.close();
    }
  },
};

function renderPlan(r: PlanReport): string[] {
  const lines = [
    `source:        ${r.source}`,
    `architecture:  ${r.architecture}`,
    `raw HF:        ${r.rawCheckpoint ? 'yes' : 'no'} (${r.rawEvidence})`,
    `policy:        ${r.policy}`,
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
  lines.push(
    ...formatTable(
      ['tensor', 'dtype', 'shape', 'decision', 'bytes', 'rule', 'from / transforms'],
      r.tensors.map((t) => [
        t.name,
        t.dtype,
        `[${t.shape.join(',')}]`,
        t.decision,
        String(t.bytes),
        t.rule ?? '',
        t.transforms.join('; ') || t.sources.join(', '),
      ]),
    ),
  );
  return lines;
}
