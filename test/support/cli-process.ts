/**
 * The built CLI (`node dist/src/cli/main.js`) as a real child process, for tests that send signals.
 * Refuses to run against a dist/ older than src/ (run `npm run build` first), so a test never passes
 * or fails on stale code.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
/** MTPKIT_TEST_CLI runs the tests against another build (e.g. the code before a fix, to watch them fail). */
export const CLI_MAIN = process.env.MTPKIT_TEST_CLI ?? path.join(ROOT, 'dist', 'src', 'cli', 'main.js');

export interface CliRun {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

export function assertDistFresh(): void {
  if (process.env.MTPKIT_TEST_CLI) return;
  const stale: string[] = [];
  const walk = (dir: string): void => {
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, d.name);
      if (d.isDirectory()) walk(p);
      else if (d.name.endsWith('.ts') && !d.name.endsWith('.d.ts')) {
        const js = path.join(ROOT, 'dist', path.relative(ROOT, p)).replace(/\.ts$/, '.js');
        if (!fs.existsSync(js) || fs.statSync(js).mtimeMs < fs.statSync(p).mtimeMs) stale.push(path.relative(ROOT, p));
      }
    }
  };
  walk(path.join(ROOT, 'src'));
  if (stale.length) throw new Error(`dist/ is older than ${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', ...' : ''}: run \`npm run build\` first`);
}

export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): CliRun {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c) => (stdout += c));
  child.stderr!.on('data', (c) => (stderr += c));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

/** Polls `pred` until true; rejects if the child ends first (the moment to act was missed). */
export function waitWhileRunning(child: ChildProcess, pred: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onExit = () => {
      clearInterval(timer);
      reject(new Error(`the child ended before: ${what}`));
    };
    const timer = setInterval(() => {
      if (pred()) {
        clearInterval(timer);
        child.off('exit', onExit);
        resolve();
      }
    }, 5);
    child.once('exit', onExit);
  });
}
