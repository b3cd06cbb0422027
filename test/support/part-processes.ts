/**
 * Helpers for partitioned-conversion tests: run `mtpkit convert --part` as real child processes (the
 * CLI through ts-register, so no prior build is needed), in a given order with bounded concurrency,
 * and compare an assembled artifact with a single-machine one byte for byte.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const REGISTER = path.join(__dirname, 'ts-register.js');
export const CLI = path.join(__dirname, '..', '..', 'src', 'cli', 'main.ts');

export interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCliProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', REGISTER, CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs the jobs `width` at a time, starting them in the given order. */
export async function runAll<T>(jobs: (() => Promise<T>)[], width: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, worker));
  return out;
}

/** A seeded permutation of 0..n-1 (Fisher-Yates over a small LCG), so "any order" is reproducible. */
export function shuffled(n: number, seed: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  let s = seed >>> 0;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Every file under `dir`, relative, sorted. */
export function treeOf(dir: string): string[] {
  const out: string[] = [];
  const walk = (abs: string, rel: string) => {
    for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(abs, e.name), r);
      else out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}

/** The contract with its two clock readings blanked: everything else must match byte for byte. */
export function contractWithoutClock(text: string): string {
  return text.replace(/("(?:timestamp|created_at)":\s*)"[^"]*"/g, '$1"<clock>"');
}

/** Files of `got` that differ from `want` (the contract compared without its clock readings). */
export function differingFiles(want: string, got: string, files = treeOf(want)): string[] {
  const diff: string[] = [];
  for (const f of files) {
    const a = fs.readFileSync(path.join(want, f));
    const b = fs.readFileSync(path.join(got, f));
    const same = f === 'mtplx_runtime.json' ? contractWithoutClock(a.toString('utf8')) === contractWithoutClock(b.toString('utf8')) : a.equals(b);
    if (!same) diff.push(f);
  }
  return diff;
}
