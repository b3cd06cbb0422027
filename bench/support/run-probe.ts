/**
 * Parent side of the convert probe: one fresh `node` per conversion, so each starts with an empty heap
 * and its own peak RSS. From dist/ it runs the compiled probe; from the .ts sources (no build) it runs
 * the probe through test/support/ts-register.js.
 */
import { execFile } from 'child_process';
import * as path from 'path';
import type { ProbeRequest, ProbeResult } from './probe-types';

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
  return new Promise((resolve) => {
    execFile(process.execPath, [...cmd, JSON.stringify(req)], { maxBuffer: 16 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last) as ProbeResult);
      } catch {
        const why = stderr.trim().split('\n').slice(-3).join(' | ') || String(err?.message ?? 'no output');
        resolve({ ok: false, error: `probe crashed: ${why}` });
      }
    });
  });
}
