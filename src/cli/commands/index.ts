/**
 * The command table. To add a subcommand, write a `Command` (name, summary,
 * description, arguments, options, run) in its own file here and list it below; help,
 * argument checking and error reporting come from the table.
 */
import { defineCommands, type CommandTable } from '../command.js';
import { GLOBAL_OPTIONS } from '../globals.js';
import { decodeCommand } from './decode.js';
import { encodeCommand } from './encode.js';
import { helpCommand } from './help.js';
import { infoCommand } from './info.js';
import { detokenizeCommand, tokensCommand } from './tokens.js';
import { truncateCommand } from './truncate.js';

export const COMMANDS: CommandTable = defineCommands([encodeCommand, decodeCommand, truncateCommand, tokensCommand, detokenizeCommand, infoCommand, helpCommand], GLOBAL_OPTIONS);
