/**
 * Bytes read as text only when they are text: a byte that is no character of the encoding refuses the file,
 * rather than becoming U+FFFD inside a host path or a key, so that what is judged is what the file says.
 */
import { readFile } from 'node:fs/promises';
import { TextDecoder } from 'node:util';

/** Bytes that are not text in the encoding they are read in: the message names the first place. */
export class EncodingError extends Error {
  override name = 'EncodingError';
}

export type TextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be';

/** `bytes` as text, or an EncodingError naming the line and column where the first bad character begins. A UTF-8 byte order mark is kept, a UTF-16 one dropped. */
export function decodeStrictly(bytes: Uint8Array, encoding: TextEncoding): string {
  const decoder = (): TextDecoder => new TextDecoder(encoding, { fatal: true, ignoreBOM: encoding === 'utf-8' });
  try {
    return decoder().decode(bytes);
  } catch {
    // The longest prefix that decodes (a character cut short at its end pending) ends where the first bad one begins.
    let good = 0;
    let high = bytes.length;
    while (good < high) {
      const middle = Math.ceil((good + high) / 2);
      try {
        decoder().decode(bytes.subarray(0, middle), { stream: true });
        good = middle;
      } catch {
        high = middle - 1;
      }
    }
    const lines = decoder().decode(bytes.subarray(0, good), { stream: true }).split('\n');
    const column = (lines[lines.length - 1] ?? '').length + 1;
    throw new EncodingError(`not valid ${encoding === 'utf-8' ? 'UTF-8' : 'UTF-16'} at line ${lines.length}, column ${column}`);
  }
}

/** A UTF-8 file's text; an EncodingError when it is not UTF-8, and the read's own error when it cannot be read. */
export async function readUtf8File(file: string): Promise<string> {
  return decodeStrictly(await readFile(file), 'utf-8');
}
