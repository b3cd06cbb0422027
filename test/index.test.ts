/** The public entry point drives the same pipeline as the CLI: plan, convert, validate. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { convert, plan, validate } from '../src/index';
import { buildConversionPlan } from '../src/convert/conversion-plan';
import { LocalSource } from '../src/source/local-source';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'qwen35-dense-tied');

test('plan() equals the plan built from an opened source by hand', async () => {
  const viaApi = await plan({ source: FIXTURE, vision: 'drop', mtp: 'keep', policy: { spec: 'gdn8-speed4' } });
  const src = await LocalSource.open(FIXTURE);
  try {
    const byHand = buildConversionPlan(src.label, await src.readJson<Record<string, unknown>>('config.json'), src.tensors, {
      vision: 'drop', mtp: 'keep', policy: { spec: 'gdn8-speed4' },
    });
    expect(viaApi.tensors).toEqual(byHand.tensors);
  } finally {
    await src.close();
  }
});

test('convert() writes an artifact that validate() accepts', async () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-index-')), 'art');
  try {
    await convert({ source: FIXTURE, out, force: false, rounding: 'metal', vision: 'drop', mtp: 'keep', policy: { spec: 'uniform', bits: 4 } });
    const report = await validate({ artifact: out });
    expect(report.problems).toEqual([]);
  } finally {
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }
});
