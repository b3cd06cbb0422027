/** The last step before the rename: only the listed files stay in the hidden folder. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { keepOnlyFiles } from '../../src/convert/keep-only-files';

test('deletes strays (temp files, manifests, folders) and keeps exactly the listed files, nested ones included', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-keep-'));
  try {
    const put = (rel: string) => {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), rel);
    };
    const listed = ['config.json', 'model.safetensors', 'mtp/weights.safetensors'];
    const strays = ['model.safetensors.tmp-1-abcdef', '.mtpkit-resume.json', 'mtp/weights.safetensors.tmp-2-00', 'junk/a.txt'];
    [...listed, ...strays].forEach(put);
    const removed = await keepOnlyFiles(dir, listed);
    expect(removed.sort()).toEqual(['.mtpkit-resume.json', 'junk', 'model.safetensors.tmp-1-abcdef', 'mtp/weights.safetensors.tmp-2-00'].sort());
    const left: string[] = [];
    const walk = (d: string, rel: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) walk(path.join(d, e.name), r);
        else left.push(r);
      }
    };
    walk(dir, '');
    expect(left.sort()).toEqual([...listed].sort());
    for (const f of listed) expect(fs.readFileSync(path.join(dir, f), 'utf8')).toBe(f);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
