/** MLX-exact quantizer kernels: TypeScript reference and native (C++) implementation. */
export type { DequantizeOptions, FloatDType, QuantKernel, QuantMode, QuantRounding, QuantizeOptions, QuantizeTargets, QuantizedTensor } from './types';
export { quantizeReference } from './quantize-reference';
export { dequantize, dequantizeToF32 } from './dequantize';
export { quantize, quantizeSync, quantKernels, dequantizeNative, dequantizeNativeSync } from './native-quantize';
export { AFFINE_BITS, AFFINE_GROUP_SIZES, FP_MODE_PARAMS } from './validate';
export { packCodes, unpackCodes } from './pack';
