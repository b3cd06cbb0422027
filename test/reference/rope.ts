/**
 * Partial rotary embedding as MLX `nn.RoPE(dims, traditional=False, base)` applies it
 * (ml-explore/mlx-lm `mlx_lm/models/qwen3_next.py`, `initialize_rope(int(head_dim * partial_rotary_factor))`):
 * only the first `dims` values of a head rotate, rotate-half style inside them (pairs (i, i + dims/2)),
 * frequency i = base^(-2i/dims); the rest pass through. For text-only input Qwen3.5's mRoPE equals this.
 */
import type { Vec } from './ops';

/** Rotates one head vector `x` (length head_dim) for `position`; returns a new vector. */
export function applyPartialRope(x: ArrayLike<number>, position: number, dims: number, base: number): Vec {
  const y = Float64Array.from(x);
  const half = dims / 2;
  for (let i = 0; i < half; i++) {
    const angle = position * Math.pow(base, (-2 * i) / dims);
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    const a = x[i];
    const b = x[i + half];
    y[i] = a * c - b * s;
    y[i + half] = a * s + b * c;
  }
  return y;
}
