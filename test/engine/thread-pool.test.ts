/**
 * The engine's thread pool (native/src/engine/thread_pool.cc) under its three ways of handing over
 * work: workers that never spin (MTPKIT_SPIN_US=0: every job wakes parked threads), workers that spin
 * long enough to catch every next job, and short spins with pauses between rounds, so that jobs
 * arrive both to spinning and to parked workers. Every call must give the same bits as one thread,
 * with no job lost or run twice (either would leave rows unwritten or stale, or hang the test).
 */
import { spawn } from 'child_process';
import * as path from 'path';
import { REGISTER } from '../support/part-processes';

const CHILD = path.join(__dirname, 'thread-pool-child.ts');

function runChild(spinUs: string, rounds: number, pauseMs: number): Promise<{ calls: number; mismatches: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', REGISTER, CHILD, String(rounds), String(pauseMs)], {
      env: { ...process.env, MTPKIT_SPIN_US: spinUs },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exit ${code}: ${err}`))));
  });
}

test.each([
  ['never spinning', '0', 30, 0],
  ['spinning through every job', '100000', 30, 0],
  ['short spins, parked between rounds', '20', 30, 2],
])('pool %s: every call matches one thread bit for bit', async (_label, spinUs, rounds, pauseMs) => {
  const r = await runChild(spinUs, rounds, pauseMs);
  expect(r.calls).toBe(rounds * 3 * 4);
  expect(r.mismatches).toBe(0);
}, 120_000);
