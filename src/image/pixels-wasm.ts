/**
 * The PNG writer's pixel kernels compiled to WebAssembly (wasm/pixels.ts → build/pixels.wasm):
 * the Paeth row filter with 128-bit SIMD and Adler-32. Loaded synchronously on first use (the
 * module is 2 kB); when it cannot be loaded, callers fall back to their TypeScript versions.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebAssembly, type WasmMemory } from '../coder/wasm.js';
import { CodecError } from '../errors.js';
import { packageRoot } from '../paths.js';

export interface PixelKernels {
  memory: WasmMemory;
  alloc(size: number): number;
  free(ptr: number): void;
  /** See wasm/pixels.ts. */
  paeth(cur: number, up: number, dst: number, width: number, rows: number, channels: number): void;
  adler32(ptr: number, len: number, adler: number): number;
}

let kernels: PixelKernels | null | undefined;

/** The kernels, or null when build/pixels.wasm is missing or does not load. */
export function pixelKernels(): PixelKernels | null {
  if (kernels !== undefined) return kernels;
  try {
    const module = new WebAssembly.Module(readFileSync(join(packageRoot(), 'build', 'pixels.wasm')));
    const imports = {
      env: {
        abort(): never {
          throw new CodecError('ERR_INTERNAL', 'pixel WebAssembly module failed (out of memory?)');
        },
      },
    };
    kernels = new WebAssembly.Instance(module, imports).exports as unknown as PixelKernels;
  } catch {
    kernels = null;
  }
  return kernels;
}
