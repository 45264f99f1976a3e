#!/usr/bin/env node
/**
 * The `codec` binary: runs the CLI on the process's arguments and streams.
 */
import { runCli } from './app.js';

// A reader that stops early (`codec info x | head -1`) is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
});
