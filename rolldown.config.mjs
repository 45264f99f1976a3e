/**
 * Bundles the `codec` command (src/cli/main.ts and what it imports; `npm run build:ts`
 * type-checks the same sources) into a few files with source maps under dist/cli/, so that
 * a CLI call loads a handful of modules instead of about seventy. On the 2-core machine that
 * took 50 ms off every call (kodim01 decode 609 -> 557 ms, `codec info` 116 -> 98 ms,
 * medians of 21). Packages stay external (onnxruntime-node and sharp load native code and
 * find their files relative to themselves); the commands that load lazily (video,
 * progressive, BSQ) stay separate chunks that load when used.
 */
import { rmSync } from 'node:fs';

rmSync(new URL('./dist/cli', import.meta.url), { recursive: true, force: true });

export default {
  input: 'src/cli/main.ts',
  platform: 'node',
  // bare specifiers (packages, node: builtins) are loaded at run time, as from dist/src
  external: (id) => !id.startsWith('.') && !id.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(id),
  output: { dir: 'dist/cli', format: 'esm', chunkFileNames: '[name]-[hash].js', sourcemap: true },
  // video.js (the command) is both imported by encode and loaded lazily by decode and info;
  // it is small, and the heavy video modules it loads stay lazy
  onLog(level, log, handler) {
    if (log.code !== 'INEFFECTIVE_DYNAMIC_IMPORT') handler(level, log);
  },
};
