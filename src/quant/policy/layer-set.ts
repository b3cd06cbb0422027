/**
 * Layer index sets of the `layers` selector: `"0-3,8,10-"` (an open range runs to the last layer), a single
 * index, `{first: N}`, `{last: N}`, `{every: k, offset: j}` (j, j+k, j+2k, …); a list is a union.
 * Sets that depend on the layer count are evaluated against the model's config.
 */
import type { LayerSetItem } from './types';

/** Membership test given the number of decoder layers. */
export type LayerPredicate = (layer: number, numLayers: number) => boolean;

/** Parses one item; returns an error message instead of throwing so callers can name the rule. */
export function compileLayerSet(set: LayerSetItem | LayerSetItem[]): LayerPredicate | string {
  const items = Array.isArray(set) ? set : [set];
  if (items.length === 0) return 'an empty layer list matches nothing';
  const preds: LayerPredicate[] = [];
  for (const item of items) {
    const p = compileItem(item);
    if (typeof p === 'string') return p;
    preds.push(p);
  }
  return (layer, n) => preds.some((p) => p(layer, n));
}

function compileItem(item: LayerSetItem): LayerPredicate | string {
  if (typeof item === 'number') {
    if (!Number.isInteger(item) || item < 0) return `layer index must be a non-negative integer (got ${item})`;
    return (layer) => layer === item;
  }
  if (typeof item === 'string') return compileRanges(item);
  if ('first' in item) return (layer) => layer < item.first;
  if ('last' in item) return (layer, n) => layer >= n - item.last;
  if ('every' in item) {
    const k = item.every;
    const j = item.offset ?? 0;
    if (!(k >= 1)) return `every must be at least 1 (got ${k})`;
    return (layer) => layer >= j && (layer - j) % k === 0;
  }
  return `unknown layer set ${JSON.stringify(item)}`;
}

function compileRanges(text: string): LayerPredicate | string {
  const ranges: Array<[number, number]> = [];
  for (const raw of text.split(',')) {
    const part = raw.trim();
    const m = /^(\d+)(?:\s*(-)\s*(\d*))?$/.exec(part);
    if (!m) return `bad layer range '${part}' in '${text}' (expected e.g. "0-3,8,10-")`;
    const lo = Number(m[1]);
    const hi = m[2] ? (m[3] === '' ? Infinity : Number(m[3])) : lo;
    if (hi < lo) return `layer range '${part}' runs backwards`;
    ranges.push([lo, hi]);
  }
  return (layer) => ranges.some(([lo, hi]) => layer >= lo && layer <= hi);
}

/** Human form for rule labels. */
export function formatLayerSet(set: LayerSetItem | LayerSetItem[]): string {
  const items = Array.isArray(set) ? set : [set];
  return items
    .map((i) => {
      if (typeof i === 'number' || typeof i === 'string') return String(i);
      if ('first' in i) return `first ${i.first}`;
      if ('last' in i) return `last ${i.last}`;
      return `every ${i.every}${i.offset ? ` from ${i.offset}` : ''}`;
    })
    .join(' | ');
}
