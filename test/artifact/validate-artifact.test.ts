import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import { execFileSync } from 'child_process';
import { validateArtifact } from '../../src/artifact/validate-artifact';
import { RUNTIME_CONTRACT_FILE } from '../../src/artifact/contract';
import { runCli } from '../support/run-cli';
import { artifactSpec, writeArtifact, type ArtifactSpec } from './validate-artifact-builder';

let root: string;
let n = 0;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-validate-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

async function make(spec: ArtifactSpec = artifactSpec()) {
  const dir = path.join(root, `a${n++}`);
  const w = await writeArtifact(dir, spec);
  return { ...w, dir };
}

const has = (problems: string[], ...parts: string[]) => problems.some((p) => parts.every((x) => p.includes(x)));

describe('a good artifact', () => {
  test('sidecar layout: no problems, every byte read, contract blockers only as info', async () => {
    const a = await make();
    expect(a.shards.length).toBeGreaterThan(1);
    const r = await validateArtifact(a.dir);
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.mtp).toEqual({ layout: 'sidecar', tensors: 29, file: 'mtp.safetensors' });
    const index = JSON.parse(fs.readFileSync(path.join(a.dir, 'model.safetensors.index.json'), 'utf8'));
    expect(r.tensors).toBe(Object.keys(index.weight_map).length + 29);
    // The scan's sha256 and sizes equal an independent hash of each file.
    for (const f of [...a.shards, 'mtp.safetensors']) {
      const data = fs.readFileSync(path.join(a.dir, f));
      expect(r.files.find((x) => x.file === f)).toEqual({ file: f, size: data.length, sha256: createHash('sha256').update(data).digest('hex') });
    }
    expect(r.info.some((i) => i.includes('pending_smoke_test') && i.includes('unverified'))).toBe(true);
    expect(r.info.some((i) => /\d+ of \d+ recorded output checksums match/.test(i))).toBe(true);
  });

  test('inline layout (language_model.mtp.* in the trunk shards, in the index) is valid too', async () => {
    const a = await make(artifactSpec({ layout: 'inline' }));
    const r = await validateArtifact(a.dir);
    expect(r.problems).toEqual([]);
    expect(r.mtp).toEqual({ layout: 'inline', tensors: 29 });
  });
});

describe('broken artifacts name the file and the tensor / field', () => {
  test('a shard named in the index is missing', async () => {
    const a = await make();
    fs.rmSync(path.join(a.dir, a.shards[1]));
    const r = await validateArtifact(a.dir);
    expect(r.ok).toBe(false);
    expect(has(r.problems, 'model.safetensors.index.json', a.shards[1], 'missing')).toBe(true);
    // Tensors of the missing shard are not judged again (no cascade of follow-on problems).
    expect(r.problems.filter((p) => !p.includes(a.shards[1]))).toEqual([]);
  });

  test('the index names a tensor that is not in that shard, and omits one that is', async () => {
    const a = await make();
    const file = path.join(a.dir, 'model.safetensors.index.json');
    const idx = JSON.parse(fs.readFileSync(file, 'utf8'));
    idx.weight_map['language_model.model.layers.9.mlp.up_proj.weight'] = a.shards[0];
    // A tensor of the first shard (which keeps other tensors, so the shard stays listed).
    const dropped = Object.keys(idx.weight_map).find((k) => idx.weight_map[k] === a.shards[0])!;
    const droppedShard = a.shards[0];
    delete idx.weight_map[dropped];
    fs.writeFileSync(file, JSON.stringify(idx));
    const r = await validateArtifact(a.dir);
    expect(r.problems).toContain(`model.safetensors.index.json: 1 tensor(s) not in the shard the index names: 'language_model.model.layers.9.mlp.up_proj.weight' -> '${a.shards[0]}'`);
    expect(r.problems).toContain(`model.safetensors.index.json: 1 shard tensor(s) missing from weight_map: '${dropped}' in '${droppedShard}'`);
  });

  test('a model*.safetensors on disk but not in the index, and a sidecar listed in the index', async () => {
    const a = await make();
    fs.copyFileSync(path.join(a.dir, a.shards[0]), path.join(a.dir, 'model-extra.safetensors'));
    const file = path.join(a.dir, 'model.safetensors.index.json');
    const idx = JSON.parse(fs.readFileSync(file, 'utf8'));
    idx.weight_map['mtp.fc.weight'] = 'mtp.safetensors';
    fs.writeFileSync(file, JSON.stringify(idx));
    const r = await validateArtifact(a.dir);
    expect(has(r.problems, 'model-extra.safetensors', 'not in model.safetensors.index.json')).toBe(true);
    expect(has(r.problems, 'lists the MTP sidecar', 'mtp.safetensors')).toBe(true);
  });

  test('scales shape inconsistent with the bits in config.json', async () => {
    const spec = artifactSpec();
    // in_proj_qkv is stored at 8 bits; claim 4.
    const q = spec.config.quantization as Record<string, unknown>;
    q['language_model.model.layers.0.linear_attn.in_proj_qkv'] = { group_size: 64, bits: 4 };
    spec.config.quantization_config = JSON.parse(JSON.stringify(q));
    const r = await validateArtifact((await make(spec)).dir);
    // weight [96, 16] U32 at 4 bits = 128 inputs; scales [96, 1] at group 64 = 64.
    expect(has(r.problems, "'language_model.model.layers.0.linear_attn.in_proj_qkv'", 'holds 128 inputs per row', 'cover 64')).toBe(true);
  });

  test('quantization_config differing from quantization', async () => {
    const spec = artifactSpec();
    (spec.config.quantization_config as Record<string, unknown>).group_size = 32;
    const r = await validateArtifact((await make(spec)).dir);
    expect(has(r.problems, 'config.json: quantization_config', "'group_size'")).toBe(true);
  });

  test('a per-module entry for a module without .scales, and .scales not covered by config', async () => {
    const spec = artifactSpec();
    delete spec.config.quantization;
    delete spec.config.quantization_config;
    const r = await validateArtifact((await make(spec)).dir);
    expect(has(r.problems, "'language_model.model.embed_tokens'", 'no quantization block')).toBe(true);
    const spec2 = artifactSpec();
    const q2 = spec2.config.quantization as Record<string, unknown>;
    q2['language_model.model.layers.0.linear_attn.conv1d'] = { group_size: 64, bits: 4 };
    spec2.config.quantization_config = JSON.parse(JSON.stringify(q2));
    const r2 = await validateArtifact((await make(spec2)).dir);
    expect(has(r2.problems, "quantization['language_model.model.layers.0.linear_attn.conv1d']", 'no', '.scales')).toBe(true);
  });

  test('sidecar tensor count in config.json does not match the sidecar', async () => {
    const spec = artifactSpec();
    (spec.config.mlx_lm_extra_tensors as Record<string, unknown>).mtp_tensor_count = 28;
    const r = await validateArtifact((await make(spec)).dir);
    expect(has(r.problems, 'mlx_lm_extra_tensors.mtp_tensor_count is 28', 'mtp.safetensors holds 29')).toBe(true);
  });

  test('MTP keys in the trunk while a sidecar exists (MTPLX #306 hazard)', async () => {
    const spec = artifactSpec();
    spec.trunk.push({ spec: { name: 'language_model.mtp.fc.weight', dtype: 'BF16', shape: [4, 4] }, data: Buffer.alloc(32) });
    const r = await validateArtifact((await make(spec)).dir);
    expect(has(r.problems, 'trunk shards hold 1 MTP tensor', 'language_model.mtp.fc.weight', '#306')).toBe(true);
  });

  test('an incomplete sidecar head and a quantized module without biases', async () => {
    const spec = artifactSpec();
    spec.mtp = spec.mtp.filter((e) => e.spec.name !== 'mtp.layers.0.mlp.up_proj.biases' && e.spec.name !== 'mtp.norm.weight');
    (spec.config.mlx_lm_extra_tensors as Record<string, unknown>).mtp_tensor_count = spec.mtp.length;
    const r = await validateArtifact((await make(spec)).dir);
    expect(has(r.problems, 'mtp.safetensors', 'missing 2 tensor(s)', "'mtp.layers.0.mlp.up_proj.biases'", "'mtp.norm.weight'")).toBe(true);
    expect(has(r.problems, "'mtp.layers.0.mlp.up_proj'", 'needs .biases')).toBe(true);
  });

  test('mtp_num_hidden_layers 0 with MTP tensors present', async () => {
    const spec = artifactSpec();
    (spec.config.text_config as Record<string, unknown>).mtp_num_hidden_layers = 0;
    const r = await validateArtifact((await make(spec)).dir);
    expect(has(r.problems, 'mtp.safetensors', 'text_config.mtp_num_hidden_layers is 0')).toBe(true);
  });

  test('inline qwen3_5 head under absolute mtp.* names', async () => {
    const spec = artifactSpec({ layout: 'inline' });
    spec.layout = 'sidecar'; // write the mtp.* entries into the trunk ourselves, no sidecar file
    spec.trunk.push(...spec.mtp);
    spec.mtp = [];
    delete spec.config.mlx_lm_extra_tensors;
    spec.contract = null;
    const dir = path.join(root, `a${n++}`);
    await writeArtifact(dir, spec);
    fs.rmSync(path.join(dir, 'mtp.safetensors'));
    const r = await validateArtifact(dir);
    expect(r.mtp.layout).toBe('inline');
    expect(has(r.problems, 'must be language_model.mtp.*', "'mtp.fc.weight'")).toBe(true);
  });

  test('raw-looking (delta-encoded) MTP norms are a warning: listed, the artifact still OK; healthy pre_fc < 0.5 is not', async () => {
    const r = await validateArtifact((await make(artifactSpec({ mtpNormShift: -1 }))).dir);
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    const w = r.warnings;
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(/^mtp\.safetensors: MTP head norms look raw/);
    expect(w[0]).toContain('mtp.pre_fc_norm_embedding.weight'); // the lowest low-set norm is named
    const off = await validateArtifact((await make(artifactSpec({ mtpNormShift: -1 }))).dir, { normCheck: false });
    expect(off.warnings).toEqual([]);
  });

  test('raw-looking trunk norms', async () => {
    const r = await validateArtifact((await make(artifactSpec({ trunkNormShift: -1 }))).dir);
    expect(has(r.warnings, 'trunk norms look raw')).toBe(true);
    expect(r.ok).toBe(true);
    expect([...r.problems, ...r.warnings].some((p) => p.includes('MTP head norms'))).toBe(false);
  });

  test('declaring delta-encoded MTP norms while they are MLX gammas', async () => {
    const spec = artifactSpec();
    spec.config.mtplx_mtp_norm_encoding = 'delta';
    const r = await validateArtifact((await make(spec)).dir);
    expect(has(r.problems, "declared 'delta'", 'shift them twice')).toBe(true);
  });

  test('a truncated shard', async () => {
    const a = await make();
    const f = path.join(a.dir, a.shards[0]);
    fs.truncateSync(f, fs.statSync(f).size - 10);
    const r = await validateArtifact(a.dir);
    expect(has(r.problems, a.shards[0], 'out of bounds')).toBe(true);
  });

  test('a shard modified after conversion fails its recorded checksum', async () => {
    const a = await make();
    const f = path.join(a.dir, a.shards[0]);
    const buf = fs.readFileSync(f);
    buf[buf.length - 1] ^= 0xff;
    fs.writeFileSync(f, buf);
    const r = await validateArtifact(a.dir);
    expect(has(r.problems, a.shards[0], 'sha256 differs')).toBe(true);
  });

  test('NaN / Inf in a float tensor (quantization scales, a norm in the sidecar) names file, tensor and element; exit 2', async () => {
    const spec = artifactSpec();
    const scales = spec.trunk.find((e) => e.spec.name === 'language_model.model.layers.1.mlp.up_proj.scales')!;
    expect(scales.spec.shape).toEqual([128, 1]);
    scales.data.writeUInt16LE(0x7fc0, 2 * 37); // NaN at [37, 0]
    scales.data.writeUInt16LE(0x7f80, 2 * 90); // a later +Inf in the same tensor: only the first is named
    const norm = spec.mtp.find((e) => e.spec.name === 'mtp.norm.weight')!;
    norm.data.writeUInt16LE(0xff80, 2 * 5); // -Inf
    const a = await make(spec);
    const index = JSON.parse(fs.readFileSync(path.join(a.dir, 'model.safetensors.index.json'), 'utf8'));
    const shard = index.weight_map['language_model.model.layers.1.mlp.up_proj.scales'];
    const r = await validateArtifact(a.dir);
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([
      `${shard}: tensor 'language_model.model.layers.1.mlp.up_proj.scales' holds NaN at element 37 (index [37, 0] of BF16[128, 1]); weights must be finite`,
      "mtp.safetensors: tensor 'mtp.norm.weight' holds -Inf at element 5 (index [5] of BF16[64]); weights must be finite",
    ]);
    const cli = await runCli(['validate', a.dir]);
    expect(cli.code).toBe(2);
    expect(cli.stdout).toContain("holds -Inf at element 5");
  });

  test('a contract missing a required key, or missing entirely', async () => {
    const a = await make();
    const cf = path.join(a.dir, RUNTIME_CONTRACT_FILE);
    const c = JSON.parse(fs.readFileSync(cf, 'utf8'));
    delete c.arch_id;
    fs.writeFileSync(cf, JSON.stringify(c));
    const r = await validateArtifact(a.dir);
    expect(r.problems).toContain('mtplx_runtime.json: /arch_id: missing required key');
    fs.rmSync(cf);
    const r2 = await validateArtifact(a.dir);
    expect(has(r2.problems, 'mtplx_runtime.json: missing')).toBe(true);
  });

  test('config.json: missing, and an unsupported architecture', async () => {
    const a = await make();
    const cf = path.join(a.dir, 'config.json');
    const cfg = JSON.parse(fs.readFileSync(cf, 'utf8'));
    fs.writeFileSync(cf, JSON.stringify({ ...cfg, model_type: 'llama', architectures: ['LlamaForCausalLM'] }));
    const r = await validateArtifact(a.dir);
    expect(has(r.problems, 'config.json', 'unsupported architecture')).toBe(true);
    fs.rmSync(cf);
    const r2 = await validateArtifact(a.dir);
    expect(r2.problems).toContain('config.json: missing');
  });

  test('a folder that does not exist', async () => {
    const r = await validateArtifact(path.join(root, 'nope'));
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toContain('nope');
  });
});

describe('issue 10: something other than a file in place of a shard is named as such', () => {
  test('a FIFO, a broken symlink and a directory are named; a symlink to a real shard is fine', async () => {
    const fifo = await make();
    const shard = path.join(fifo.dir, fifo.shards[0]);
    fs.rmSync(shard);
    execFileSync('mkfifo', [shard]);
    const r1 = await validateArtifact(fifo.dir); // must not block on the FIFO
    expect(has(r1.problems, `names shard '${fifo.shards[0]}', which is a FIFO (named pipe)`)).toBe(true);
    expect(r1.problems.some((p) => p.includes('which is missing'))).toBe(false);

    const broken = await make();
    const side = path.join(broken.dir, 'mtp.safetensors');
    fs.rmSync(side);
    fs.symlinkSync(path.join(broken.dir, 'nowhere.safetensors'), side);
    expect(has((await validateArtifact(broken.dir)).problems, "'mtp.safetensors', which is a broken symbolic link")).toBe(true);

    const dirInPlace = await make();
    const s0 = path.join(dirInPlace.dir, dirInPlace.shards[0]);
    fs.rmSync(s0);
    fs.mkdirSync(s0);
    expect(has((await validateArtifact(dirInPlace.dir)).problems, `'${dirInPlace.shards[0]}', which is a directory`)).toBe(true);

    const linked = await make();
    const s1 = path.join(linked.dir, linked.shards[0]);
    const moved = path.join(root, `moved-${path.basename(linked.dir)}.safetensors`);
    fs.renameSync(s1, moved);
    fs.symlinkSync(moved, s1);
    expect((await validateArtifact(linked.dir)).problems).toEqual([]);
  });
});

describe('mx-mode scales: E8M0 0xFF is a non-finite scale', () => {
  test('a converted mxfp4 artifact is clean; a scale byte set to 0xFF (trunk and head) names file, tensor, element', async () => {
    const dir = path.join(root, `mx-${n++}`);
    const conv = await runCli(['convert', path.join(__dirname, '..', '..', 'fixtures', 'qwen35-dense'), dir, '--policy', 'uniform', '--mode', 'mxfp4']);
    expect(conv.code).toBe(0);
    expect((await validateArtifact(dir, { normCheck: false })).problems).toEqual([]);
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(cfg.quantization).toMatchObject({ mode: 'mxfp4', group_size: 32 });
    const { editTensors } = await import('../support/checkpoint-surgery');
    const trunkScales = 'language_model.model.layers.0.mlp.up_proj.scales';
    const headScales = 'mtp.layers.0.mlp.down_proj.scales';
    const shapes: Record<string, number[]> = {};
    await editTensors(dir, (e) => {
      if (e.spec.name !== trunkScales && e.spec.name !== headScales) return e;
      expect(e.spec.dtype).toBe('U8');
      expect(e.data.indexOf(0xff)).toBe(-1);
      shapes[e.spec.name] = e.spec.shape;
      const data = Buffer.from(e.data);
      data[e.spec.shape[1] + 1] = 0xff; // [1, 1]
      return { ...e, data };
    });
    const r = await validateArtifact(dir, { normCheck: false });
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8'));
    for (const [t, file] of [[trunkScales, index.weight_map[trunkScales]], [headScales, 'mtp.safetensors']]) {
      const s = shapes[t];
      expect(r.problems).toContain(`${file}: tensor '${t}' holds scale byte 0xFF at element ${s[1] + 1} (index [1, 1] of U8[${s.join(', ')}]), which E8M0 reserves for NaN: the group dequantizes to non-finite values`);
    }
  });
});
