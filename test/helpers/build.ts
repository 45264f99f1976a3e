/**
 * Makes sure dist/ holds a build of the current sources before a test spawns the `codec`
 * binary, the bundle that package.json's `bin` names (dist/cli/main.js). Rebuilds with tsc
 * and the bundler when it is missing or older than any source file; a lock directory keeps
 * test files that run in parallel from building at once.
 * Type errors outside src/ (benchmarks being edited) do not block the build: tsc still
 * emits, and only src/ goes into the binary.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const mainJs = join(root, 'dist', 'cli', 'main.js');

function newestSourceTime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceTime(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const fresh = (): boolean =>
  existsSync(mainJs) &&
  statSync(mainJs).mtimeMs >=
    Math.max(newestSourceTime(join(root, 'src')), ...['tsconfig.json', 'rolldown.config.mjs'].map((f) => statSync(join(root, f)).mtimeMs));

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

export function ensureBuilt(): void {
  if (fresh()) return;
  const lock = join(root, 'dist', '.build-lock');
  mkdirSync(join(root, 'dist'), { recursive: true });
  const deadline = Date.now() + 170_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // another test file is building: wait for it, then use its build
      if (Date.now() > deadline) rmSync(lock, { recursive: true, force: true });
      sleep(200);
      if (fresh()) return;
    }
  }
  try {
    if (fresh()) return;
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const build = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { cwd: root, encoding: 'utf8' });
    const srcErrors = `${build.stdout}${build.stderr}`.split('\n').filter((line) => /^src[\\/].*error TS/.test(line));
    if (build.status !== 0 && (srcErrors.length > 0 || !fresh())) {
      throw new Error(`tsc failed (exit ${build.status}):\n${build.stdout}${build.stderr}`);
    }
    const rolldown = join(root, 'node_modules', 'rolldown', 'bin', 'cli.mjs');
    const bundle = spawnSync(process.execPath, [rolldown, '-c', 'rolldown.config.mjs'], { cwd: root, encoding: 'utf8' });
    if (bundle.status !== 0) throw new Error(`bundling the CLI failed (exit ${bundle.status}):\n${bundle.stdout}${bundle.stderr}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
