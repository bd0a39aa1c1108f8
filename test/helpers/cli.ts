/** Runs a CLI entry point in-process with its output captured, as the command-line tests need it. */
import { commandUsage, findCommand } from '../../src/cli/commands.js';
import type { Io } from '../../src/cli/check.js';

export interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `entry` (run, check, ...) with stdout and stderr captured and an empty stdin; `stdout` replaces the captured one. */
export async function captured(entry: (argv: readonly string[], io: Io) => Promise<number>, argv: readonly string[], io: { stdout?: (text: string) => void } = {}): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const code = await entry(argv, {
    stdout: io.stdout ?? ((text) => (stdout += text)),
    stderr: (text) => (stderr += text),
    readStdin: () => Promise.resolve(''),
  });
  return { code, stdout, stderr };
}

/** The usage text of a command, as --help prints it. */
export function usageOf(name: string): string {
  const command = findCommand(name);
  if (command === undefined) throw new Error(`no command ${name}`);
  return commandUsage(command);
}
