import type { OptionTable } from './args.js';

/** Options every command accepts, before or after the command name. */
export const GLOBAL_OPTIONS: OptionTable = Object.freeze({
  help: { type: 'boolean', short: 'h', description: 'show help' },
  version: { type: 'boolean', short: 'V', description: 'print the version' },
  verbose: { type: 'boolean', description: 'print a stack trace on errors' },
});
