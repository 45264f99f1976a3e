import type { Command } from '../command.js';
import { commandHelp, mainHelp } from '../help.js';
import { UsageError } from '../usage-error.js';

export const helpCommand: Command = {
  name: 'help',
  summary: 'show help for a command',
  description: 'Print the list of commands, or the arguments and options of one command.',
  arguments: [{ name: 'command', description: 'the command to describe', optional: true }],
  options: {},
  async run({ args, io, commands, version }) {
    const name = args[0];
    if (name === undefined) {
      io.stdout.write(mainHelp(commands, version));
      return;
    }
    const command = commands.get(name);
    if (!command) throw new UsageError(`unknown command '${name}' (commands: ${[...commands.keys()].join(', ')})`);
    io.stdout.write(commandHelp(command));
  },
};
