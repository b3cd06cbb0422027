/** Human-readable sizes shared by the CLI, progress lines and the model card. */
export function formatBytes(n: number, digits = 2): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(digits)} ${units[u]}`;
}
