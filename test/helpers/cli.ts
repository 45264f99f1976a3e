import { runCli, type CliIO } from '../../src/cli/app.js';

/** What a CLI run gives back: exit status, standard output bytes, standard error text. */
export interface CliResult {
  status: number;
  stdout: Buffer;
  stderr: string;
}

/** The CLI in this process, with fake standard streams (stdin yields `input` once). */
export async function runCliInProcess(args: string[], input?: Uint8Array, isTTY = false): Promise<CliResult> {
  const out: Buffer[] = [];
  let stderr = '';
  const io: CliIO = {
    stdout: {
      write(chunk: string | Uint8Array, callback?: (err?: Error | null) => void) {
        out.push(Buffer.from(chunk));
        callback?.();
        return true;
      },
    },
    stderr: { write: (text: string) => (stderr += text), isTTY, columns: 100 },
    stdin: (async function* () {
      if (input) yield input;
    })(),
  };
  const status = await runCli(args, io);
  return { status, stdout: Buffer.concat(out), stderr };
}
