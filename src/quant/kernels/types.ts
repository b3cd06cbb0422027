/** Types of the MLX quantizer kernels (ml-explore/mlx mlx/ops.cpp `quantize`, mlx/backend/metal/kernels/quantized.h). */
import type { FloatDType } from '../../numeric/float-bits';

export type { FloatDType };

import type { QuantMode } from '../../plan/quant-mode';

export type { QuantMode };

/**
 * Which MLX affine kernel to imitate (§2.4): 'metal' = the GPU kernel most Mac checkpoints come from
 * (w_max starts at 0, ties away from zero); 'cpu' = the CPU kernel (true max, ties to even).
 * The fp modes always follow the Metal kernel.
 */
export type QuantRounding = 'metal' | 'cpu';

export interface QuantizeOptions {
  /** dtype of the raw little-endian input bytes. */
  dtype: FloatDType;
  /** Shape [..., in]; groups run along the last axis. */
  shape: number[];
  mode: QuantMode;
  bits: number;
  groupSize: number;
  /** Affine only; default 'metal'. */
  rounding?: QuantRounding;
  /** Tensor name used in error messages. */
  name?: string;
  /** Native worker threads; 0 or undefined = the default (MTPKIT_THREADS, else every core). */
  threads?: number;
  /** nvfp4 only: MLX's optional fp32 `global_scale`. */
  globalScale?: number;
  /**
   * Affine only, native only: which of the byte-identical kernel variants runs (`quantKernels()` lists
   * this machine's, fastest first); default 'auto' = the fastest. For tests and benchmarks.
   */
  kernel?: QuantKernel;
}

export type QuantKernel = 'auto' | 'avx2' | 'vector' | 'scalar';

export interface QuantizedTensor {
  /** Packed codes, uint32 little-endian (safetensors U32). */
  weight: Buffer;
  weightShape: number[];
  scales: Buffer;
  scalesShape: number[];
  /** Input dtype for affine, U8 for the fp modes. */
  scalesDType: FloatDType | 'U8';
  /** Affine only, same shape and dtype as the scales. */
  biases?: Buffer;
  biasesDType?: FloatDType;
}

/**
 * Caller-owned memory for the native quantizer to write the outputs into instead of allocating them:
 * each exactly its output's size (biases: affine only), none overlapping the input or another. The
 * caller must leave them alone until the call settles; the result then holds these very buffers.
 */
export interface QuantizeTargets {
  weight: Buffer;
  scales: Buffer;
  biases?: Buffer;
}

export interface DequantizeOptions {
  mode: QuantMode;
  bits: number;
  groupSize: number;
  /** Output dtype; default F32. */
  outDType?: FloatDType;
  /** nvfp4 only: the global scale used when quantizing. */
  globalScale?: number;
  name?: string;
  threads?: number;
}
