/** Shard names, the shard planner, and the mlx-lm index file. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Checkpoint } from '../../src/safetensors/checkpoint';
import { buildIndex, compareCodePoints, formatIndexJson, readIndexFile, writeIndexFile } from '../../src/safetensors/index-file';
import { formatMlxShardName, formatQwen35ShardName, parseShardName } from '../../src/safetensors/shard-names';
import { DEFAULT_MAX_SHARD_BYTES, ShardPlan, planShards } from '../../src/safetensors/shard-plan';
import { TensorSpec } from '../../src/safetensors/types';
import { SafetensorsWriter } from '../../src/safetensors/writer';

const u8 = (name: string, n: number): TensorSpec => ({ name, dtype: 'U8', shape: [n] });
const names = (plan: ShardPlan) => plan.shards.map((s) => s.tensors.map((t) => t.name));

describe('shard names', () => {
  test('mlx-lm names: 5 digits, 1-based, plain model.safetensors for one shard', () => {
    expect(formatMlxShardName(1, 1)).toBe('model.safetensors');
    expect(formatMlxShardName(3, 12)).toBe('model-00003-of-00012.safetensors');
    expect(formatMlxShardName(2, 123456)).toBe('model-00002-of-123456.safetensors');
    expect(() => formatMlxShardName(0, 2)).toThrow();
    expect(() => formatMlxShardName(3, 2)).toThrow();
  });

  test('Qwen3.5 names keep the K-of-N form even for one shard', () => {
    expect(formatQwen35ShardName(1, 1)).toBe('model.safetensors-00001-of-00001.safetensors');
    expect(formatQwen35ShardName(2, 2)).toBe('model.safetensors-00002-of-00002.safetensors');
  });

  test('parsing both styles, other prefixes, and rejects', () => {
    expect(parseShardName('model-00002-of-00004.safetensors')).toEqual({ prefix: 'model', style: 'mlx', index: 2, count: 4 });
    expect(parseShardName('model.safetensors-00001-of-00002.safetensors')).toEqual({ prefix: 'model.safetensors', style: 'qwen35', index: 1, count: 2 });
    expect(parseShardName('model-vision-00001-of-00002.safetensors')).toEqual({ prefix: 'model-vision', style: 'mlx', index: 1, count: 2 });
    for (const bad of ['model.safetensors', 'mtp.safetensors', 'model-00003-of-00002.safetensors', 'model-00000-of-00002.safetensors', 'model-1-of-2.bin']) {
      expect(parseShardName(bad)).toBeUndefined();
    }
    for (const [i, n] of [[1, 2], [2, 2], [7, 40]]) {
      expect(parseShardName(formatMlxShardName(i, n))).toMatchObject({ index: i, count: n, style: 'mlx' });
      expect(parseShardName(formatQwen35ShardName(i, n))).toMatchObject({ index: i, count: n, style: 'qwen35' });
    }
  });
});

describe('planShards', () => {
  test('default limit is 5 GiB', () => {
    expect(DEFAULT_MAX_SHARD_BYTES).toBe(5 * 1024 * 1024 * 1024);
  });

  test('a shard may be filled exactly; the next byte starts a new one; input order is kept', () => {
    const plan = planShards([u8('z', 40), u8('a', 40), u8('m', 20), u8('b', 1), u8('c', 99), u8('d', 1)], 100);
    expect(names(plan)).toEqual([['z', 'a', 'm'], ['b', 'c'], ['d']]);
    expect(plan.shards.map((s) => s.dataBytes)).toEqual([100, 100, 1]);
    expect(plan.shards.map((s) => s.file)).toEqual([
      'model-00001-of-00003.safetensors',
      'model-00002-of-00003.safetensors',
      'model-00003-of-00003.safetensors',
    ]);
  });

  test('a tensor larger than the limit gets its own shard (first, middle, last); no empty shard', () => {
    expect(names(planShards([u8('big', 150), u8('s', 10)], 100))).toEqual([['big'], ['s']]);
    expect(names(planShards([u8('a', 10), u8('big', 150), u8('b', 10)], 100))).toEqual([['a'], ['big'], ['b']]);
    expect(names(planShards([u8('a', 10), u8('big', 150)], 100))).toEqual([['a'], ['big']]);
  });

  test('one shard is model.safetensors; element sizes count, not element numbers', () => {
    const plan = planShards([{ name: 'w', dtype: 'F32', shape: [5, 5] }, { name: 's', dtype: 'BF16', shape: [] }], 102);
    expect(plan.shards).toHaveLength(1);
    expect(plan.shards[0].file).toBe('model.safetensors');
    expect(plan.shards[0].dataBytes).toBe(102);
    expect(names(planShards([{ name: 'w', dtype: 'F32', shape: [5, 5] }, { name: 's', dtype: 'BF16', shape: [] }], 101))).toEqual([['w'], ['s']]);
  });

  test('no tensors: one empty model.safetensors', () => {
    expect(planShards([])).toEqual({ shards: [{ file: 'model.safetensors', tensors: [], dataBytes: 0 }] });
  });

  test('matches a direct transcription of the rule on random inputs', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let trial = 0; trial < 50; trial++) {
      const sizes = Array.from({ length: 1 + Math.floor(rand() * 30) }, () => Math.floor(rand() * 120));
      const max = 1 + Math.floor(rand() * 200);
      // Reference: mlx-lm make_shards, then drop the empty shard it emits when the first tensor is oversized.
      const ref: number[][] = [];
      let cur: number[] = [];
      let size = 0;
      sizes.forEach((s, i) => {
        if (size + s > max) {
          ref.push(cur);
          cur = [];
          size = 0;
        }
        cur.push(i);
        size += s;
      });
      ref.push(cur);
      const expected = ref.filter((g, i) => g.length > 0 || (i === 0 && ref.length === 1));
      const plan = planShards(sizes.map((s, i) => u8(String(i), s)), max);
      expect(names(plan)).toEqual(expected.map((g) => g.map(String)));
    }
  });
});

describe('model.safetensors.index.json', () => {
  const plan = planShards([u8('model.norm.weight', 8), u8('lm_head.weight', 16), u8('model.embed.weight', 30)], 24);

  test('content: sorted weight_map, total_size is the sum of tensor bytes, total_parameters as given', () => {
    expect(names(plan)).toEqual([['model.norm.weight', 'lm_head.weight'], ['model.embed.weight']]);
    const idx = buildIndex(plan, 1234);
    expect(idx.metadata).toEqual({ total_size: 54, total_parameters: 1234 });
    expect(Object.keys(idx.weight_map)).toEqual(['lm_head.weight', 'model.embed.weight', 'model.norm.weight']);
    expect({ ...idx.weight_map }).toEqual({
      'lm_head.weight': 'model-00001-of-00002.safetensors',
      'model.embed.weight': 'model-00002-of-00002.safetensors',
      'model.norm.weight': 'model-00001-of-00002.safetensors',
    });
  });

  test('text is Python json.dump(indent=4): hand-written expectation', () => {
    const expected =
      '{\n' +
      '    "metadata": {\n' +
      '        "total_size": 54,\n' +
      '        "total_parameters": 1234\n' +
      '    },\n' +
      '    "weight_map": {\n' +
      '        "lm_head.weight": "model-00001-of-00002.safetensors",\n' +
      '        "model.embed.weight": "model-00002-of-00002.safetensors",\n' +
      '        "model.norm.weight": "model-00001-of-00002.safetensors"\n' +
      '    }\n' +
      '}';
    expect(formatIndexJson(plan, 1234)).toBe(expected);
    expect(formatIndexJson(planShards([]), 0)).toBe(
      '{\n    "metadata": {\n        "total_size": 0,\n        "total_parameters": 0\n    },\n    "weight_map": {}\n}',
    );
  });

  test('Python ordering and escaping: code-point sort, ensure_ascii, numeric-looking keys', () => {
    const p = planShards([u8('\u{1F600}', 1), u8('\uFFFF', 1), u8('é', 1), u8('10', 1), u8('9', 1)]);
    // Python: sorted(['😀', '\uffff', 'é', '10', '9']) == ['10', '9', 'é', '\uffff', '😀']
    expect(['\u{1F600}', '\uFFFF', 'é', '10', '9'].sort(compareCodePoints)).toEqual(['10', '9', 'é', '\uFFFF', '\u{1F600}']);
    const text = formatIndexJson(p, 5);
    const keys = text.split('\n').filter((l) => l.startsWith('        "') && l.includes('model.safetensors')).map((l) => l.trim().split(':')[0]);
    expect(keys).toEqual(['"10"', '"9"', '"\\u00e9"', '"\\uffff"', '"\\ud83d\\ude00"']);
    expect(/[^\x00-\x7e]/.test(text)).toBe(false);
    expect(Object.keys(JSON.parse(text).weight_map).sort()).toEqual(['\u{1F600}', '\uFFFF', 'é', '10', '9'].sort());
  });

  test('written atomically and read back; a real sharded checkpoint written with the plan opens', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-st-index-'));
    try {
      for (const s of plan.shards) {
        const w = await SafetensorsWriter.create(path.join(dir, s.file), s.tensors);
        await w.write(Buffer.alloc(s.dataBytes, 5));
        await w.finish();
      }
      const file = await writeIndexFile(dir, plan, 99);
      expect(file).toBe(path.join(dir, 'model.safetensors.index.json'));
      expect(fs.readdirSync(dir).sort()).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']);
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(JSON.parse(JSON.stringify(buildIndex(plan, 99))));
      const idx = await readIndexFile(dir);
      expect(idx.metadata).toEqual({ total_size: 54, total_parameters: 99 });
      expect(idx.shards).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
      expect(idx.weightMap.get('model.embed.weight')).toBe('model-00002-of-00002.safetensors');
      const ck = await Checkpoint.open(dir);
      expect(ck.tensors.size).toBe(3);
      expect([...(await ck.readTensor('lm_head.weight'))]).toEqual(Array(16).fill(5));
      await ck.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
