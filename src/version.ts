/** The tool's name and version, read from package.json (found upwards from this file in src/ or dist/src/). */
import * as fs from 'fs';
import * as path from 'path';

let cached: { name: string; version: string } | undefined;

export function toolInfo(): { name: string; version: string } {
  if (cached) return cached;
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    const p = path.join(dir, 'package.json');
    if (fs.existsSync(p)) {
      const pkg = JSON.parse(fs.readFileSync(p, 'utf8'));
      if (pkg.name === 'mtpkit') return (cached = { name: pkg.name, version: pkg.version });
    }
    dir = path.dirname(dir);
  }
  return (cached = { name: 'mtpkit', version: 'unknown' });
}
