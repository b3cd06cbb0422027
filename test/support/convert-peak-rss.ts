/**
 * Child-process probe: converts argv[2] into argv[3] with policy argv[4] and prints JSON with the
 * resident memory before the conversion and the peak during it (bytes).
 *
 * The peak must be the conversion's own. The process's lifetime high-water mark (getrusage maxRSS) also
 * holds the spike of loading the modules (transpiling, TypeScript itself on a ts-register cache miss),
 * which is larger and more variable when other processes compete for the cores (V8 frees garbage later):
 * measured here, 70 MiB idle and 89 MiB beside two busy processes, against a conversion peak of ~100 MiB.
 * So on Linux the probe collects garbage (when run with --expose-gc), resets the high-water mark
 * (/proc/self/clear_refs "5", Linux >= 4.0) and reads VmHWM afterwards; elsewhere it falls back to maxRSS.
 */
import * as fs from 'fs';
import { runConvert } from '../../src/convert/pipeline';

function statusBytes(field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function resetPeak(): boolean {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return statusBytes('VmHWM') !== undefined;
  } catch {
    return false;
  }
}

async function probe(): Promise<void> {
  const [source, out, policy = 'none'] = process.argv.slice(2);
  (globalThis as { gc?: () => void }).gc?.();
  const peakBefore = process.resourceUsage().maxRSS * 1024;
  const reset = resetPeak();
  const before = process.memoryUsage().rss;
  const t0 = Date.now();
  await runConvert({ source, out, force: true, rounding: 'metal', vision: 'drop', mtp: 'keep', policy: { spec: policy } });
  const peak = (reset ? statusBytes('VmHWM') : undefined) ?? process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify({ rssBefore: before, peakBefore, peak, peakSource: reset ? 'VmHWM after reset' : 'maxRSS', seconds: (Date.now() - t0) / 1000 }) + '\n');
}

probe().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
});
