/**
 * Child process: runs one conversion (argv[2] = ProbeRequest as JSON) in a fresh heap and prints one
 * ProbeResult JSON line: wall clock, RSS before and peak (getrusage maxRSS), per-step timings.
 */
import { runConvert } from '../../src/convert/pipeline';
import { instrumentPipeline, phasesOf } from './phase-timers';
import type { ProbeRequest, ProbeResult } from './probe-types';

async function probe(req: ProbeRequest): Promise<ProbeResult> {
  const timers = instrumentPipeline();
  const rssBefore = process.memoryUsage().rss;
  const t0 = process.hrtime.bigint();
  const summary = await runConvert({
    source: req.source,
    out: req.out,
    force: true,
    threads: req.threads,
    rounding: 'metal',
    vision: 'drop',
    mtp: 'keep',
    mtpLayout: 'sidecar',
    policy: { spec: req.policy },
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const peakRss = process.resourceUsage().maxRSS * 1024;
  return { ok: true, seconds, bytesWritten: summary.bytesWritten, rssBefore, peakRss, phases: phasesOf(timers, seconds) };
}

probe(JSON.parse(process.argv[2] ?? '{}') as ProbeRequest).then(
  (r) => process.stdout.write(JSON.stringify(r) + '\n'),
  (err) => {
    const r: ProbeResult = { ok: false, error: String(err?.message ?? err) };
    process.stdout.write(JSON.stringify(r) + '\n');
    process.stderr.write(String(err?.stack ?? err) + '\n');
    process.exitCode = 1;
  },
);
