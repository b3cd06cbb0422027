/**
 * What the NaN / Inf scan costs `mtpkit validate` (src/artifact/non-finite-stream.ts): validateArtifact on
 * one artifact with the scan and without it, alternating in one process, `--repeat` times. Run it once
 * first (or pass --warm) so both read from the page cache; the cores are shared, so read the ratio.
 * `node dist/bench/validate-scan.js <artifact> [--repeat 5] [--json]`
 */
import { validateArtifact } from '../src/artifact/validate-artifact';
import { hasFlag, optionValue } from './support/cli-args';

export interface ValidateScanResult {
  artifact: string;
  bytes: number;
  repeat: number;
  seconds: { withScan: { min: number; median: number }; withoutScan: { min: number; median: number } };
  /** with / without, per pair of runs. */
  ratio: { min: number; median: number };
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)] };
};

async function timed(dir: string, finiteCheck: boolean): Promise<{ s: number; bytes: number }> {
  const t0 = process.hrtime.bigint();
  const r = await validateArtifact(dir, { finiteCheck });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { s, bytes: r.files.reduce((a, f) => a + f.size, 0) };
}

export async function run(dir: string, opts: { repeat?: number } = {}): Promise<ValidateScanResult> {
  const repeat = opts.repeat ?? 5;
  const { bytes } = await timed(dir, false); // warm-up: page cache
  const withScan: number[] = [];
  const withoutScan: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < repeat; r++) {
    // Alternate the order so a slow spell of the shared machine does not always hit the same side.
    const first = r % 2 === 0;
    const a = (await timed(dir, first)).s;
    const b = (await timed(dir, !first)).s;
    const [w, wo] = first ? [a, b] : [b, a];
    withScan.push(w);
    withoutScan.push(wo);
    ratios.push(w / wo);
  }
  return { artifact: dir, bytes, repeat, seconds: { withScan: stats(withScan), withoutScan: stats(withoutScan) }, ratio: stats(ratios) };
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const dir = args.find((a) => !a.startsWith('--'));
  if (!dir) {
    process.stderr.write('usage: node dist/bench/validate-scan.js <artifact> [--repeat 5] [--json]\n');
    process.exit(2);
  }
  run(dir, { repeat: Number(optionValue(args, '--repeat') ?? 5) }).then((r) => {
    if (hasFlag(args, '--json')) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else {
      const f = (x: { min: number; median: number }) => `${x.min.toFixed(2)} / ${x.median.toFixed(2)}`;
      process.stdout.write(
        `validate ${dir} (${(r.bytes / 2 ** 30).toFixed(2)} GiB), ${r.repeat} pairs, min / median\n` +
          `  with NaN/Inf scan:    ${f(r.seconds.withScan)} s\n` +
          `  without:              ${f(r.seconds.withoutScan)} s\n` +
          `  ratio with / without: ${f(r.ratio)}\n`,
      );
    }
  }, (e) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  });
}
