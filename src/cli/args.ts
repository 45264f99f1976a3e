/**
 * A small, strict argument parser: `--name`, `--name=value`, `--name value`, `-x`,
 * `-x value`, `--` to end options, and `-` as an ordinary argument (standard input or
 * output). Anything it does not know is a UsageError.
 */
import { UsageError } from './usage-error.js';

export interface OptionSpec {
  /** A boolean flag, or an option that takes a value. */
  readonly type: 'boolean' | 'string';
  /** One-letter alias, without the dash. */
  readonly short?: string;
  /** Shown in help, e.g. `FILE` for `--out FILE`. */
  readonly valueName?: string;
  /** One line for the help text. */
  readonly description: string;
}

export type OptionTable = Readonly<Record<string, OptionSpec>>;

export type OptionValues = Readonly<Record<string, string | boolean | undefined>>;

export interface ParsedArgs {
  readonly options: OptionValues;
  readonly positionals: readonly string[];
}

/**
 * Parse `argv` against `table`. `where` names the command in messages (`codec info`).
 *
 * @throws UsageError for an unknown option, a missing value, or a value given to a flag.
 */
export function parseArgs(argv: readonly string[], table: OptionTable, where: string): ParsedArgs {
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(table)) if (spec.short) byShort.set(spec.short, name);

  const options: Record<string, string | boolean | undefined> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (token === '-' || !token.startsWith('-')) {
      positionals.push(token);
      continue;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (token.startsWith('--')) {
      const eq = token.indexOf('=');
      const key = eq === -1 ? token.slice(2) : token.slice(2, eq);
      if (eq !== -1) inline = token.slice(eq + 1);
      name = Object.hasOwn(table, key) ? key : undefined;
    } else if (token.length === 2) {
      name = byShort.get(token[1]);
    }
    if (name === undefined) {
      throw new UsageError(`unknown option '${token.split('=')[0]}' for '${where}'`);
    }
    const spec = table[name];
    if (spec.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`option '--${name}' takes no value`);
      options[name] = true;
    } else if (inline !== undefined) {
      options[name] = inline;
    } else {
      const value = argv[i + 1];
      if (value === undefined || (value.startsWith('-') && value !== '-')) {
        throw new UsageError(`option '--${name}' needs a value${spec.valueName ? ` (${spec.valueName})` : ''}`);
      }
      options[name] = value;
      i += 1;
    }
  }
  return { options, positionals };
}
