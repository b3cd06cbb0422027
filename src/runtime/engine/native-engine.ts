/** Typed view of the engine functions of the native addon (native/src/engine/engine_binding.cc). */
import { nativeAddon } from '../../native/addon';
import type { NativeLoadPlan } from './load-plan';

export type NativeHandle = { readonly __native: unique symbol };

/** 0 = every row, 1 = the last row, 2 = none (engine_binding.cc mode_of). */
export type NativeLogitsMode = 0 | 1 | 2;

export interface NativeEngine {
  engineLoad(plan: NativeLoadPlan): NativeHandle;
  engineModelInfo(model: NativeHandle): { weightBytesPerToken: number; threads: number };
  engineModelClose(model: NativeHandle): void;
  engineSessionNew(model: NativeHandle, maxContext: number): NativeHandle;
  engineSessionForward(session: NativeHandle, tokens: Int32Array, mode: NativeLogitsMode): Promise<{ logits: Float32Array; hiddenPre: Float32Array; hiddenPost: Float32Array }>;
  engineSessionMtpForward(session: NativeHandle, hidden: Float32Array, tokens: Int32Array, mode: NativeLogitsMode): Promise<{ logits: Float32Array; hidden: Float32Array }>;
  engineSessionOp(session: NativeHandle, op: 'position' | 'mtpPosition'): number;
  engineSessionOp(session: NativeHandle, op: 'rollback' | 'mtpRollback', position: number): void;
  engineSessionOp(session: NativeHandle, op: 'reset'): void;
}

export function nativeEngine(): NativeEngine {
  return nativeAddon<NativeEngine>();
}
