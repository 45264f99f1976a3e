/**
 * What a subcommand is: data (name, summary, arguments, options, help) plus a `run`
 * function. Commands live in one table (`commands/index.ts`); adding one is adding an
 * entry there.
 */
import type { OptionTable, OptionValues } from './args.js';

/** Where a command reads and writes; the real process streams, or fakes in tests. */
export interface CliIO {
  /** Text, or the bytes of a file written to `-`; the callback reports the write's outcome. */
  readonly stdout: { write(chunk: string | Uint8Array, callback?: (err?: Error | null) => void): unknown };
  /** `isTTY` turns on progress bars. */
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean; readonly columns?: number };
  readonly stdin: AsyncIterable<Uint8Array | string>;
  /** Fires when the process is told to stop (SIGINT, SIGTERM); commands pass it to their work. */
  readonly signal?: AbortSignal;
}

export interface ArgumentSpec {
  /** Shown as `<name>` (or `[name]` when optional). */
  readonly name: string;
  readonly description: string;
  /** Optional arguments must come after required ones. */
  readonly optional?: boolean;
  /** Takes any number of further values (`<name...>`); only the last argument may. */
  readonly variadic?: boolean;
}

export interface CommandContext {
  /** Positional arguments, already checked against the command's `arguments`. */
  readonly args: readonly string[];
  /** Option values by long name; flags are `true` or absent. */
  readonly options: OptionValues;
  readonly io: CliIO;
  /** The command table, for commands that describe other commands (help). */
  readonly commands: CommandTable;
  /** Program version from package.json. */
  readonly version: string;
}

export interface Command {
  /** The word after `codec`. */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** A paragraph for `codec <name> --help`. */
  readonly description: string;
  readonly arguments: readonly ArgumentSpec[];
  readonly options: OptionTable;
  /** Extra lines for the end of the command's help, e.g. examples. */
  readonly examples?: readonly string[];
  /** Do the work; resolve to an exit code (default 0) or throw. */
  run(ctx: CommandContext): Promise<number | void>;
}

export type CommandTable = ReadonlyMap<string, Command>;

/**
 * Build the command table.
 *
 * @throws Error at load time for a duplicate command name, a badly named command or
 *   option, a duplicate short alias, a required argument after an optional one, or a
 *   variadic argument that is not the last.
 */
export function defineCommands(list: readonly Command[], reserved: OptionTable = {}): CommandTable {
  const table = new Map<string, Command>();
  for (const command of list) {
    if (!/^[a-z][a-z0-9-]*$/.test(command.name)) throw new Error(`bad command name '${command.name}'`);
    if (table.has(command.name)) throw new Error(`command '${command.name}' is defined twice`);
    const shorts = new Set<string>();
    for (const [name, spec] of [...Object.entries(reserved), ...Object.entries(command.options)]) {
      if (Object.hasOwn(reserved, name) && Object.hasOwn(command.options, name)) {
        throw new Error(`command '${command.name}' redefines the global option '--${name}'`);
      }
      if (spec.short !== undefined) {
        if (shorts.has(spec.short)) throw new Error(`command '${command.name}': short option '-${spec.short}' is used twice`);
        shorts.add(spec.short);
      }
    }
    let seenOptional = false;
    for (const [i, arg] of command.arguments.entries()) {
      if (arg.variadic && i !== command.arguments.length - 1) {
        throw new Error(`command '${command.name}': variadic argument <${arg.name}> is not the last one`);
      }
      if (!arg.optional && seenOptional) {
        throw new Error(`command '${command.name}': required argument <${arg.name}> follows an optional one`);
      }
      seenOptional ||= arg.optional === true;
    }
    table.set(command.name, command);
  }
  return table;
}
