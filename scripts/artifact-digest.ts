/**
 * Converts every committed fixture with a spread of policies and both MTP layouts, and prints one
 * `sha256  path` line per output file, so a refactor can prove that artifacts stay byte-identical:
 *
 *   node -r ./test/support/ts-register.js scripts/artifact-digest.ts > /tmp/digests.txt
 *
 * The runtime contract records when it was written (`created_at`, `timestamp`); those fields are blanked before hashing,
 * everything else (including the contract's own checksums of every other file) is hashed as written.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main';

const ROOT = join(__dirname, '..');
const FIXTURES = ['qwen35-dense', 'qwen35-dense-tied', 'qwen35-moe', 'qwen36-moe', 'qwen3-next'];
const POLICIES: string[][] = [
  ['--policy', 'none'],
  ['--policy', 'gdn8-speed4'],
  ['--policy', 'uniform', '--bits', '4'],
  ['--policy', 'uniform', '--mode', 'mxfp4'],
  ['--policy', 'uniform', '--mode', 'nvfp4', '--group-size', '16'],
  ['--policy', 'gdn8-speed4+fp16'],
];
const LAYOUTS = ['sidecar', 'inline'];
/** Fields that change from run to run. */
const VOLATILE_KEYS = new Set(['created_at', 'timestamp']);

interface Case {
  name: string;
  args: string[];
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const f of FIXTURES) {
    for (const p of POLICIES) {
      for (const l of LAYOUTS) {
        out.push({ name: `${f}/${p.filter((a) => !a.startsWith('--')).join('-')}/${l}`, args: [join(ROOT, 'fixtures', f), ...p, '--mtp-layout', l] });
      }
    }
  }
  out.push({ name: 'qwen35-stripped/none/mtp-drop', args: [join(ROOT, 'fixtures', 'qwen35-stripped'), '--policy', 'none', '--mtp', 'drop'] });
  out.push({ name: 'qwen35-dense/uniform-4/mtp-drop', args: [join(ROOT, 'fixtures', 'qwen35-dense'), '--policy', 'uniform', '--bits', '4', '--mtp', 'drop'] });
  return out;
}

function scrub(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(scrub);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = VOLATILE_KEYS.has(k) ? '<volatile>' : scrub(v);
    return out;
  }
  return value;
}

function digest(file: string, name: string): string {
  let bytes = readFileSync(file);
  if (name === 'mtplx_runtime.json') bytes = Buffer.from(JSON.stringify(scrub(JSON.parse(bytes.toString('utf8'))), null, 2));
  return createHash('sha256').update(bytes).digest('hex');
}

async function run(): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'mtpkit-digest-'));
  const write = process.stdout.write.bind(process.stdout);
  const lines: string[] = [];
  let failures = 0;
  try {
    for (const c of cases()) {
      const out = join(work, c.name.replace(/\//g, '__'));
      // The CLI prints a JSON summary (with timings); keep it out of the digest listing.
      process.stdout.write = (() => true) as typeof process.stdout.write;
      let code: number;
      try {
        code = await main(['convert', ...c.args, out, '--json']);
      } finally {
        process.stdout.write = write;
      }
      if (code !== 0) {
        lines.push(`FAILED(${code})  ${c.name}`);
        failures++;
        continue;
      }
      for (const name of readdirSync(out).sort()) lines.push(`${digest(join(out, name), name)}  ${c.name}/${name}`);
      rmSync(out, { recursive: true, force: true });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  write(lines.join('\n') + '\n');
  return failures ? 1 : 0;
}

run().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
