/** Issue 10, CLI polish: one named unit for progress and summary, --bits with named policies, plan names and width, option values. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli } from '../support/run-cli';
import { SafetensorsFile } from '../../src/safetensors/reader';
import { renderPlan } from '../../src/cli/commands/plan';
import type { PlanReport } from '../../src/convert/plan-report';

const SRC = path.join(__dirname, '..', '..', 'fixtures', 'qwen35-dense');
let tmp: string;
const saved = process.env.MTPKIT_THREADS;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-cli-polish-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  if (saved === undefined) delete process.env.MTPKIT_THREADS;
  else process.env.MTPKIT_THREADS = saved;
});

/** Tensors in the output files' headers, counted independently of the converter. */
async function storedTensors(dir: string): Promise<number> {
  let n = 0;
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.safetensors'))) {
    const sf = await SafetensorsFile.open(path.join(dir, f));
    n += sf.tensors.size;
    await sf.close();
  }
  return n;
}

test('progress and summary count the same named unit: stored tensors, as in the files', async () => {
  const out = path.join(tmp, 'unit');
  const r = await runCli(['convert', SRC, out, '--policy', 'gdn8-speed4']);
  expect(r.code).toBe(0);
  const n = await storedTensors(out);
  expect(n).toBeGreaterThan(100); // quantized weights are stored with scales and biases
  expect(r.stdout).toContain(`: ${n} stored tensors,`);
  const last = r.stderr.trim().split('\n').pop()!;
  expect(last).toContain(`stored tensors ${n}/${n}`);
});

test('--bits with a named policy: recorded in the name (card, contract) or refused when nothing takes it', async () => {
  const out = path.join(tmp, 'bits');
  expect((await runCli(['convert', SRC, out, '--policy', 'gdn8-speed4', '--bits', '8', '--json'])).code).toBe(0);
  const contract = JSON.parse(fs.readFileSync(path.join(out, 'mtplx_runtime.json'), 'utf8'));
  expect(contract.mtpkit_provenance.policy.name).toBe('gdn8-speed4 (--bits 8)');
  expect(fs.readFileSync(path.join(out, 'README.md'), 'utf8')).toContain('Policy `gdn8-speed4 (--bits 8)`');
  // uniform is parameterised by --bits: its name stays.
  const u = await runCli(['plan', SRC, '--policy', 'uniform', '--bits', '8', '--json']);
  expect(JSON.parse(u.stdout).policy).toBe('uniform');
  for (const policy of ['body-int4', 'none']) {
    const r = await runCli(['plan', SRC, '--policy', policy, '--bits', '8']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--bits has no effect with policy '${policy}'`);
  }
});

test('plan shows the names and files written, honouring --mtp-layout', async () => {
  const side = JSON.parse((await runCli(['plan', SRC, '--policy', 'gdn8-speed4', '--json'])).stdout) as PlanReport;
  const mtp = side.tensors.filter((t) => t.group === 'mtp');
  expect(mtp.length).toBeGreaterThan(0);
  expect(mtp.every((t) => t.name.startsWith('mtp.') && t.file === 'mtp.safetensors')).toBe(true);
  // The names plan shows are exactly the planned tensors of the files convert writes.
  const out = path.join(tmp, 'plan-vs-convert');
  expect((await runCli(['convert', SRC, out, '--policy', 'gdn8-speed4', '--json'])).code).toBe(0);
  const sf = await SafetensorsFile.open(path.join(out, 'mtp.safetensors'));
  const written = [...sf.tensors.keys()].filter((n) => !/\.(scales|biases)$/.test(n)).sort();
  await sf.close();
  expect(mtp.map((t) => t.name).sort()).toEqual(written);

  const inline = JSON.parse((await runCli(['plan', SRC, '--mtp-layout', 'inline', '--json'])).stdout) as PlanReport;
  const inl = inline.tensors.filter((t) => t.group === 'mtp');
  expect(inl.every((t) => t.name.startsWith('language_model.mtp.') && t.file === 'model.safetensors')).toBe(true);
});

test('plan fits a terminal: no table line wider than the width; piped output keeps every column', async () => {
  const report = JSON.parse((await runCli(['plan', SRC, '--policy', 'gdn8-speed4', '--json'])).stdout) as PlanReport;
  const wide = renderPlan(report, undefined);
  const table = (lines: string[]) => lines.slice(lines.findIndex((l) => l.startsWith('tensor (as written)')));
  expect(table(wide)[0]).toContain('from / transforms');
  for (const width of [100, 80]) {
    const narrow = table(renderPlan(report, width));
    expect(narrow.length).toBe(report.tensors.length + 1);
    for (const l of narrow) expect(l.length).toBeLessThanOrEqual(width);
    expect(narrow[0]).not.toContain('rule');
  }
});

test('--threads, MTPKIT_THREADS and --max-shard-bytes: bad values name the option (exit 2); 0 threads = all cores', async () => {
  const bad: [string[], RegExp][] = [
    [['--threads', '-1'], /--threads takes a whole number of threads.*'-1'/],
    [['--threads', 'abc'], /--threads takes a whole number of threads.*'abc'/],
    [['--max-shard-bytes', '10'], /--max-shard-bytes 10 is below the 4 KiB minimum/],
    [['--max-shard-bytes', '-5'], /--max-shard-bytes takes a size in bytes.*'-5'/],
  ];
  for (const [args, msg] of bad) {
    const r = await runCli(['convert', SRC, path.join(tmp, 'bad'), ...args]);
    expect({ args, code: r.code }).toEqual({ args, code: 2 });
    expect(r.stderr).toMatch(msg);
    expect(r.stderr).not.toMatch(/tensor '/);
  }
  expect(fs.existsSync(path.join(tmp, 'bad'))).toBe(false);
  process.env.MTPKIT_THREADS = '0';
  expect((await runCli(['convert', SRC, path.join(tmp, 'env0'), '--json'])).code).toBe(0);
  process.env.MTPKIT_THREADS = 'many';
  const r = await runCli(['convert', SRC, path.join(tmp, 'env-bad')]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("MTPKIT_THREADS takes a whole number of threads, 0 for all cores (got 'many')");
  delete process.env.MTPKIT_THREADS;
  // A unit is accepted: 1MiB splits nothing of this tiny model, the same as the default.
  expect((await runCli(['convert', SRC, path.join(tmp, 'mib'), '--max-shard-bytes', '1MiB', '--threads', '0', '--json'])).code).toBe(0);
});
