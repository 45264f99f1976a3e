/**
 * `node dist/src/tools/bake-tables.js [CODECS_DIR]`: prebuilds the rANS tables of the
 * codecs in codecs/ (and the Gaussian tables every hyperprior codec shares) into
 * build/tables/, so that a codec does not rebuild them on every process start. Run by
 * `npm run build`; see src/entropy/table-cache.ts.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildFactorizedTables } from '../entropy/factorized.js';
import { buildGaussianTables, DEFAULT_SCALE_TABLE, DEFAULT_TAIL_MASS } from '../entropy/gaussian.js';
import { factorizedTablesKey, gaussianTablesKey, saveTables, tableCacheDir } from '../entropy/table-cache.js';
import type { CodecManifest, CodecTables } from '../model/manifest.js';
import { codecsDir } from '../model/manifest.js';

const dir = process.argv[2] ?? codecsDir();
const written = new Set<string>();
const save = (key: string, build: () => Parameters<typeof saveTables>[1]) => {
  saveTables(key, build());
  written.add(`${key}.bin`);
};
save(gaussianTablesKey(DEFAULT_SCALE_TABLE, DEFAULT_TAIL_MASS), () => buildGaussianTables(DEFAULT_SCALE_TABLE, { tailMass: DEFAULT_TAIL_MASS }));
for (const id of readdirSync(dir).sort()) {
  const manifestPath = join(dir, id, 'manifest.json');
  if (!existsSync(manifestPath)) continue;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as CodecManifest;
  const entry = manifest.files.tables;
  if (manifest.kind !== 'image' || !entry) continue;
  const tables = JSON.parse(readFileSync(join(dir, id, entry.path), 'utf8')) as CodecTables;
  save(factorizedTablesKey(entry.sha256), () => buildFactorizedTables(tables.priorZ));
}
// tables of codecs that were since re-exported are never loaded again
let removed = 0;
for (const f of readdirSync(tableCacheDir())) {
  if (f.endsWith('.bin') && !written.has(f)) {
    rmSync(`${tableCacheDir()}/${f}`, { force: true });
    removed++;
  }
}
process.stdout.write(`prebuilt ${written.size} table sets into build/tables${removed ? `, removed ${removed} stale` : ''}\n`);
