/** Quantization policy DSL: resolve a policy spec, decide per tensor, build the config.json block. */
export { resolvePolicy, describeAction, ruleMatcher } from './resolve';
export type { ResolveOptions } from './resolve';
export { decide } from './decide';
export type { PolicyDecision } from './decide';
export { buildQuantizationConfig, moduleQuantFromConfig } from './quantization-config';
export type { ModuleDecision, ModuleQuantEntry } from './quantization-config';
export { BUILTIN_POLICIES, findBuiltin } from './builtins';
export type { BuiltinPolicy } from './builtins';
export { parseOverride, OVERRIDE_SYNTAX } from './override';
export { validatePolicyFile } from './schema';
export { MODE_DEFAULTS, quantParamsProblem } from './modes';
export * from './types';
