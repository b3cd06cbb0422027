/** docs/architecture.md's layering rule holds on the import graph of src/. */
import * as path from 'path';
import { cycles, importGraph, violations } from './layering';

const SRC = path.join(__dirname, '..', '..', 'src');

test('every import goes to a lower floor (or stays in its room)', () => {
  expect(violations(SRC, importGraph(SRC))).toEqual([]);
});

test('the import graph of src/ has no cycle', () => {
  expect(cycles(SRC, importGraph(SRC))).toEqual([]);
});

test('the checker sees imports at all (a graph with edges)', () => {
  const g = importGraph(SRC);
  expect([...g.values()].reduce((n, d) => n + d.length, 0)).toBeGreaterThan(100);
});
