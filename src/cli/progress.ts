/**
 * A one-line progress bar on standard error, drawn only when it is a terminal. Lines logged
 * while it is shown are printed above it.
 */
import type { CliIO } from './command.js';

export class ProgressBar {
  readonly #out: CliIO['stderr'];
  readonly #total: number;
  readonly #enabled: boolean;
  #done = 0;
  #label = '';
  #shown = false;

  /** `enabled` false makes every call a no-op except {@link log}. */
  constructor(out: CliIO['stderr'], total: number, enabled: boolean) {
    this.#out = out;
    this.#total = total;
    this.#enabled = enabled && out.isTTY === true;
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  /** Redraws the bar with `done` of `total` finished; `label` names the latest item. */
  update(done: number, label = this.#label): void {
    this.#done = done;
    this.#label = label;
    this.#draw();
  }

  /** Prints a line (ending in a newline) above the bar. */
  log(line: string): void {
    this.#clear();
    this.#out.write(line);
    this.#draw();
  }

  /** Removes the bar. */
  finish(): void {
    this.#clear();
  }

  #draw(): void {
    if (!this.#enabled) return;
    const width = 24;
    const filled = this.#total === 0 ? width : Math.round((this.#done / this.#total) * width);
    const head = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${this.#done}/${this.#total}`;
    const room = (this.#out.columns || 80) - head.length - 2;
    const label = room < 8 ? '' : this.#label.length > room ? `…${this.#label.slice(this.#label.length - room + 1)}` : this.#label;
    this.#out.write(`\r${head}${label ? ` ${label}` : ''}\x1b[K`);
    this.#shown = true;
  }

  #clear(): void {
    if (!this.#shown) return;
    this.#out.write('\r\x1b[K');
    this.#shown = false;
  }
}
