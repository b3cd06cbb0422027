/**
 * AR vs MTP speed and acceptance on a planted artifact, measured by `runSmoke` itself (all ratios from
 * one run): generates a planted checkpoint (optionally wider, 27B proportions), converts it with a
 * policy, smokes it, prints the figures and the smoke wall time.
 * node dist/bench/smoke-planted.js [--variant qwen35-dense] [--scale 16] [--layers 8] [--noise 0]
 *   [--policy uniform] [--max-tokens 64] [--threads N] [--repeat 3] [--json]
 * With --repeat R the smoke runs R times; tok/s are reported as min and median.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generatePlantedCheckpoint, type PlantedVariant } from '../fixtures/generator/planted';
import { runConvert } from '../src/convert/pipeline';
import { runSmoke, type SmokeReport } from '../src/smoke/run-smoke';
import { hasFlag, optionValue } from './support/cli-args';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const num = (name: string) => (optionValue(argv, name.replace(/^--/, '')) !== undefined ? Number(optionValue(argv, name.replace(/^--/, ''))) : undefined);
  const variant = (optionValue(argv, 'variant') ?? 'qwen35-dense') as PlantedVariant;
  const repeat = num('--repeat') ?? 3;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-bench-smoke-'));
  try {
    const src = path.join(dir, 'src');
    await generatePlantedCheckpoint(src, { variant, scale: num('--scale'), layers: num('--layers'), noise: num('--noise') ?? 0 });
    const art = path.join(dir, 'art');
    await runConvert({ source: src, out: art, force: true, rounding: 'metal', vision: 'drop', mtp: 'keep', policy: { spec: optionValue(argv, 'policy') ?? 'uniform' } });
    const reports: SmokeReport[] = [];
    for (let r = 0; r < repeat; r++) reports.push(await runSmoke(art, { maxTokens: num('--max-tokens') ?? 64, threads: num('--threads') }));
    const last = reports[reports.length - 1];
    const summary = {
      variant,
      hidden: JSON.parse(fs.readFileSync(path.join(src, 'config.json'), 'utf8')).text_config.hidden_size,
      status: last.status,
      threads: last.engine.threads,
      cpu: last.engine.cpu,
      arTokS: { min: Math.min(...reports.map((r) => r.arTokS)), median: median(reports.map((r) => r.arTokS)) },
      depths: last.depths.map((d, i) => {
        const tok = reports.map((r) => r.depths[i].mtpTokS);
        const sp = reports.map((r) => r.depths[i].speedup);
        return { depth: d.depth, identity: reports.every((r) => r.depths[i].identity), acceptanceByPosition: d.acceptanceByPosition, tokensPerCycle: d.meanAcceptedLength, mtpTokS: { min: Math.min(...tok), median: median(tok) }, speedup: { min: Math.min(...sp), median: median(sp) } };
      }),
      smokeSeconds: { min: Math.min(...reports.map((r) => r.seconds)), median: median(reports.map((r) => r.seconds)) },
    };
    if (hasFlag(argv, 'json')) console.log(JSON.stringify(summary, null, 2));
    else {
      console.log(`${variant} hidden ${summary.hidden}, ${summary.threads} thread(s), ${summary.cpu}: ${summary.status}; AR ${summary.arTokS.median.toFixed(1)} tok/s (min ${summary.arTokS.min.toFixed(1)}); smoke ${summary.smokeSeconds.median.toFixed(1)} s`);
      for (const d of summary.depths) {
        console.log(`  depth ${d.depth}: identity ${d.identity}, acceptance ${d.acceptanceByPosition.map((a) => a.toFixed(2)).join('/')}, ${d.tokensPerCycle.toFixed(2)} tok/cycle, MTP ${d.mtpTokS.median.toFixed(1)} tok/s (min ${d.mtpTokS.min.toFixed(1)}), speedup ${d.speedup.median.toFixed(2)}x (min ${d.speedup.min.toFixed(2)}x)`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
