/**
 * Globs on dotted MLX paths: `*` matches within one component, `**` matches any number of whole
 * components (including none), so `**.mlp.down_proj` matches `language_model.model.layers.3.mlp.down_proj`.
 */

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function componentRe(part: string): string {
  return part.split('*').map(escapeRe).join('[^.]*');
}

export function globToRegExp(glob: string): RegExp {
  const parts = glob.split('.');
  let re = '';
  let needDot = false;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (part === '**') {
      if (parts.length === 1) return /^.*$/;
      // Zero or more whole components, each carrying its own separator.
      re += needDot ? '(?:\\.[^.]+)*' : '(?:[^.]+\\.)*';
      // After a leading `**` the next component brings no separator of its own.
      continue;
    }
    if (needDot) re += '\\.';
    re += componentRe(part);
    needDot = true;
  }
  return new RegExp(`^${re}$`);
}
