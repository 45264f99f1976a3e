/**
 * Published reference curves on Kodak from ../shared/anchors (see its README): sharp's
 * codecs measured on another day, and CompressAI's results files. They are not measured by
 * this benchmark; they check our sharp numbers and frame our curve.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AnchorPoint {
  q?: number;
  bpp: number;
  psnr: number;
  msssim?: number;
}

export interface AnchorCurve {
  label: string;
  source: string;
  points: AnchorPoint[];
}

/** Our classical codec ids and their curves in sharp-kodak.json. */
export const SHARP_ANCHOR_KEYS = { jpeg: 'jpeg', webp: 'webp', avif: 'avif-444' } as const;

/** sharp-kodak.json's curves by our codec ids; empty when the file is missing. */
export function loadSharpAnchors(dir: string): Partial<Record<keyof typeof SHARP_ANCHOR_KEYS, AnchorCurve>> & { about?: string } {
  const file = join(dir, 'sharp-kodak.json');
  if (!existsSync(file)) return {};
  const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const out: ReturnType<typeof loadSharpAnchors> = { about: typeof json._about === 'string' ? json._about : undefined };
  for (const [id, key] of Object.entries(SHARP_ANCHOR_KEYS) as [keyof typeof SHARP_ANCHOR_KEYS, string][]) {
    const pts = json[key];
    if (!Array.isArray(pts)) continue;
    out[id] = {
      label: `sharp ${key} (anchors)`,
      source: `shared/anchors/sharp-kodak.json#${key}`,
      points: pts.map((p: { q: number; bpp: number; psnr: number }) => ({ q: p.q, bpp: p.bpp, psnr: p.psnr })),
    };
  }
  return out;
}

/** The CompressAI reference models drawn on the plot. */
export const COMPRESSAI_REFERENCES = [
  { file: 'compressai-bmshj2018-hyperprior_mse_cpu.json', label: 'bmshj2018-hyperprior (CompressAI, reference)' },
  { file: 'compressai-mbt2018-mean_mse_cpu.json', label: 'mbt2018-mean (CompressAI, reference)' },
] as const;

/** A CompressAI results file (`results.bpp`, `results["psnr-rgb"]`, `results["ms-ssim-rgb"]`). */
export function loadCompressai(dir: string, file: string, label: string): AnchorCurve | undefined {
  const path = join(dir, 'compressai-kodak', file);
  if (!existsSync(path)) return undefined;
  const json = JSON.parse(readFileSync(path, 'utf8')) as { results: Record<string, number[]> };
  const r = json.results;
  const bpp = r.bpp ?? [];
  return {
    label,
    source: `shared/anchors/compressai-kodak/${file}`,
    points: bpp.map((b, i) => ({ bpp: b, psnr: r['psnr-rgb'][i], msssim: r['ms-ssim-rgb']?.[i] })),
  };
}
