/**
 * One child process with one outcome. `done` settles exactly once: it resolves when the
 * process exits with status 0 and rejects otherwise — with AbortError when the signal
 * fired, with the error given to {@link ChildRun.fail} when a stream around the process
 * broke, or with a CodecError that carries the exit status and the last bytes of stderr.
 * Whatever ends the run first wins; the process is killed on every failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { AbortError, InputError, OutputError } from '../errors.js';

/** How much of the end of stderr is kept for error messages, in bytes. */
export const STDERR_TAIL_BYTES = 4096;

/** Why a tool failed: kept as the `cause` of the CodecError that `done` rejects with. */
export class ProcessExitError extends Error {
  readonly exitCode: number | null;
  readonly signalName: NodeJS.Signals | null;
  readonly stderrTail: string;
  constructor(tool: string, exitCode: number | null, signalName: NodeJS.Signals | null, stderrTail: string) {
    const status = exitCode !== null ? `exit code ${exitCode}` : `signal ${signalName ?? 'unknown'}`;
    super(`${tool} failed with ${status}${stderrTail ? `:\n${stderrTail}` : ''}`);
    this.name = 'ProcessExitError';
    this.exitCode = exitCode;
    this.signalName = signalName;
    this.stderrTail = stderrTail;
  }
}

/** A byte ring that keeps only the last `capacity` bytes written to it. */
export class TailBuffer {
  readonly #capacity: number;
  #chunks: Buffer[] = [];
  #length = 0;

  constructor(capacity = STDERR_TAIL_BYTES) {
    this.#capacity = capacity;
  }

  push(chunk: Buffer): void {
    if (chunk.length >= this.#capacity) {
      this.#chunks = [Buffer.from(chunk.subarray(chunk.length - this.#capacity))];
      this.#length = this.#capacity;
      return;
    }
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    while (this.#length - this.#chunks[0].length >= this.#capacity) {
      this.#length -= this.#chunks[0].length;
      this.#chunks.shift();
    }
  }

  /** The kept bytes as trimmed text (at most `capacity` bytes, from the end). */
  text(): string {
    const all = Buffer.concat(this.#chunks);
    return all.subarray(Math.max(0, all.length - this.#capacity)).toString('utf8').trim();
  }
}

export interface ChildRunOptions {
  /** Tool name for messages, e.g. `ffmpeg`. */
  tool: string;
  /** Failures of this run are InputError (reading) or OutputError (writing). */
  kind: 'input' | 'output';
  signal?: AbortSignal;
  /** What the run does, for messages: `cannot read 'in.mp4'`. */
  what: string;
}

export class ChildRun {
  readonly child: ChildProcess;
  readonly done: Promise<void>;
  readonly stderr = new TailBuffer();
  #settled = false;
  #resolve!: () => void;
  #reject!: (err: unknown) => void;
  readonly #options: ChildRunOptions;
  readonly #onAbort: () => void;

  constructor(bin: string, args: readonly string[], options: ChildRunOptions) {
    this.#options = options;
    this.done = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // A caller that only watches the streams must not see an unhandled rejection.
    this.done.catch(() => {});
    this.#onAbort = () => this.fail(new AbortError(undefined, { cause: options.signal?.reason }));

    this.child = spawn(bin, [...args], { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    this.child.stderr!.on('data', (chunk: Buffer) => this.stderr.push(chunk));
    // EPIPE and friends on stdin: the process has gone; its exit status tells why.
    this.child.stdin!.on('error', () => {});
    this.child.once('error', (err) => {
      const Kind = options.kind === 'input' ? InputError : OutputError;
      this.fail(new Kind(`${options.what}: cannot start ${options.tool} (${bin}): ${err.message}`, { cause: err }));
    });
    this.child.once('close', (code, sig) => {
      if (code === 0) return this.#settle();
      const Kind = options.kind === 'input' ? InputError : OutputError;
      const exit = new ProcessExitError(options.tool, code, sig, this.stderr.text());
      this.#settle(new Kind(`${options.what}: ${exit.message}`, { cause: exit }));
    });

    if (options.signal) {
      if (options.signal.aborted) queueMicrotask(this.#onAbort);
      else options.signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** End the run with `err` (first outcome wins) and kill the process. */
  fail(err: Error): void {
    if (this.#settled) return;
    this.kill();
    // Wake up anyone reading stdout so the failure surfaces where they wait.
    this.child.stdout?.destroy(err);
    this.#settle(err);
  }

  /** Kill the process if it is still running (idempotent). */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      try {
        this.child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }

  #settle(err?: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    if (err === undefined) this.#resolve();
    else this.#reject(err);
  }
}
