/**
 * The llama.cpp side of the decode bench: installs bench/llama-cpp on demand (npm registry only) and
 * runs the timing probe in a child process (its own memory and threads).
 */
import { execFile } from 'child_process';
import { existsSync } from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import { LLAMA_CPP_DIR, type LlamaProbeRequest, type LlamaProbeResult } from './llama-cpp-probe';

const run = promisify(execFile);

/** node-llama-cpp's prebuilt binary package for this platform (its optional dependencies are skipped: CUDA/Vulkan builds are ~600 MB). */
function binaryPackage(): string {
  const arch = process.arch === 'arm' ? 'armv7l' : process.arch;
  const platform = process.platform === 'darwin' ? 'mac' : process.platform === 'win32' ? 'win' : process.platform;
  return `@node-llama-cpp/${platform}-${arch}${platform === 'mac' && arch === 'arm64' ? '-metal' : ''}@3.21.1`;
}

/** Env that keeps node-llama-cpp from downloading or compiling llama.cpp from outside the npm registry. */
const NO_BUILD_ENV = { ...process.env, NODE_LLAMA_CPP_SKIP_DOWNLOAD: 'true' };

export async function ensureLlamaCpp(log: (s: string) => void): Promise<void> {
  const bin = binaryPackage().replace(/@[^@]*$/, '');
  if (existsSync(path.join(LLAMA_CPP_DIR, 'node_modules', 'node-llama-cpp')) && existsSync(path.join(LLAMA_CPP_DIR, 'node_modules', bin))) return;
  log(`installing node-llama-cpp 3.21.1 and ${bin} into ${LLAMA_CPP_DIR} (npm registry, scripts disabled)`);
  await run('npm', ['install', '--prefix', LLAMA_CPP_DIR, '--omit=optional', '--no-save', '--ignore-scripts', '--no-audit', '--no-fund', binaryPackage()], {
    env: NO_BUILD_ENV,
    maxBuffer: 1 << 24,
  });
}

export async function runLlamaCpp(req: LlamaProbeRequest): Promise<LlamaProbeResult> {
  const script = path.join(__dirname, 'llama-cpp-probe.js');
  try {
    const { stdout } = await run(process.execPath, [script, JSON.stringify(req)], { env: NO_BUILD_ENV, maxBuffer: 1 << 24 });
    return JSON.parse(stdout.trim().split('\n').pop()!) as LlamaProbeResult;
  } catch (e) {
    const out = (e as { stdout?: string }).stdout?.trim().split('\n').pop();
    return out ? (JSON.parse(out) as LlamaProbeResult) : { ok: false, error: String((e as Error).message) };
  }
}
