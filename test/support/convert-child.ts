/** Child-process convert (for kill tests): argv = source out maxShardBytes [--resume]. */
import { runConvert } from '../../src/convert/pipeline';

const [source, out, maxShard, flag] = process.argv.slice(2);
runConvert({
  source,
  out,
  force: false,
  resume: flag === '--resume',
  rounding: 'metal',
  vision: 'drop',
  mtp: 'keep',
  policy: { spec: 'none' },
  maxShardBytes: Number(maxShard),
}).then(
  (s) => process.stdout.write(JSON.stringify(s) + '\n'),
  (err) => {
    process.stderr.write(String(err?.stack ?? err) + '\n');
    process.exit(1);
  },
);
