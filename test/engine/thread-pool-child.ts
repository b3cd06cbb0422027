/**
 * Child process of thread-pool.test.ts (the pool reads MTPKIT_SPIN_US when it is created, and the
 * addon keeps one pool per thread count for the life of the process, so each setting needs its own
 * process). Runs many linear-layer calls through pools of several sizes, with and without pauses
 * between calls (a pause longer than the spin makes the workers park), and prints one JSON line:
 * how many outputs differed from one thread in any bit.
 */
import { qlinearForward } from '../../src/runtime/engine/kernels';
import { firstBitDifference, makeWeight, makeX } from './kernel-cases';

const rounds = Number(process.argv[2] ?? '40');
const pauseMs = Number(process.argv[3] ?? '0');
const sleeper = new Int32Array(new SharedArrayBuffer(4));

// Row counts that split into 2..5 blocks of >= 1024 rows at cols 256 (qlinear's minimum block),
// so pools of 8 threads also run jobs that leave some workers out.
const shapes = [2048, 3001, 4096, 5000].map((rows, i) => {
  const w = makeWeight({ label: 'affine 4-bit g64 BF16', format: 'affine', bits: 4, groupSize: 64, scalesDType: 'BF16' }, rows, 256, 100 + i);
  const x = makeX(1, 256, 200 + i);
  return { spec: w.spec, x, want: qlinearForward(w.spec, x, 1, 1) };
});

let calls = 0;
let mismatches = 0;
for (let r = 0; r < rounds; r++) {
  for (const threads of [2, 3, 8]) {
    for (const s of shapes) {
      const got = qlinearForward(s.spec, s.x, 1, threads);
      calls++;
      if (firstBitDifference(got, s.want) >= 0) mismatches++;
    }
  }
  if (pauseMs > 0) Atomics.wait(sleeper, 0, 0, pauseMs);
}
process.stdout.write(JSON.stringify({ calls, mismatches }) + '\n');
