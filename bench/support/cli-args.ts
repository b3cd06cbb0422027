/** Tiny argv helpers shared by the bench CLIs (`--name value`, `--flag`, sizes like `200e6`). */

export function hasFlag(args: string[], name: string): boolean {
  return args.includes(`--${name}`);
}

/** Every value given for `--name` (the option may repeat). */
export function optionValues(args: string[], name: string): string[] {
  const out: string[] = [];
  args.forEach((a, i) => {
    if (a === `--${name}`) {
      const v = args[i + 1];
      if (v === undefined || v.startsWith('--')) throw new RangeError(`--${name} needs a value`);
      out.push(v);
    } else if (a.startsWith(`--${name}=`)) out.push(a.slice(name.length + 3));
  });
  return out;
}

export function optionValue(args: string[], name: string): string | undefined {
  const v = optionValues(args, name);
  return v[v.length - 1];
}

/** A positive byte count: `2e9`, `200e6`, `512MiB`, `4GB`. */
export function parseBytes(text: string, what: string): number {
  const m = /^\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*(|b|kb|mb|gb|kib|mib|gib)\s*$/i.exec(text);
  const unit: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30 };
  const n = m ? Number(m[1]) * unit[m[2].toLowerCase()] : NaN;
  if (!(n > 0) || !Number.isFinite(n)) throw new RangeError(`${what}: expected a positive size like 2e9 or 512MiB, got '${text}'`);
  return Math.round(n);
}

/** `--name` from argv, else the environment variable, else undefined. */
export function bytesOption(args: string[], name: string, env: string): number | undefined {
  const v = optionValue(args, name) ?? process.env[env];
  return v === undefined || v === '' ? undefined : parseBytes(v, `--${name}`);
}
