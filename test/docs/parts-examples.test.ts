/**
 * The partitioned-conversion examples in docs/examples use the CLI as it is: their `mtpkit` command
 * lines, with the variables filled in (a local fixture as the source, no Hub push), run the conversion
 * part by part and assemble it; the part counts they state agree with each other.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli } from '../support/run-cli';

const DOCS = path.join(__dirname, '..', '..', 'docs', 'examples');
const FIXTURE = path.join(__dirname, '..', '..', 'fixtures', 'qwen35-dense');
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-parts-docs-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Splits a shell command line on blanks, keeping "double quoted" words whole (no other shell syntax). */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

/** `mtpkit <command> ...` commands of a file (comments skipped), with `$VAR` / `${{ ... }}` left to fill. */
function mtpkitLines(text: string, command: string): string[] {
  const code = text
    .split('\n')
    .filter((l) => !l.trim().startsWith('#'))
    .join('\n');
  return [...code.matchAll(new RegExp(`mtpkit ${command} [^\\n&]*`, 'g'))].map((m) => m[0].replace(/\\"/g, '"').replace(/"\]\s*$/, '').trim());
}

async function run(line: string, vars: Record<string, string>, env: Record<string, string> = {}): Promise<number> {
  const filled = line.replace(/\$\{\{\s*([\w.]+)\s*\}\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => {
    const v = vars[(a ?? b)!];
    if (v === undefined) throw new Error(`no value for ${a ?? b} in: ${line}`);
    return v;
  });
  const args = words(filled).slice(1);
  const push = args.indexOf('--push');
  if (push >= 0) args.splice(push, 2); // no Hub here: the part stays in its folder
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const r = await runCli(args);
    if (r.code !== 0) throw new Error(`${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r.code;
  } finally {
    for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

test('GitHub Actions workflow: the matrix lists parts 1..PARTS; its convert line run per part, then assemble --parts', async () => {
  const text = fs.readFileSync(path.join(DOCS, 'github-actions-parts.yml'), 'utf8');
  const parts = Number(/^\s+PARTS: (\d+)/m.exec(text)![1]);
  const matrix = /part: \[([\d, ]+)\]/.exec(text)![1].split(',').map(Number);
  expect(matrix).toEqual(Array.from({ length: parts }, (_, i) => i + 1));
  const [convert] = mtpkitLines(text, 'convert');
  expect(convert).toMatch(/--part "\$\{\{ matrix\.part \}\}\/\$PARTS"/);
  expect(mtpkitLines(text, 'assemble')).toEqual(['mtpkit assemble --repo "$TARGET"']);
  const dir = path.join(tmp, 'gha');
  const cwd = process.cwd();
  try {
    for (let i = parts; i >= 1; i--) {
      fs.mkdirSync(path.join(dir, `job-${i}`), { recursive: true });
      process.chdir(path.join(dir, `job-${i}`)); // each job writes `part` in its own workspace
      await run(convert, { SOURCE: FIXTURE, PARTS: String(parts), 'matrix.part': String(i), POLICY: 'gdn8-speed4', TARGET: 'x/y' });
    }
  } finally {
    process.chdir(cwd);
  }
  expect(await run(`mtpkit assemble ${path.join(tmp, 'gha-out')} --parts ${dir}`, {})).toBe(0);
  expect(fs.existsSync(path.join(tmp, 'gha-out', 'model.safetensors.index.json'))).toBe(true);
}, 120000);

test('Kubernetes Indexed Job: completions = --parts; each index from JOB_COMPLETION_INDEX makes its part', async () => {
  const text = fs.readFileSync(path.join(DOCS, 'kubernetes-indexed-job.yaml'), 'utf8');
  const completions = Number(/completions: (\d+)/.exec(text)![1]);
  const [convert] = mtpkitLines(text, 'convert');
  expect(Number(/--parts (\d+)/.exec(convert)![1])).toBe(completions);
  const policy = /name: POLICY, value: "([^"]+)"/.exec(text)![1];
  const dir = path.join(tmp, 'k8s');
  for (let i = 0; i < completions; i++) {
    const scratch = path.join(dir, `pod-${i}`);
    await run(convert.replace('/scratch/part', path.join(scratch, 'part')), { SOURCE: FIXTURE, POLICY: policy, TARGET: 'x/y' }, { JOB_COMPLETION_INDEX: String(i) });
  }
  expect(await run(`mtpkit assemble ${path.join(tmp, 'k8s-out')} --parts ${dir}`, {})).toBe(0);
  expect(mtpkitLines(text, 'assemble')).toEqual(['mtpkit assemble --repo "$TARGET"']);
}, 120000);
