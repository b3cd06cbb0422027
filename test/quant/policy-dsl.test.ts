/** The policy language: schema errors, rule order, extends, overrides, selectors and the CLI listing. */
import * as path from 'path';
import { InputError } from '../../src/errors';
import { describeTensor } from '../../src/arch/tensor-facts';
import type { TextConfig } from '../../src/arch/text-config';
import {
  BUILTIN_POLICIES, decide, parseOverride, resolvePolicy, ResolveOptions, validatePolicyFile,
} from '../../src/quant/policy';
import { globToRegExp } from '../../src/quant/policy/glob';
import { compileLayerSet } from '../../src/quant/policy/layer-set';
import { policiesCommand } from '../../src/cli/commands/policies';

const cfg: TextConfig = {
  architecture: 'qwen3_5', nested: true, hiddenSize: 5120, numLayers: 64, vocabSize: 248320,
  layerTypes: Array.from({ length: 64 }, (_, i) => ((i + 1) % 4 === 0 ? 'full_attention' : 'linear_attention')),
  numAttentionHeads: 24, numKeyValueHeads: 4, headDim: 256, linearNumKeyHeads: 16, linearNumValueHeads: 48,
  linearKeyHeadDim: 128, linearValueHeadDim: 128, convKernel: 4, intermediateSize: 17408,
  tieWordEmbeddings: false, mtpNumHiddenLayers: 1, rmsNormEps: 1e-6,
};

/** A loader over an in-memory folder of policy files (paths resolved against /p). */
function files(map: Record<string, unknown>): Pick<ResolveOptions, 'loader' | 'baseDir'> {
  return {
    baseDir: '/p',
    loader: (file: string) => {
      const rel = path.relative('/p', file);
      if (!(rel in map)) throw new InputError('no such file', { file });
      return map[rel];
    },
  };
}

const GDN = 'language_model.model.layers.0.linear_attn.in_proj_qkv.weight';
const DOWN = (i: number) => `language_model.model.layers.${i}.mlp.down_proj.weight`;
const Q_PROJ = (i: number) => `language_model.model.layers.${i}.self_attn.q_proj.weight`;

function decideName(spec: string, name: string, opts: ResolveOptions = {}, shape = [1024, 5120]) {
  return decide(resolvePolicy(spec, opts), describeTensor(name, cfg), shape, 'BF16', cfg);
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error('expected an InputError');
}

describe('schema validation', () => {
  const bad = (doc: unknown) => errorOf(() => resolvePolicy('my.json', files({ 'my.json': doc })));
  const ok = { match: { role: 'gdn' }, action: 'drop' };

  it('points at the offending rule and field', () => {
    expect(bad({ rules: [ok, ok, ok, { match: { layers: '0-x' }, action: 'drop' }] })).toBe(
      "policy 'my.json': rules[3].match.layers: must be a range string like \"0-3,8,10-\", a layer index, " +
        '{"first": N}, {"last": N} or {"every": k, "offset": j} (got "0-x")',
    );
    expect(bad({ rules: [{ match: { layers: [0, 'x'] }, action: 'drop' }] })).toMatch(/^policy 'my.json': rules\[0\]\.match\.layers\[1\]: must be a range string/);
    expect(bad({ rules: [{ match: { role: 'gdnn' }, action: 'drop' }] })).toMatch(/^policy 'my.json': rules\[0\]\.match\.role: must be one of "gdn", .*\(got "gdnn"\)$/);
    expect(bad({ rules: [{ match: { rol: 'gdn' }, action: 'drop' }] })).toBe("policy 'my.json': rules[0].match: unknown field 'rol'");
    expect(bad({ rules: [{ match: {} }] })).toBe("policy 'my.json': rules[0]: missing required field 'action'");
    expect(bad({ rules: [ok, { match: {}, action: 'dorp' }] })).toMatch(/^policy 'my.json': rules\[1\]\.action: must be "drop", \{"quantize"/);
    expect(bad({ rules: [{ match: {}, action: { quantize: { bits: 7 } } }] })).toMatch(/^policy 'my.json': rules\[0\]\.action\.quantize\.bits: must be one of 2, 3, 4, 5, 6, 8 \(got 7\)$/);
    expect(bad({ rules: [], float_dtype: 'fp8' })).toMatch(/^policy 'my.json': float_dtype: must be one of "f16", "bf16"/);
  });

  it('checks mode/bits/group combinations and selector contents after the schema', () => {
    expect(bad({ rules: [ok, { match: {}, action: { quantize: { mode: 'mxfp4', bits: 8 } } }] })).toBe(
      "policy 'my.json': rules[1].action.quantize: mxfp4 needs bits 4 and group size 32 (got 8/32)",
    );
    expect(bad({ rules: [{ match: {}, action: { quantize: { group_size: 16 } } }] })).toMatch(/rules\[0\]\.action\.quantize: affine group size must be one of 32, 64, 128 \(got 16\)/);
    expect(bad({ rules: [{ match: { regex: '(' }, action: 'drop' }] })).toMatch(/^policy 'my.json': rules\[0\]\.match\.regex: invalid regular expression/);
    expect(bad({ rules: [{ match: { layers: '5-3' }, action: 'drop' }] })).toMatch(/rules\[0\]\.match\.layers: layer range '5-3' runs backwards/);
    expect(bad({ defaults: { mode: 'nvfp4', group_size: 32 }, rules: [] })).toMatch(/^policy 'my.json': defaults: nvfp4 needs bits 4 and group size 16/);
  });

  it('accepts every built-in policy', () => {
    for (const p of BUILTIN_POLICIES) expect(validatePolicyFile(JSON.parse(JSON.stringify(p.file)), p.name)).toBeDefined();
  });

  it('reports unknown names, unreadable files and extends cycles', () => {
    expect(errorOf(() => resolvePolicy('gdn9'))).toMatch(/unknown policy 'gdn9' \(built-in: none, uniform, .*gdn8-speed4/);
    expect(errorOf(() => resolvePolicy('missing.json', files({})))).toMatch(/missing\.json.*no such file/);
    const cyc = files({ 'a.json': { extends: 'b.json', rules: [] }, 'b.json': { extends: './a.json', rules: [] } });
    expect(errorOf(() => resolvePolicy('a.json', cyc))).toMatch(/extends itself/);
  });
});

describe('rule order', () => {
  it('first matching rule wins', () => {
    const f = files({
      'p.json': {
        rules: [
          { match: { role: 'gdn' }, action: { quantize: { bits: 8 } } },
          { match: { path: '**.in_proj_qkv' }, action: { quantize: { bits: 2 } } },
          { match: { path: '**.in_proj_qkv' }, action: 'drop' },
        ],
      },
    });
    const r = decideName('p.json', GDN, f);
    expect(r.decision).toEqual({ action: 'quantize', mode: 'affine', bits: 8, groupSize: 64 });
    expect(r.rule).toBe('p.json rules[0] (role gdn -> affine 8/64)');
  });

  it('an extending policy comes before what it extends, extends lists in order, paths relative to the file', () => {
    const f = files({
      'child.json': { extends: ['sub/a.json', 'b.json'], defaults: { bits: 3 }, rules: [{ match: { layers: '0' }, action: { keep: 'f32' } }] },
      'sub/a.json': { extends: '../b.json', rules: [{ match: { role: 'mlp' }, action: { quantize: {} } }] },
      'b.json': { defaults: { bits: 8, group_size: 32 }, rules: [{ match: { role: 'mlp' }, action: 'drop' }, { match: { role: 'attention' }, action: 'drop' }] },
    });
    const p = resolvePolicy('child.json', f);
    expect(p.sources).toEqual(['child.json', 'sub/a.json', '../b.json']);
    expect(p.rules.map((r) => `${r.origin}#${r.index}`)).toEqual(['child.json#0', 'sub/a.json#0', '../b.json#0', '../b.json#1']);
    // child defaults override b's bits, b's group size stays; a's `{}` takes the merged defaults
    expect(p.globals).toEqual({ mode: 'affine', bits: 3, groupSize: 32 });
    expect(decideName('child.json', DOWN(0), f).decision).toEqual({ action: 'keep', dtype: 'f32' });
    expect(decideName('child.json', DOWN(1), f).decision).toEqual({ action: 'quantize', mode: 'affine', bits: 3, groupSize: 32 });
    expect(decideName('child.json', Q_PROJ(3), f).decision).toEqual({ action: 'drop' });
  });

  it('a user file can extend a built-in and override part of it', () => {
    const f = files({ 'my.json': { extends: 'gdn8-speed4', rules: [{ match: { role: 'attention', layers: { last: 8 } }, action: { quantize: { bits: 8 } } }] } });
    expect(decideName('my.json', Q_PROJ(59), f).decision).toMatchObject({ bits: 8 });
    expect(decideName('my.json', Q_PROJ(55), f).decision).toMatchObject({ bits: 4 });
    expect(decideName('my.json', GDN, f).rule).toBe('gdn8-speed4 rules[0] (role gdn -> affine 8/64)');
  });

  it('refuses rules hidden behind a catch-all', () => {
    expect(errorOf(() => resolvePolicy('none+gdn8-speed4'))).toMatch(/none rules\[0\] \(all -> keep source\) matches every tensor, so later rules such as gdn8-speed4 rules\[0\]/);
    expect(resolvePolicy('gdn8-speed4+none').rules.length).toBe(9);
  });

  it('an unmatched tensor keeps its source dtype, a quantize on a norm is ignored with the reason', () => {
    const r = decideName('gdn8-speed4', 'language_model.model.layers.0.linear_attn.conv1d.weight', {}, [10240, 4, 1]);
    expect(r).toEqual({ decision: { action: 'keep', dtype: 'source' }, rule: '(no rule matched) -> keep source' });
    const n = decideName('none', 'language_model.model.norm.weight', { overrides: ['**=q4'] }, [5120]);
    expect(n.decision).toEqual({ action: 'keep', dtype: 'source' });
    expect(n.rule).toBe('--override[0] (path ** -> affine 4/64); quantize ignored: norm tensors are never quantized');
  });
});

describe('--override', () => {
  it('parses the compact syntax', () => {
    expect(parseOverride('role:gdn=q8')).toMatchObject({ match: { role: 'gdn' }, action: { quantize: { mode: 'affine', bits: 8 } } });
    expect(parseOverride('path:language_model.model.layers.*.mlp.down_proj=q6g64')).toMatchObject({
      match: { path: 'language_model.model.layers.*.mlp.down_proj' }, action: { quantize: { bits: 6, group_size: 64 } },
    });
    expect(parseOverride('layers:0-3,8,10-,role:attention,mlp=bf16')).toMatchObject({
      match: { layers: '0-3,8,10-', role: ['attention', 'mlp'] }, action: { keep: 'bf16' },
    });
    expect(parseOverride('mtp.fc=q4').match).toEqual({ role: 'mtp.fc' });
    expect(parseOverride('**.down_proj=mxfp8')).toMatchObject({ match: { path: '**.down_proj' }, action: { quantize: { mode: 'mxfp8' } } });
    expect(parseOverride('mtp:true,sub_role:router=drop')).toMatchObject({ match: { mtp: true, sub_role: 'router' }, action: 'drop' });
    expect(parseOverride('regex:(?:v|o)_proj,layer_type:full=keep')).toMatchObject({ match: { regex: '(?:v|o)_proj', layer_type: 'full' }, action: { keep: 'source' } });
  });

  it('rejects bad overrides naming the override and the problem', () => {
    const bad = (o: string) => errorOf(() => resolvePolicy('gdn8-speed4', { overrides: [o] }));
    expect(bad('role:gdn')).toBe("override 'role:gdn': expected SELECTOR=ACTION (e.g. role:gdn=q8)");
    expect(bad('role:gdnn=q8')).toMatch(/^override 'role:gdnn=q8': unknown role 'gdnn'/);
    expect(bad('role:gdn=q7')).toBe("override 'role:gdn=q7': action.quantize: affine bits must be one of 2, 3, 4, 5, 6, 8 (got 7)");
    expect(bad('role:gdn=q4g48')).toMatch(/affine group size must be one of 32, 64, 128 \(got 48\)/);
    expect(bad('role:gdn=int4')).toMatch(/^override 'role:gdn=int4': unknown action 'int4'/);
    expect(bad('layers:3-1=q4')).toBe("override 'layers:3-1=q4': match.layers: layer range '3-1' runs backwards");
    expect(bad('mtp:maybe=q4')).toMatch(/mtp must be true or false/);
    expect(bad('=q4')).toMatch(/empty selector/);
  });

  it('takes precedence over the policy, earlier overrides over later ones', () => {
    const r = decideName('gdn8-speed4', GDN, { overrides: ['role:gdn=q4', 'role:gdn=q6'] });
    expect(r.decision).toEqual({ action: 'quantize', mode: 'affine', bits: 4, groupSize: 64 });
    expect(r.rule).toBe('--override[0] (role gdn -> affine 4/64)');
    const layered = { overrides: ['layers:0-3,8,role:mlp=bf16'] };
    expect(decideName('gdn8-speed4', DOWN(8), layered).decision).toEqual({ action: 'keep', dtype: 'bf16' });
    expect(decideName('gdn8-speed4', DOWN(4), layered).decision).toMatchObject({ action: 'quantize', bits: 4 });
  });
});

describe('global options', () => {
  it('--mode brings its own defaults; invalid combinations are refused', () => {
    expect(resolvePolicy('uniform', { mode: 'nvfp4' }).globals).toEqual({ mode: 'nvfp4', bits: 4, groupSize: 16 });
    expect(resolvePolicy('uniform', { bits: 8 }).globals).toEqual({ mode: 'affine', bits: 8, groupSize: 64 });
    expect(errorOf(() => resolvePolicy('uniform', { mode: 'mxfp4', groupSize: 64 }))).toMatch(/--group-size: mxfp4 needs bits 4 and group size 32/);
    expect(errorOf(() => resolvePolicy('uniform', { bits: 7 }))).toMatch(/affine bits must be one of/);
  });

  it('mixed recipes refuse --bits and non-affine modes and say which group size they use', () => {
    expect(errorOf(() => resolvePolicy('mixed_4_6', { bits: 4 }))).toMatch(/--bits cannot be used with mixed_4_6/);
    expect(errorOf(() => resolvePolicy('mixed_3_6', { mode: 'mxfp4' }))).toMatch(/mixed_3_6 supports only --mode affine/);
    expect(resolvePolicy('mixed_4_6').notes.join()).toMatch(/using 64/);
    expect(resolvePolicy('mixed_4_6', { groupSize: 128 }).notes).toEqual([]);
    expect(resolvePolicy('mixed_4_6', { groupSize: 128 }).rules.every((r) => r.action.kind === 'quantize' && r.action.groupSize === 128)).toBe(true);
  });
});

describe('selectors', () => {
  it('globs: * within a component, ** across components', () => {
    const g = (glob: string, s: string) => globToRegExp(glob).test(s);
    expect(g('**.down_proj', 'language_model.model.layers.3.mlp.down_proj')).toBe(true);
    expect(g('language_model.model.layers.*.mlp.down_proj', 'language_model.model.layers.12.mlp.down_proj')).toBe(true);
    expect(g('language_model.model.layers.*.down_proj', 'language_model.model.layers.12.mlp.down_proj')).toBe(false);
    expect(g('language_model.**.down_proj', 'language_model.down_proj')).toBe(true);
    expect(g('**.linear_attn.in_proj_*', 'model.layers.0.linear_attn.in_proj_qkvz')).toBe(true);
    expect(g('**.linear_attn.in_proj_*', 'model.layers.0.linear_attn.out_proj')).toBe(false);
    expect(g('mtp.**', 'mtp.layers.0.mlp.gate')).toBe(true);
    expect(g('mlp.gate', 'xmlp.gate')).toBe(false);
    expect(g('**', 'anything.at.all')).toBe(true);
  });

  it('layer sets', () => {
    const members = (set: Parameters<typeof compileLayerSet>[0], n = 16) => {
      const p = compileLayerSet(set);
      if (typeof p === 'string') throw new Error(p);
      return Array.from({ length: n }, (_, i) => i).filter((i) => p(i, n));
    };
    expect(members('0-3,8,10-')).toEqual([0, 1, 2, 3, 8, 10, 11, 12, 13, 14, 15]);
    expect(members({ first: 2 })).toEqual([0, 1]);
    expect(members({ last: 3 })).toEqual([13, 14, 15]);
    expect(members({ every: 4, offset: 3 })).toEqual([3, 7, 11, 15]);
    expect(members([{ first: 1 }, 5, { last: 1 }])).toEqual([0, 5, 15]);
  });

  it('layer_type, mtp, param and use_more_bits select what they say', () => {
    const f = files({
      'p.json': {
        rules: [
          { match: { layer_type: 'full', role: 'mlp' }, action: { keep: 'f32' } },
          { match: { mtp: true, role: 'mtp' }, action: 'drop' },
          { match: { param: 'A_log' }, action: { keep: 'bf16' } },
          { match: { use_more_bits: true, role: 'mlp' }, action: { quantize: { bits: 6 } } },
        ],
      },
    });
    expect(decideName('p.json', DOWN(3), f).decision).toEqual({ action: 'keep', dtype: 'f32' });
    expect(decideName('p.json', 'language_model.mtp.layers.0.mlp.down_proj.weight', f).decision).toEqual({ action: 'drop' });
    expect(decideName('p.json', 'language_model.model.layers.1.linear_attn.A_log', f, [48]).decision).toEqual({ action: 'keep', dtype: 'bf16' });
    expect(decideName('p.json', DOWN(10), f).decision).toMatchObject({ bits: 6 });
    expect(decideName('p.json', DOWN(9), f).decision).toEqual({ action: 'keep', dtype: 'source' });
  });
});

describe('mtpkit policies', () => {
  async function capture(args: Record<string, unknown>): Promise<string> {
    const chunks: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
      chunks.push(String(c));
      return true;
    });
    try {
      await (policiesCommand.handler as (a: unknown) => unknown)({ json: false, _: [], $0: 'mtpkit', ...args });
    } finally {
      spy.mockRestore();
    }
    return chunks.join('');
  }

  it('lists every built-in with the override syntax', async () => {
    const text = await capture({});
    for (const p of BUILTIN_POLICIES) expect(text).toMatch(new RegExp(`^  ${p.name} `, 'm'));
    expect(text).toMatch(/--override "SELECTOR=ACTION"/);
    const json = JSON.parse(await capture({ json: true }));
    expect(json.policies.map((p: { name: string }) => p.name)).toEqual(BUILTIN_POLICIES.map((p) => p.name));
  });

  it('shows the resolved rules of a combination', async () => {
    const json = JSON.parse(await capture({ name: 'gdn8-speed4+fp16', json: true }));
    expect(json.policy.floatDtype).toBe('f16');
    expect(json.policy.sources).toEqual(['gdn8-speed4', 'body-int4', 'fp16']);
    expect(json.policy.rules[0].label).toBe('gdn8-speed4 rules[0] (role gdn -> affine 8/64)');
    const text = await capture({ name: 'body-int4' });
    expect(text).toMatch(/29 tensors/);
    expect(text).toMatch(/body-int4 rules\[2\]\s+role mtp\.fc\s+keep bf16/);
  });
});
