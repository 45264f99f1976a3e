/**
 * The CLI shell in-process: the argument parser, the command table and runCli's
 * dispatch, help and error reporting, with a made-up command registered as data.
 */
import { describe, expect, it } from 'vitest';
import { parseArgs, type OptionTable } from '../src/cli/args.js';
import { ExitCode, UsageError, runCli } from '../src/cli/app.js';
import { defineCommands, type CliIO, type Command } from '../src/cli/command.js';
import { COMMANDS } from '../src/cli/commands/index.js';
import { GLOBAL_OPTIONS } from '../src/cli/globals.js';
import { wrap } from '../src/cli/help.js';
import { BitstreamError, invalidOption } from '../src/errors.js';

const table: OptionTable = {
  json: { type: 'boolean', description: 'json' },
  out: { type: 'string', short: 'o', valueName: 'FILE', description: 'output' },
  quality: { type: 'string', short: 'q', description: 'quality' },
};

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('parseArgs', () => {
  it('reads flags, values in both spellings, short aliases and positionals', () => {
    expect(parseArgs(['a', '--json', '--out', 'x.ncdc', '-q', '5', 'b'], table, 'codec t')).toEqual({
      options: { json: true, out: 'x.ncdc', quality: '5' },
      positionals: ['a', 'b'],
    });
    expect(parseArgs(['--out=y=z', '-o', '-'], table, 'codec t').options).toEqual({ out: '-' });
    expect(parseArgs(['--out='], table, 'codec t').options).toEqual({ out: '' });
  });

  it('treats - as an argument and everything after -- as arguments', () => {
    expect(parseArgs(['-', '--', '--json', '-o'], table, 'codec t')).toEqual({ options: {}, positionals: ['-', '--json', '-o'] });
  });

  it('rejects unknown options, missing values and values given to flags', () => {
    expect(usageMessage(() => parseArgs(['--nope'], table, 'codec t'))).toBe("unknown option '--nope' for 'codec t'");
    expect(usageMessage(() => parseArgs(['--nope=1'], table, 'codec t'))).toBe("unknown option '--nope' for 'codec t'");
    expect(usageMessage(() => parseArgs(['-x'], table, 'codec t'))).toBe("unknown option '-x' for 'codec t'");
    expect(usageMessage(() => parseArgs(['-oq'], table, 'codec t'))).toBe("unknown option '-oq' for 'codec t'");
    expect(usageMessage(() => parseArgs(['--out'], table, 'codec t'))).toBe("option '--out' needs a value (FILE)");
    expect(usageMessage(() => parseArgs(['--out', '--json'], table, 'codec t'))).toBe("option '--out' needs a value (FILE)");
    expect(usageMessage(() => parseArgs(['--json=1'], table, 'codec t'))).toBe("option '--json' takes no value");
    expect(usageMessage(() => parseArgs(['--constructor'], table, 'codec t'))).toBe("unknown option '--constructor' for 'codec t'");
  });
});

describe('command table', () => {
  const base: Command = {
    name: 'x',
    summary: 's',
    description: 'd',
    arguments: [],
    options: {},
    run: async () => undefined,
  };

  it('holds the commands that exist', () => {
    expect([...COMMANDS.keys()]).toEqual(['encode', 'decode', 'truncate', 'tokens', 'detokenize', 'info', 'help']);
  });

  it('accepts a variadic argument only in the last place', () => {
    const spread = { ...base, arguments: [{ name: 'in', description: 'd', variadic: true }, { name: 'out', description: 'd' }] };
    expect(() => defineCommands([spread])).toThrow("command 'x': variadic argument <in> is not the last one");
    const last = { ...base, arguments: [{ name: 'in', description: 'd' }, { name: 'more', description: 'd', optional: true, variadic: true }] };
    expect([...defineCommands([last]).keys()]).toEqual(['x']);
  });

  it('throws at load time on a duplicate name', () => {
    expect(() => defineCommands([base, { ...base }])).toThrow("command 'x' is defined twice");
  });

  it('throws at load time on clashing options, bad names and argument order', () => {
    expect(() => defineCommands([{ ...base, options: { help: { type: 'boolean', description: '' } } }], GLOBAL_OPTIONS)).toThrow(/redefines the global option '--help'/);
    expect(() => defineCommands([{ ...base, options: { hop: { type: 'boolean', short: 'h', description: '' } } }], GLOBAL_OPTIONS)).toThrow(/short option '-h' is used twice/);
    expect(() => defineCommands([{ ...base, name: 'Bad Name' }])).toThrow(/bad command name/);
    expect(() =>
      defineCommands([{ ...base, arguments: [{ name: 'a', description: '', optional: true }, { name: 'b', description: '' }] }]),
    ).toThrow(/required argument <b> follows an optional one/);
  });
});

function fakeIO(stdinChunks: (string | Uint8Array)[] = []): CliIO & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: { write: (text: string) => (io.out += text) },
    stderr: { write: (text: string) => (io.err += text) },
    stdin: (async function* () {
      yield* stdinChunks;
    })(),
  };
  return io;
}

describe('runCli with a command registered as data', () => {
  const seen: unknown[] = [];
  const demo: Command = {
    name: 'demo',
    summary: 'a demonstration',
    description: 'Does a demonstration.',
    arguments: [
      { name: 'input', description: 'where from' },
      { name: 'output', description: 'where to', optional: true },
    ],
    options: { quality: { type: 'string', short: 'q', valueName: 'N', description: 'quality 1..100' } },
    examples: ['codec demo in.png -q 5'],
    async run({ args, options }) {
      seen.push({ args, options });
      const q = Number(options.quality ?? 50);
      if (!(Number.isInteger(q) && q >= 1 && q <= 100)) throw invalidOption('integer between 1 and 100', 'quality', q);
      if (args[0] === 'corrupt') throw new BitstreamError('bad data\nover two lines', { cause: new Error('inner cause') });
      if (args[0] === 'bug') throw new TypeError('something internal');
      if (args[0] === 'soft-fail') return ExitCode.FAILURE;
      return undefined;
    },
  };
  const commands = defineCommands([demo], GLOBAL_OPTIONS);

  it('runs the command with parsed arguments and options', async () => {
    const io = fakeIO();
    expect(await runCli(['--verbose', 'demo', 'a.png', '-q', '7', 'b.ncdc'], io, commands)).toBe(0);
    expect(seen.at(-1)).toEqual({ args: ['a.png', 'b.ncdc'], options: { verbose: true, quality: '7' } });
    expect(io.err).toBe('');
    expect(await runCli(['demo', 'soft-fail'], fakeIO(), commands)).toBe(1);
  });

  it('generates help from the table', async () => {
    const io = fakeIO();
    expect(await runCli(['--help'], io, commands)).toBe(0);
    expect(io.out).toMatch(/^ {2}demo <input> \[output\] +a demonstration$/m);
    const one = fakeIO();
    expect(await runCli(['demo', '-h'], one, commands)).toBe(0);
    expect(one.out).toMatch(/^Usage: codec demo \[options\] <input> \[output\]\n\nDoes a demonstration\.\n/);
    expect(one.out).toMatch(/^ {2}-q, --quality N +quality 1\.\.100$/m);
    expect(one.out).toContain('Examples:\n  codec demo in.png -q 5\n');
  });

  it('maps errors to exit codes and one stderr line', async () => {
    const cases: [string[], number, RegExp][] = [
      [['demo'], 2, /^codec: error: missing argument <input> for 'codec demo' \[ERR_USAGE\]\n$/],
      [['demo', 'x', '-q', '140'], 2, /^codec: error: Expected integer between 1 and 100 for quality but received 140 of type number \[ERR_INVALID_OPTION\]\n$/],
      [['demo', 'corrupt'], 1, /^codec: error: bad data over two lines \[ERR_BITSTREAM\]\n$/],
      [['demo', 'bug'], 1, /^codec: error: something internal \[ERR_INTERNAL\] \(run with --verbose for a stack trace\)\n$/],
    ];
    for (const [argv, code, stderr] of cases) {
      const io = fakeIO();
      expect(await runCli(argv, io, commands), argv.join(' ')).toBe(code);
      expect(io.err).toMatch(stderr);
      expect(io.out).toBe('');
    }
  });

  it('prints the stack and the causes with --verbose', async () => {
    const io = fakeIO();
    expect(await runCli(['demo', 'corrupt', '--verbose'], io, commands)).toBe(1);
    const lines = io.err.split('\n');
    expect(lines[0]).toBe('codec: error: bad data over two lines [ERR_BITSTREAM]');
    expect(lines[1]).toBe('BitstreamError: bad data');
    expect(io.err).toMatch(/^ +at /m);
    expect(io.err).toMatch(/^Caused by: Error: inner cause$/m);
  });
});

describe('runCli with the real commands', () => {
  it('reads standard input chunk by chunk for info -', async () => {
    const io = fakeIO([Uint8Array.of(0x4e, 0x43), 'DC', Uint8Array.of(7)]);
    expect(await runCli(['info', '-'], io)).toBe(1);
    expect(io.err).toBe('codec: error: unsupported format version 7 (this reader reads 1, 2) [ERR_BITSTREAM]\n');
  });
});

describe('wrap', () => {
  it('breaks at spaces within the width', () => {
    expect(wrap('aa bb cc dd', 5)).toEqual(['aa bb', 'cc dd']);
    expect(wrap('averyveryverylongword x', 5)).toEqual(['averyveryverylongword', 'x']);
  });
});
