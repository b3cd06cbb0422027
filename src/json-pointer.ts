/** JSON pointers (as ajv reports them) for error messages that name the offending field. */

function unescape(seg: string): string {
  return seg.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** The value a pointer designates inside `doc`, or undefined. */
export function valueAt(doc: unknown, pointer: string): unknown {
  let cur = doc;
  for (const seg of pointer.split('/').slice(1)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[unescape(seg)];
  }
  return cur;
}

/** `/rules/3/match/layers` -> `rules[3].match.layers`. */
export function pointerToField(pointer: string): string {
  let out = '';
  for (const seg of pointer.split('/').slice(1)) {
    const key = unescape(seg);
    out += /^\d+$/.test(key) ? `[${key}]` : out ? `.${key}` : key;
  }
  return out || '(top level)';
}
