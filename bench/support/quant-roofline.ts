/**
 * The quantization kernel's speed per core against the machine's memory read bandwidth, measured in
 * the same process, interleaved round by round so background load hits both alike: one thread of
 * `readBandwidthRuns` (a streaming read of a buffer much larger than the caches) and one thread of the
 * affine quantizer on bf16 data (input GB/s). `ofRead` = quantize GB/s / read GB/s: how close the
 * kernel comes to only streaming its input once (output bytes are 1/4 to 1/2 more traffic). The outputs
 * go to buffers reused from call to call, as in convert.
 */
import { f32ToBf16 } from '../../src/numeric/float-bits';
import { quantize, quantKernels, type QuantKernel } from '../../src/quant/kernels';
import { gaussian, seededRng } from '../../src/quant/kernels/synthetic';
import { readBandwidthRuns } from '../../src/runtime/engine/kernels';

export interface MinMedian {
  best: number;
  median: number;
}

export interface QuantRoofline {
  rounds: number;
  readBytes: number;
  quantBytes: number;
  /** GB/s of one thread's streaming read (wall clock), and per CPU-second (robust to a busy machine). */
  readGBps: MinMedian;
  readCpuGBps: MinMedian;
  /**
   * Input GB/s of the affine g64 quantizer on one thread (metal rounding, as convert uses by default), for
   * each vectorised kernel variant this machine has (the first is what convert runs; the plain scalar
   * loops are left out, they only serve as the tests' reference).
   */
  quant: { bits: number; kernel: QuantKernel; gbps: MinMedian; ofRead: MinMedian; cpuGBps: MinMedian; ofReadCpu: MinMedian }[];
}

const stat = (xs: number[]): MinMedian => {
  const s = [...xs].sort((a, b) => a - b);
  return { best: s[s.length - 1], median: s[(s.length - 1) >> 1] };
};

function bf16Data(bytes: number): Buffer {
  const rng = seededRng(7);
  const buf = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 2) buf.writeUInt16LE(f32ToBf16(gaussian(rng, 0.02)), i);
  return buf;
}

export async function quantRoofline(opts: { rounds?: number; readMiB?: number; quantMiB?: number } = {}): Promise<QuantRoofline> {
  const rounds = opts.rounds ?? 5;
  const readBytes = (opts.readMiB ?? 512) * 2 ** 20;
  const cols = 4096;
  const data = bf16Data(Math.floor(((opts.quantMiB ?? 64) * 2 ** 20) / (2 * cols)) * 2 * cols);
  const variants = quantKernels()
    .filter((k) => k !== 'scalar')
    .flatMap((kernel) => [4, 8].map((bits) => ({ bits, kernel })));
  // Into the same output buffers every time, as convert does (its executor pools them): fresh ones
  // would page-fault every output byte on each call and time the kernel's memory mapping, not its work.
  const groups = data.length / 2 / 64;
  const outs = new Map([4, 8].map((bits) => [bits, { weight: Buffer.alloc((data.length / 2) * bits / 8), scales: Buffer.alloc(groups * 2), biases: Buffer.alloc(groups * 2) }]));
  const q = (bits: number, kernel: QuantKernel) =>
    quantize(data, { dtype: 'BF16', shape: [data.length / 2 / cols, cols], mode: 'affine', bits, groupSize: 64, rounding: 'metal', threads: 1, kernel }, outs.get(bits));
  for (const v of variants) await q(v.bits, v.kernel); // warm-up
  const read: number[] = [];
  const readCpu: number[] = [];
  const figs = variants.map(({ bits, kernel }) => ({ bits, kernel, gbps: [] as number[], ofRead: [] as number[], cpuGBps: [] as number[], ofReadCpu: [] as number[] }));
  for (let r = 0; r < rounds; r++) {
    const rb = readBandwidthRuns(readBytes, 1, 1);
    const gbRead = rb.bytes / rb.wall[0] / 1e9;
    const gbReadCpu = rb.bytes / rb.cpu[0] / 1e9;
    read.push(gbRead);
    readCpu.push(gbReadCpu);
    for (const f of figs) {
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      await q(f.bits, f.kernel);
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const c = process.cpuUsage(c0);
      const gb = data.length / wall / 1e9;
      const gbCpu = data.length / ((c.user + c.system) / 1e6) / 1e9;
      f.gbps.push(gb);
      f.ofRead.push(gb / gbRead);
      f.cpuGBps.push(gbCpu);
      f.ofReadCpu.push(gbCpu / gbReadCpu);
    }
  }
  return {
    rounds,
    readBytes,
    quantBytes: data.length,
    readGBps: stat(read),
    readCpuGBps: stat(readCpu),
    quant: figs.map((f) => ({ bits: f.bits, kernel: f.kernel, gbps: stat(f.gbps), ofRead: stat(f.ofRead), cpuGBps: stat(f.cpuGBps), ofReadCpu: stat(f.ofReadCpu) })),
  };
}

export function formatQuantRoofline(r: QuantRoofline): string[] {
  const f = (m: MinMedian, d = 2) => `${m.median.toFixed(d)} (best ${m.best.toFixed(d)})`;
  return [
    `quantize kernel vs memory read bandwidth, 1 thread, ${r.rounds} interleaved rounds, median (best); wall clock | per CPU-second:`,
    `  read ${(r.readBytes / 2 ** 20).toFixed(0)} MiB: ${f(r.readGBps)} GB/s | ${f(r.readCpuGBps)} GB/s`,
    ...r.quant.map(
      (q) =>
        `  affine ${q.bits}-bit g64 bf16, ${q.kernel.padEnd(6)} (${(r.quantBytes / 2 ** 20).toFixed(0)} MiB): ${f(q.gbps)} GB/s per core = ${f(q.ofRead)} of read` +
        ` | ${f(q.cpuGBps)} GB/s = ${f(q.ofReadCpu)} of read`,
    ),
  ];
}
