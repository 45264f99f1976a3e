/**
 * The CLI as a function: `runCli(argv, io)` resolves to the exit code and never throws,
 * so it can be driven in-process as well as from the `codec` binary.
 */
import { CodecError, InvalidOptionError } from '../errors.js';
import { parseArgs } from './args.js';
import type { CliIO, CommandTable } from './command.js';
import { COMMANDS } from './commands/index.js';
import { GLOBAL_OPTIONS } from './globals.js';
import { commandHelp, mainHelp } from './help.js';
import { ExitCode, InterruptedError, UsageError } from './usage-error.js';
import { packageVersion } from './version.js';

export { ExitCode, InterruptedError, UsageError } from './usage-error.js';
export type { CliIO } from './command.js';

/** Run `codec` with the arguments after the program name; resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIO, commands: CommandTable = COMMANDS): Promise<number> {
  const endOfOptions = argv.indexOf('--');
  const verbose = (endOfOptions === -1 ? argv : argv.slice(0, endOfOptions)).includes('--verbose');
  try {
    return await dispatch(argv, io, commands);
  } catch (err) {
    // Whatever failed after an interruption failed because of it.
    const reason: unknown = io.signal?.aborted ? io.signal.reason : undefined;
    return report(reason instanceof InterruptedError ? reason : err, io, verbose);
  }
}

async function dispatch(argv: readonly string[], io: CliIO, commands: CommandTable): Promise<number> {
  const version = packageVersion();
  // Global options may come before the command name; they are all flags, so the
  // command is the first token that is not an option.
  let i = 0;
  while (i < argv.length && argv[i].startsWith('-') && argv[i] !== '-' && argv[i] !== '--') i++;
  const leading = parseArgs(argv.slice(0, i), GLOBAL_OPTIONS, 'codec');
  if (argv[i] === '--') i++;
  const name = argv[i];

  if (name === undefined) {
    if (leading.options.version) return print(io, `${version}\n`);
    if (leading.options.help) return print(io, mainHelp(commands, version));
    throw new UsageError("missing command; run 'codec --help' for usage");
  }
  const command = commands.get(name);
  if (!command) {
    throw new UsageError(`unknown command '${name}'; run 'codec --help' for the list of commands`);
  }

  const where = `codec ${command.name}`;
  const rest = parseArgs(argv.slice(i + 1), { ...GLOBAL_OPTIONS, ...command.options }, where);
  const options = { ...leading.options, ...rest.options };
  if (options.help) return print(io, commandHelp(command));
  if (options.version) return print(io, `${version}\n`);

  const args = rest.positionals;
  const required = command.arguments.filter((a) => !a.optional);
  if (args.length < required.length) {
    throw new UsageError(`missing argument <${required[args.length].name}> for '${where}'`);
  }
  const variadic = command.arguments.at(-1)?.variadic === true;
  if (!variadic && args.length > command.arguments.length) {
    throw new UsageError(`unexpected argument '${args[command.arguments.length]}' for '${where}'`);
  }
  const code = await command.run({ args, options, io, commands, version });
  return code ?? ExitCode.OK;
}

function print(io: CliIO, text: string): number {
  io.stdout.write(text);
  return ExitCode.OK;
}

/** Exit code for an error: 2 for usage and option errors, 128 + n for signal n, 1 for the rest. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof InterruptedError) return err.exitCode;
  return err instanceof UsageError || err instanceof InvalidOptionError ? ExitCode.USAGE : ExitCode.FAILURE;
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

function report(err: unknown, io: CliIO, verbose: boolean): number {
  const known = err instanceof CodecError || err instanceof UsageError;
  const code = known ? err.code : 'ERR_INTERNAL';
  const message = oneLine(err instanceof Error ? err.message : String(err)) || 'unknown error';
  const hint = !known && !verbose ? ' (run with --verbose for a stack trace)' : '';
  io.stderr.write(`codec: error: ${message} [${code}]${hint}\n`);
  if (verbose) {
    let current: unknown = err;
    for (let depth = 0; current !== undefined && depth < 8; depth++) {
      const text = current instanceof Error ? (current.stack ?? `${current.name}: ${current.message}`) : String(current);
      io.stderr.write(`${depth === 0 ? '' : 'Caused by: '}${text}\n`);
      current = current instanceof Error ? current.cause : undefined;
    }
  }
  return exitCodeFor(err);
}
