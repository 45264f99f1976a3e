/**
 * `node dist/src/tools/bake-tables.js`: prebuilds the rANS tables of the codecs in codecs/
 * (and the Gaussian tables every hyperprior codec shares) into build/tables/, so that a
 * codec does not rebuild them on every process start, and removes tables no codec uses any
 * more. Run by `npm run build`; see src/entropy/table-cache.ts.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { RansTables } from '../coder/tables.js';
import { buildFactorizedTables } from '../entropy/factorized.js';
import { buildGaussianTables, DEFAULT_SCALE_TABLE, DEFAULT_TAIL_MASS } from '../entropy/gaussian.js';
import { factorizedTablesKey, gaussianTablesKey, saveTables, tableCacheDir } from '../entropy/table-cache.js';
import { codecsDir, loadCodecBundle } from '../model/manifest.js';

const written = new Set<string>();
const save = (key: string, build: () => RansTables) => {
  if (written.has(`${key}.bin`)) return; // codecs that share a backbone share its tables
  saveTables(key, build());
  written.add(`${key}.bin`);
};
save(gaussianTablesKey(DEFAULT_SCALE_TABLE, DEFAULT_TAIL_MASS), () => buildGaussianTables(DEFAULT_SCALE_TABLE, { tailMass: DEFAULT_TAIL_MASS }));
for (const id of readdirSync(codecsDir()).sort()) {
  if (!existsSync(join(codecsDir(), id, 'manifest.json'))) continue;
  // the bundle checks every file against the manifest's sha256
  const bundle = await loadCodecBundle(join(codecsDir(), id));
  const entry = bundle.manifest.files.tables;
  if (bundle.manifest.kind !== 'image' || !entry) continue;
  save(factorizedTablesKey(entry.sha256), () => buildFactorizedTables(bundle.tables.priorZ));
}
// tables of codecs that were since re-exported are never loaded again
let removed = 0;
for (const f of readdirSync(tableCacheDir())) {
  if (f.endsWith('.bin') && !written.has(f)) {
    rmSync(join(tableCacheDir(), f), { force: true });
    removed++;
  }
}
process.stdout.write(`prebuilt ${written.size} table sets into build/tables${removed ? `, removed ${removed} stale` : ''}\n`);
