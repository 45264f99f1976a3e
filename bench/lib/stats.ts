import { renameSync, writeFileSync } from 'node:fs';
/** Small summary statistics and a plain-text table for the benchmarks. */

/** Writes a result file whole or not at all (a temporary file renamed over it). */
export function writeResult(file: string, text: string): void {
  writeFileSync(file + '.tmp', text);
  renameSync(file + '.tmp', file);
}

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((s, v) => s + v, 0) / xs.length;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Columns padded to their widest cell; numeric-looking cells right-aligned. */
export function formatTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = head.map((_, i) => rows.length > 0 && rows.every((r) => /^[-+]?[\d.]+(%|x)?$|^-$|^n\/a$/.test(r[i] ?? '')));
  const line = (r: readonly string[]) =>
    r.map((v, i) => (numeric[i] ? (v ?? '').padStart(widths[i]) : (v ?? '').padEnd(widths[i]))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
