/**
 * Child-process probe: converts argv[2] into argv[3] with policy argv[4] and prints JSON with the
 * resident memory before the conversion and the peak during it (getrusage maxRSS, bytes).
 */
import { runConvert } from '../../src/convert/pipeline';

async function probe(): Promise<void> {
  const [source, out, policy = 'none'] = process.argv.slice(2);
  const before = process.memoryUsage().rss;
  const peakBefore = process.resourceUsage().maxRSS * 1024;
  const t0 = Date.now();
  await runConvert({ source, out, force: true, rounding: 'metal', vision: 'drop', mtp: 'keep', policy: { spec: policy } });
  const peak = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify({ rssBefore: before, peakBefore, peak, seconds: (Date.now() - t0) / 1000 }) + '\n');
}

probe().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
});
