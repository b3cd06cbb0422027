/**
 * Parent side of the convert probe: one fresh `node` per conversion, so each starts with an empty heap
 * and its own peak RSS. From dist/ it runs the compiled probe; from the .ts sources (no build) it runs
 * the probe through test/support/ts-register.js.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { ProbeRequest, ProbeResult, ProbeRusage } from './probe-types';

/**
 * GNU time reports the child's own CPU time and page faults (getrusage of the process it waits for),
 * which node cannot ask for about a child; its line goes to stderr, marked so it can be found there.
 */
const GNU_TIME = '/usr/bin/time';
const RUSAGE_MARK = 'mtpkit-probe-rusage';
const withTime = process.platform === 'linux' && fs.existsSync(GNU_TIME);

function parseRusage(stderr: string): ProbeRusage | undefined {
  const m = new RegExp(`^${RUSAGE_MARK} ([\\d.]+) ([\\d.]+) (\\d+) (\\d+)$`, 'm').exec(stderr);
  return m ? { userSeconds: Number(m[1]), sysSeconds: Number(m[2]), minorFaults: Number(m[3]), majorFaults: Number(m[4]) } : undefined;
}

function probeCommand(): string[] {
  if (__filename.endsWith('.ts')) {
    return ['-r', path.resolve(__dirname, '../../test/support/ts-register.js'), path.join(__dirname, 'convert-probe.ts')];
  }
  return [path.join(__dirname, 'convert-probe.js')];
}

/** Pattern of the error the pipeline raised before quantization was wired in. */
export const QUANT_UNAVAILABLE = /quantization is not available yet/;

/**
 * Runs the probe of this tree, or of another built checkout (`tree`: its dist/bench/support/convert-probe.js),
 * so a run can time the converter before and after a change on the same input.
 */
export function runProbe(req: ProbeRequest, tree?: string): Promise<ProbeResult> {
  const cmd = tree ? [path.join(tree, 'dist', 'bench', 'support', 'convert-probe.js')] : probeCommand();
  const node = [process.execPath, ...cmd, JSON.stringify(req)];
  const [file, ...args] = withTime ? [GNU_TIME, '-f', `${RUSAGE_MARK} %U %S %R %F`, ...node] : node;
  return new Promise((resolve) => {
    execFile(file, args, { maxBuffer: 16 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        const r = JSON.parse(last) as ProbeResult;
        const rusage = r.ok ? parseRusage(stderr) : undefined;
        resolve(rusage && r.ok ? { ...r, rusage } : r);
      } catch {
        const why = stderr.trim().split('\n').slice(-3).join(' | ') || String(err?.message ?? 'no output');
        resolve({ ok: false, error: `probe crashed: ${why}` });
      }
    });
  });
}
