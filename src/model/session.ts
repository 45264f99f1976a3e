import { availableParallelism } from 'node:os';
import ort from 'onnxruntime-node';
import { AbortError, CodecError, captureStack, rethrowWith } from '../errors.js';
import { trace } from '../trace.js';
import type { CodecBundle } from './manifest.js';

/** A float32 NCHW tensor as plain data. */
export interface Tensor4 {
  data: Float32Array;
  dims: [number, number, number, number];
}

export interface SessionOptions {
  /**
   * Threads per graph run (onnxruntime intra-op threads); default {@link defaultThreads}.
   * 0 lets onnxruntime choose (one thread on some virtual machines).
   */
  threads?: number;
}

/**
 * The default threads per graph run: the machine's cores, at most 4. onnxruntime's own
 * default follows physical cores and picked one thread on a 2-vCPU machine, where two made
 * the synthesis transform 1.5x faster (111 against 75 ms warm on a 768x512 image).
 */
export function defaultThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/**
 * The ONNX graphs of one codec, created lazily (an encoder never loads g_s, a decoder never
 * loads g_a or h_a) and released by an idempotent dispose().
 */
export class ModelSessions {
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();
  private readonly graphs = new Map<string, Promise<Uint8Array>>();
  private disposed = false;

  constructor(
    readonly bundle: CodecBundle,
    private readonly options: SessionOptions = {},
  ) {}

  private session(stage: string): Promise<ort.InferenceSession> {
    if (this.disposed) throw new CodecError('ERR_INTERNAL', 'ModelSessions used after dispose()');
    let s = this.sessions.get(stage);
    if (!s) {
      const t0 = performance.now();
      const read = this.graphs.get(stage) ?? this.bundle.readGraph(stage);
      this.graphs.delete(stage);
      s = read.then((bytes) => {
        trace(`graph ${stage} read (${(performance.now() - t0).toFixed(1)} ms)`);
        const t1 = performance.now();
        const created = ort.InferenceSession.create(bytes, {
          intraOpNumThreads: this.options.threads ?? defaultThreads(),
          interOpNumThreads: 1,
          executionMode: 'sequential',
          graphOptimizationLevel: 'all',
          // memory patterns are planned per input shape; with images of every size they made
          // warm runs of g_s 3x slower here (300 against 95 ms on kodim01)
          enableMemPattern: false,
          // onnxruntime's pool threads spin after each parallel section by default; on a
          // 2-core machine they took the core the JavaScript between runs (entropy coding),
          // V8's compiler threads and sharp needed: kodim01 warm 149 against 277 ms to
          // encode, 188 against 311 ms to decode, 80-100 ms off every CLI call, and a 960x540
          // P-frame 288 against 385 ms. NEUROCODEC_ORT_SPIN=1 turns spinning back on.
          extra: { session: { intra_op: { allow_spinning: process.env.NEUROCODEC_ORT_SPIN === '1' ? '1' : '0' } } },
        });
        return created.then((session) => {
          trace(`session ${stage} created (${(performance.now() - t1).toFixed(1)} ms)`);
          return session;
        });
      });
      this.sessions.set(stage, s);
    }
    return s;
  }

  /**
   * Starts reading (and checking) the graph files of `stages` that have no session yet, all
   * at once, so that their sessions need not wait for the disk one after another. Sessions
   * are still created on first use. A read that fails is reported by the run that needs it.
   */
  prefetch(stages: readonly string[]): void {
    if (this.disposed) return;
    for (const stage of stages) {
      if (this.sessions.has(stage) || this.graphs.has(stage)) continue;
      const read = this.bundle.readGraph(stage);
      read.catch(() => undefined); // kept for session(), which rethrows
      this.graphs.set(stage, read);
    }
  }

  /** Runs one stage; inputs and outputs are named as in the manifest's stage table. */
  async run(stage: string, inputs: Record<string, Tensor4>, signal?: AbortSignal): Promise<Record<string, Tensor4>> {
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
    const stack = captureStack();
    try {
      const session = await this.session(stage);
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(inputs)) feeds[name] = new ort.Tensor('float32', t.data, t.dims);
      const t0 = performance.now();
      const out = await session.run(feeds);
      trace(`run ${stage} (${(performance.now() - t0).toFixed(1)} ms)`);
      const result: Record<string, Tensor4> = {};
      for (const [name, t] of Object.entries(out)) {
        result[name] = { data: t.data as Float32Array, dims: t.dims as unknown as Tensor4['dims'] };
        t.dispose?.();
      }
      return result;
    } catch (err) {
      if (err instanceof CodecError) rethrowWith(err, stack);
      rethrowWith(new CodecError('ERR_INTERNAL', `ONNX stage ${stage} failed: ${(err as Error).message}`, { cause: err }), stack);
    }
  }

  /** Releases every session. Safe to call more than once. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const all = [...this.sessions.values()];
    this.sessions.clear();
    this.graphs.clear();
    await Promise.all(all.map((p) => p.then((s) => s.release()).catch(() => undefined)));
  }
}
