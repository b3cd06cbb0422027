/** The conversion fingerprint: stable JSON is key-order independent and round-trips; any change shows. */
import { conversionFingerprint, stableJson } from '../../src/plan/fingerprint';

test('stableJson: same value whatever the key order, parses back to the value, drops undefined members', () => {
  const a = { b: [1, { y: 2, x: 'é"' }], a: null, c: { z: true, d: 1.5 }, u: undefined };
  const b = { c: { d: 1.5, z: true }, a: null, b: [1, { x: 'é"', y: 2 }] };
  expect(stableJson(a)).toBe(stableJson(b));
  const { u: _u, ...defined } = a;
  void _u;
  expect(JSON.parse(stableJson(a))).toEqual(defined);
  // Keys come out sorted at every depth.
  expect(stableJson(a)).toBe('{"a":null,"b":[1,{"x":"é\\"","y":2}],"c":{"d":1.5,"z":true}}');
  expect(stableJson([undefined, 1])).toBe(JSON.stringify([undefined, 1]));
});

test('conversionFingerprint: sha256 hex, equal for reordered keys, different when any input changes', () => {
  const base = { source: { kind: 'hub', revision: 'abc' }, tensors: [{ name: 't', shape: [2, 3] }], shards: [['f', ['t']]], options: { rounding: 'metal' } };
  const fp = conversionFingerprint(base);
  expect(fp).toMatch(/^[0-9a-f]{64}$/);
  expect(conversionFingerprint({ options: { rounding: 'metal' }, shards: [['f', ['t']]], tensors: [{ shape: [2, 3], name: 't' }], source: { revision: 'abc', kind: 'hub' } })).toBe(fp);
  for (const changed of [
    { ...base, source: { kind: 'hub', revision: 'abd' } },
    { ...base, tensors: [{ name: 't', shape: [3, 2] }] },
    { ...base, shards: [['g', ['t']]] },
    { ...base, options: { rounding: 'cpu' } },
  ]) {
    expect(conversionFingerprint(changed)).not.toBe(fp);
  }
});
