/** The human summary of a smoke run: a few lines and one row per depth. */
import type { SmokeReport } from './run-smoke';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function renderSmoke(r: SmokeReport): string[] {
  const lines = [
    `artifact:  ${r.artifact}`,
    `engine:    ${r.engine.name} ${r.engine.version} (${r.engine.activations} activations) on ${r.engine.cpu}, ${r.engine.threads} thread(s)`,
    `head:      ${r.audit.mtpTensors} MTP tensors, audit ${r.audit.ok ? 'clean' : `${r.audit.findings.length} finding(s)`}`,
  ];
  if (r.wiring) {
    lines.push(`wiring:    ${r.wiring.best.base_hidden_variant} / ${r.wiring.best.concat_order} (stated ${r.wiring.stated.base_hidden_variant} / ${r.wiring.stated.concat_order})`);
    for (const c of r.wiring.candidates) lines.push(`           ${c.base_hidden_variant.padEnd(9)} ${c.concat_order.padEnd(16)} depth-1 acceptance ${pct(c.acceptance)}`);
    for (const w of r.wiring.warnings) lines.push(`warning:   ${w}`);
  }
  if (r.depths.length) {
    lines.push(`prompts:   ${r.prompts.join(', ')} (${r.maxTokens} tokens each); AR ${r.arTokS.toFixed(1)} tok/s`);
    lines.push('depth  identity  acceptance by position   tokens/cycle  histogram        MTP tok/s  speedup');
    for (const d of r.depths) {
      lines.push(
        `${String(d.depth).padEnd(7)}${(d.identity ? 'yes' : `NO ${d.matches}/${r.prompts.length}`).padEnd(10)}` +
          `${d.acceptanceByPosition.map(pct).join(' ').padEnd(25)}${d.meanAcceptedLength.toFixed(2).padEnd(14)}` +
          `${JSON.stringify(d.histogram).padEnd(17)}${d.mtpTokS.toFixed(1).padEnd(11)}${d.speedup.toFixed(2)}x`,
      );
    }
  }
  for (const reason of r.reasons) lines.push(`reason:    ${reason}`);
  if (r.status === 'passed' && r.verdict !== 'mtp_depth_wins') {
    lines.push(`note:      MTPLX reads the verdict ${r.verdict} as unverified: \`mtpkit publish\` refuses it without --allow-unverified`);
  }
  lines.push(`result:    ${r.status === 'passed' ? 'PASSED' : `FAILED (${r.status})`}${r.verdict ? `, speed verdict ${r.verdict}` : ''}, ${r.seconds.toFixed(1)} s`);
  return lines;
}
