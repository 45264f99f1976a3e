/**
 * Help text, generated from the command table and option tables.
 */
import type { OptionTable } from './args.js';
import type { ArgumentSpec, Command, CommandTable } from './command.js';
import { GLOBAL_OPTIONS } from './globals.js';

function columns(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(0, ...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}   ${right}`.trimEnd());
}

function optionRows(table: OptionTable): [string, string][] {
  return Object.entries(table).map(([name, spec]) => {
    const short = spec.short ? `-${spec.short}, ` : '    ';
    const value = spec.type === 'string' ? ` ${spec.valueName ?? 'VALUE'}` : '';
    return [`${short}--${name}${value}`, spec.description];
  });
}

/** `<file>`, `[command]`, `[output...]`. */
function argumentLabel(a: ArgumentSpec): string {
  const name = a.variadic ? `${a.name}...` : a.name;
  return a.optional ? `[${name}]` : `<${name}>`;
}

/** `info <file>` / `help [command]`. */
export function commandSynopsis(command: Command): string {
  const args = command.arguments.map((a) => argumentLabel(a));
  return [command.name, ...args].join(' ');
}

export function mainHelp(commands: CommandTable, version: string): string {
  const lines = [
    'Usage: codec <command> [options]',
    '',
    `neurocodec ${version}: a learned image codec.`,
    '',
    'Commands:',
    ...columns([...commands.values()].map((c) => [commandSynopsis(c), c.summary])),
    '',
    'Options:',
    ...columns(optionRows(GLOBAL_OPTIONS)),
    '',
    "Run 'codec help <command>' or 'codec <command> --help' for a command's options.",
    'Exit codes: 0 success, 1 bad input or failed work, 2 bad usage.',
    'Interrupted (SIGINT, SIGTERM): 128 + the signal number, and no partial output file.',
  ];
  return lines.join('\n') + '\n';
}

/** Break a paragraph into lines of at most `width` characters (longer words stay whole). */
export function wrap(text: string, width = 80): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

export function commandHelp(command: Command): string {
  const synopsis = [command.name, '[options]', ...commandSynopsis(command).split(' ').slice(1)].join(' ');
  const lines = [`Usage: codec ${synopsis}`, '', ...wrap(command.description), ''];
  if (command.arguments.length > 0) {
    lines.push('Arguments:', ...columns(command.arguments.map((a) => [argumentLabel(a), a.description])), '');
  }
  lines.push('Options:', ...columns(optionRows({ ...command.options, ...GLOBAL_OPTIONS })));
  if (command.examples?.length) lines.push('', 'Examples:', ...command.examples.map((e) => `  ${e}`));
  return lines.join('\n') + '\n';
}
