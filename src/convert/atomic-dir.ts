/**
 * Output folders appear whole or not at all: work happens in a hidden sibling folder that is renamed
 * onto the output path only when complete.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { InputError } from '../errors';
import { whyNotReplaceable } from './replaceable-output';

export function partialDirFor(out: string): string {
  return path.join(path.dirname(path.resolve(out)), `.${path.basename(path.resolve(out))}.mtpkit-partial`);
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** Refuses an existing output unless `force`; the source folder is never a valid output. */
export async function checkOutputPath(out: string, force: boolean, sourceDirs: string[]): Promise<void> {
  const abs = path.resolve(out);
  for (const s of sourceDirs) {
    const src = path.resolve(s);
    if (abs === src || src.startsWith(abs + path.sep) || abs.startsWith(src + path.sep)) {
      throw new InputError('the output must not be the source folder, inside it, or contain it', { file: out });
    }
  }
  if (!(await exists(abs))) return;
  if (!force) throw new InputError('output already exists (use --force to replace it)', { file: out });
  await checkReplaceable(abs, out);
}

async function checkReplaceable(abs: string, out: string): Promise<void> {
  const why = await whyNotReplaceable(abs);
  if (why) {
    throw new InputError(
      `--force replaces only an MLX artifact folder or an empty folder, and ${why}; nothing was changed (move it away or choose another output)`,
      { file: out },
    );
  }
}

/** Moves the finished partial folder onto `out`, replacing an old output only now (with --force). */
export async function publishDir(partial: string, out: string): Promise<void> {
  const abs = path.resolve(out);
  if (await exists(abs)) {
    // Checked again: something else may have appeared there while we converted.
    await checkReplaceable(abs, out);
    const old = `${partial}.old`;
    await fsp.rm(old, { recursive: true, force: true });
    await fsp.rename(abs, old);
    await fsp.rename(partial, abs);
    await fsp.rm(old, { recursive: true, force: true });
  } else {
    await fsp.rename(partial, abs);
  }
}
