/**
 * Acceptance figures of a speculative run (mtp-runtime-contract §12.1, kept apart on purpose):
 * per-position acceptance a_i = fraction of cycles whose i-th draft was accepted (unconditional, as
 * MTPLX's `acceptance_by_depth`), tokens per cycle tau = 1 + sum a_i, and the histogram of accepted
 * drafts per cycle.
 */
export interface SpecMetrics {
  depth: number;
  cycles: number;
  /** Drafts proposed over all cycles. */
  drafted: number;
  /** Drafts accepted over all cycles. */
  accepted: number;
  /** a_i for i = 1..depth. */
  acceptanceByPosition: number[];
  /** accepted / drafted. */
  draftAcceptance: number;
  /** Tokens emitted per verify cycle (accepted drafts + 1). */
  meanAcceptedLength: number;
  /** histogram[j] = cycles that accepted exactly j drafts, j = 0..depth. */
  histogram: number[];
}

export class MetricsCounter {
  private readonly hist: number[];

  constructor(readonly depth: number) {
    this.hist = new Array<number>(depth + 1).fill(0);
  }

  /** One verify cycle that proposed `depth` drafts and accepted the first `accepted`. */
  addCycle(accepted: number): void {
    this.hist[accepted]++;
  }

  result(): SpecMetrics {
    const cycles = this.hist.reduce((a, b) => a + b, 0);
    const accepted = this.hist.reduce((a, n, j) => a + n * j, 0);
    const byPos: number[] = [];
    for (let i = 1; i <= this.depth; i++) {
      let reached = 0;
      for (let j = i; j <= this.depth; j++) reached += this.hist[j];
      byPos.push(cycles ? reached / cycles : 0);
    }
    return {
      depth: this.depth,
      cycles,
      drafted: cycles * this.depth,
      accepted,
      acceptanceByPosition: byPos,
      draftAcceptance: cycles ? accepted / (cycles * this.depth) : 0,
      meanAcceptedLength: cycles ? (cycles + accepted) / cycles : 0,
      histogram: [...this.hist],
    };
  }
}
