/** How a call of mountgate goes wrong or asks for help, and the exit codes. */

/** A mistake in how mountgate was called: exit 2 with one line. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A flag or argument a command does not accept: exit 2, and the command's usage on stderr. */
export class ArgumentError extends UsageError {
  override name = 'ArgumentError';

  constructor(
    readonly command: string,
    problem: string,
  ) {
    super(`${command}: ${problem}`);
  }
}

/** `--help` or `-h` was given: the command's usage on stdout, exit 0. */
export class HelpRequested extends Error {
  override name = 'HelpRequested';

  constructor(readonly command: string) {
    super(`help for ${command}`);
  }
}

/** The first line of an error: node:util parseArgs explains at length, one line is enough. */
export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

const ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Control characters (C0, DEL, C1) and the Unicode line and paragraph separators escaped, as in JSON:
 * an error naming a file or a policy key stays one line and sends no escape sequence to the terminal.
 */
export function escapeControl(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (character) => ESCAPES[character] ?? `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export const EXIT_OK = 0;
export const EXIT_DENIED = 1;
export const EXIT_USAGE = 2;
