/**
 * A small SVG line-chart writer for rate-distortion plots: panels side by side sharing one
 * legend, solid lines with markers for measured curves, dashed lines for reference curves.
 */

export interface Series {
  label: string;
  colour: string;
  /** Reference curves (not measured in this run) are drawn dashed without markers. */
  dashed?: boolean;
  points: { x: number; y: number }[];
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  x: [number, number];
  y: [number, number];
  series: Series[];
  /** A horizontal band to shade, e.g. the BD-rate window. */
  band?: { from: number; to: number; label: string };
}

export interface Figure {
  title: string;
  subtitle?: string;
  panels: Panel[];
}

const PANEL_W = 520;
const PANEL_H = 400;
const MARGIN = { left: 64, right: 20, top: 34, bottom: 52 };
const HEADER = 56;
const LEGEND_ROW = 20;

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const num = (v: number): string => (Math.round(v * 100) / 100).toString();

/** Tick positions at a 1, 2, 2.5 or 5 x 10^k step, about `target` of them. */
export function niceTicks(lo: number, hi: number, target = 6): number[] {
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * step; v += step) out.push(Number(v.toFixed(10)));
  return out;
}

function panelSvg(p: Panel, ox: number, oy: number, clipId: string): string {
  const w = PANEL_W - MARGIN.left - MARGIN.right;
  const h = PANEL_H - MARGIN.top - MARGIN.bottom;
  const x0 = ox + MARGIN.left;
  const y0 = oy + MARGIN.top;
  const sx = (v: number) => x0 + ((v - p.x[0]) / (p.x[1] - p.x[0])) * w;
  const sy = (v: number) => y0 + h - ((v - p.y[0]) / (p.y[1] - p.y[0])) * h;
  const out: string[] = [];
  out.push(`<clipPath id="${clipId}"><rect x="${num(x0)}" y="${num(y0)}" width="${num(w)}" height="${num(h)}"/></clipPath>`);
  out.push(`<text x="${num(x0 + w / 2)}" y="${num(oy + 20)}" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(p.title)}</text>`);
  if (p.band) {
    const top = sy(Math.min(p.band.to, p.y[1]));
    const bottom = sy(Math.max(p.band.from, p.y[0]));
    out.push(`<rect x="${num(x0)}" y="${num(top)}" width="${num(w)}" height="${num(bottom - top)}" fill="#f2f2f2"/>`);
    out.push(`<text x="${num(x0 + w - 4)}" y="${num(bottom - 4)}" text-anchor="end" font-size="10" fill="#888">${escapeXml(p.band.label)}</text>`);
  }
  for (const t of niceTicks(p.x[0], p.x[1])) {
    out.push(`<line x1="${num(sx(t))}" y1="${num(y0)}" x2="${num(sx(t))}" y2="${num(y0 + h)}" stroke="#ddd"/>`);
    out.push(`<text x="${num(sx(t))}" y="${num(y0 + h + 16)}" text-anchor="middle" font-size="11">${num(t)}</text>`);
  }
  for (const t of niceTicks(p.y[0], p.y[1])) {
    out.push(`<line x1="${num(x0)}" y1="${num(sy(t))}" x2="${num(x0 + w)}" y2="${num(sy(t))}" stroke="#ddd"/>`);
    out.push(`<text x="${num(x0 - 6)}" y="${num(sy(t) + 4)}" text-anchor="end" font-size="11">${num(t)}</text>`);
  }
  out.push(`<rect x="${num(x0)}" y="${num(y0)}" width="${num(w)}" height="${num(h)}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${num(x0 + w / 2)}" y="${num(y0 + h + 38)}" text-anchor="middle" font-size="12">${escapeXml(p.xLabel)}</text>`);
  out.push(
    `<text x="${num(ox + 16)}" y="${num(y0 + h / 2)}" text-anchor="middle" font-size="12" transform="rotate(-90 ${num(ox + 16)} ${num(y0 + h / 2)})">${escapeXml(p.yLabel)}</text>`,
  );
  out.push(`<g clip-path="url(#${clipId})" fill="none" stroke-width="1.8">`);
  for (const s of p.series) {
    const pts = [...s.points].filter((q) => Number.isFinite(q.x) && Number.isFinite(q.y)).sort((a, b) => a.x - b.x);
    if (pts.length === 0) continue;
    const d = pts.map((q, i) => `${i === 0 ? 'M' : 'L'}${num(sx(q.x))},${num(sy(q.y))}`).join(' ');
    out.push(`<path d="${d}" stroke="${s.colour}"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    if (!s.dashed) {
      for (const q of pts) out.push(`<circle cx="${num(sx(q.x))}" cy="${num(sy(q.y))}" r="2.6" fill="${s.colour}" stroke="none"/>`);
    }
  }
  out.push('</g>');
  return out.join('\n');
}

/** The whole figure as an SVG document. */
export function renderFigure(fig: Figure): string {
  const legend = new Map<string, Series>();
  for (const p of fig.panels) for (const s of p.series) if (!legend.has(s.label)) legend.set(s.label, s);
  const perRow = 3;
  const rows = Math.ceil(legend.size / perRow);
  const width = PANEL_W * fig.panels.length;
  const height = HEADER + PANEL_H + rows * LEGEND_ROW + 16;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(fig.title)}</text>`,
  ];
  if (fig.subtitle) out.push(`<text x="${width / 2}" y="42" text-anchor="middle" font-size="11" fill="#555">${escapeXml(fig.subtitle)}</text>`);
  fig.panels.forEach((p, i) => out.push(panelSvg(p, i * PANEL_W, HEADER, `clip${i}`)));
  const colW = width / perRow;
  [...legend.values()].forEach((s, i) => {
    const x = (i % perRow) * colW + 24;
    const y = HEADER + PANEL_H + Math.floor(i / perRow) * LEGEND_ROW + 8;
    out.push(`<line x1="${x}" y1="${y}" x2="${x + 28}" y2="${y}" stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    if (!s.dashed) out.push(`<circle cx="${x + 14}" cy="${y}" r="2.6" fill="${s.colour}"/>`);
    out.push(`<text x="${x + 36}" y="${y + 4}" font-size="11">${escapeXml(s.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
