/**
 * `node dist/src/tools/bake-tables.js [CODECS_DIR]`: prebuilds the rANS tables of the
 * codecs in codecs/ (and the Gaussian tables every hyperprior codec shares) into
 * build/tables/, so that a codec does not rebuild them on every process start. Run by
 * `npm run build`; see src/entropy/table-cache.ts.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildFactorizedTables } from '../entropy/factorized.js';
import { buildGaussianTables, DEFAULT_SCALE_TABLE, DEFAULT_TAIL_MASS } from '../entropy/gaussian.js';
import { factorizedTablesKey, gaussianTablesKey, saveTables } from '../entropy/table-cache.js';
import type { CodecManifest, CodecTables } from '../model/manifest.js';
import { codecsDir } from '../model/manifest.js';

const dir = process.argv[2] ?? codecsDir();
let written = 0;
saveTables(gaussianTablesKey(DEFAULT_SCALE_TABLE, DEFAULT_TAIL_MASS), buildGaussianTables(DEFAULT_SCALE_TABLE, { tailMass: DEFAULT_TAIL_MASS }));
written++;
for (const id of readdirSync(dir).sort()) {
  const manifestPath = join(dir, id, 'manifest.json');
  if (!existsSync(manifestPath)) continue;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as CodecManifest;
  const entry = manifest.files.tables;
  if (manifest.kind !== 'image' || !entry) continue;
  const tables = JSON.parse(readFileSync(join(dir, id, entry.path), 'utf8')) as CodecTables;
  saveTables(factorizedTablesKey(entry.sha256), buildFactorizedTables(tables.priorZ));
  written++;
}
process.stdout.write(`prebuilt ${written} table sets into build/tables\n`);
