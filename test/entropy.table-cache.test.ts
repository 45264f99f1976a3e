import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RansTables } from '../src/coder/tables.js';
import { buildFactorizedTables } from '../src/entropy/factorized.js';
import { DEFAULT_SCALE_TABLE, DEFAULT_TAIL_MASS, buildGaussianTables } from '../src/entropy/gaussian.js';
import {
  cachedTables,
  deserializeTables,
  factorizedTablesKey,
  gaussianTablesKey,
  loadTables,
  saveTables,
  serializeTables,
  tableCacheDir,
} from '../src/entropy/table-cache.js';
import type { CodecManifest } from '../src/model/manifest.js';
import { codecsDir } from '../src/model/manifest.js';

const same = (a: RansTables, b: RansTables) => {
  expect(a.count).toBe(b.count);
  expect(Array.from(a.lengths)).toEqual(Array.from(b.lengths));
  expect(Array.from(a.offsets)).toEqual(Array.from(b.offsets));
  expect(Buffer.compare(Buffer.from(a.cdfs.buffer), Buffer.from(b.cdfs.buffer))).toBe(0);
};

describe('prebuilt rANS tables', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nc-tables-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const gaussian = buildGaussianTables();
  const key = gaussianTablesKey(DEFAULT_SCALE_TABLE, DEFAULT_TAIL_MASS);

  it('round-trips exactly through the file format', () => {
    same(deserializeTables(key, serializeTables(key, gaussian))!, gaussian);
    saveTables(key, gaussian, dir);
    same(loadTables(key, dir)!, gaussian);
  });

  it('refuses a damaged file, another key or a missing file, and then builds', () => {
    const bytes = serializeTables(key, gaussian);
    for (const at of [0, 5, 20, 44, 400, bytes.length - 10, bytes.length - 1]) {
      const bad = bytes.slice();
      bad[at] ^= 0x10;
      expect(deserializeTables(key, bad)).toBeUndefined();
    }
    expect(deserializeTables(key, bytes.subarray(0, bytes.length - 4))).toBeUndefined();
    expect(deserializeTables(gaussianTablesKey(DEFAULT_SCALE_TABLE, 1e-6), bytes)).toBeUndefined();
    const other = gaussianTablesKey([0.5, 1, 2], DEFAULT_TAIL_MASS);
    writeFileSync(join(dir, `${other}.bin`), bytes); // right layout, wrong key inside
    let built = 0;
    const t = cachedTables(other, () => (built++, buildGaussianTables([0.5, 1, 2])), dir);
    expect(built).toBe(1);
    expect(t.count).toBe(3);
    expect(loadTables('00'.repeat(32), dir)).toBeUndefined();
  });

  it('keys differ with every input', () => {
    const keys = new Set([
      key,
      gaussianTablesKey(DEFAULT_SCALE_TABLE, 1e-8),
      gaussianTablesKey(DEFAULT_SCALE_TABLE.slice(1), DEFAULT_TAIL_MASS),
      factorizedTablesKey('a'.repeat(64)),
      factorizedTablesKey('b'.repeat(64)),
    ]);
    expect(keys.size).toBe(5);
  });

  it('npm run build baked tables equal to fresh builds for every shipped codec', () => {
    // build/tables is written by `npm run build` (npm install runs it); rerun it after
    // changing a table builder or a codec's tables.json
    expect(existsSync(tableCacheDir())).toBe(true);
    same(loadTables(key)!, gaussian);
    let codecs = 0;
    for (const id of readdirSync(codecsDir())) {
      const manifestPath = join(codecsDir(), id, 'manifest.json');
      if (!existsSync(manifestPath)) continue;
      const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as CodecManifest;
      if (m.kind !== 'image' || !m.files.tables) continue;
      const tables = JSON.parse(readFileSync(join(codecsDir(), id, m.files.tables.path), 'utf8'));
      const baked = loadTables(factorizedTablesKey(m.files.tables.sha256));
      expect(baked, `prebuilt z tables of ${id}`).toBeDefined();
      same(baked!, buildFactorizedTables(tables.priorZ));
      codecs++;
    }
    expect(codecs).toBeGreaterThanOrEqual(1);
  });
});
