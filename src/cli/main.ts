#!/usr/bin/env node
/**
 * The `codec` binary: runs the CLI on the process's arguments and streams.
 *
 * SIGINT and SIGTERM abort the running work instead of killing the process, so that no
 * partial or temporary output file is left behind; the handlers are installed before the
 * heavy modules load. A second signal stops at once.
 */
import { constants } from 'node:os';
import { InterruptedError } from './usage-error.js';

// A reader that stops early (`codec info x | head -1`) must not crash the process; a
// command writing a file to standard output sees the failed write and reports it.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

const controller = new AbortController();
const onSignal = (name: NodeJS.Signals): void => {
  const number = constants.signals[name] ?? 0;
  if (controller.signal.aborted) process.exit(128 + number);
  controller.abort(new InterruptedError(name, number));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

// The installed binary is a bundle (dist/cli/); a --verbose stack trace names the TypeScript
// sources through its source maps (the modules loaded from here on are mapped).
const args = process.argv.slice(2);
const endOfOptions = args.indexOf('--');
if ((endOfOptions === -1 ? args : args.slice(0, endOfOptions)).includes('--verbose')) process.setSourceMapsEnabled(true);

const { runCli } = await import('./app.js');
process.exitCode = await runCli(args, {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  signal: controller.signal,
});
// Do not wait for standard input or running native work after an interruption.
if (controller.signal.aborted) process.exit(process.exitCode);
