/**
 * The JSON body of an admission review, read without body-parser when the
 * request is plain: `Content-Type: application/json` (with `charset=utf-8` at
 * most), a Content-Length within the limit, no Content-Encoding and no
 * Transfer-Encoding. The API server always sends such requests; anything else
 * (other charsets, chunked bodies) goes through express.json, except encoded
 * bodies, which the admission handler refuses unread. Both give the same value or the same error, status and message
 * (test/server/json-body.test.ts sends every body to both): body-parser's
 * streams, decoders and content-type parsing cost about 25k of the ~790k
 * instructions the server spends on a review.
 */
import type { IncomingMessage } from 'node:http';

/** A body that was refused before it reached a decision; `status` is the HTTP status to answer with. */
export class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'BodyError';
  }
}

/** Exactly these, lower-cased; other spellings and parameters go to body-parser. */
const PLAIN_TYPES: ReadonlySet<string> = new Set(['application/json', 'application/json; charset=utf-8']);
const DECLARED_LENGTH = /^[1-9][0-9]{0,15}$/;
const BYTE_ORDER_MARK = '\uFEFF';
const FIRST_NON_WHITESPACE = /^[\x20\x09\x0a\x0d]*([^\x20\x09\x0a\x0d])/;

/**
 * Whether the request declares a body longer than `maxBytes`. body-parser
 * answers such a request only after reading (and dropping) the whole body,
 * however long: the edge answers it at once instead.
 */
export function declaresTooLong(req: IncomingMessage, maxBytes: number): boolean {
  const declared = req.headers['content-length'];
  return declared !== undefined && /^[0-9]+$/.test(declared) && Number(declared) > maxBytes;
}

/** Whether the body declares a content coding: an empty value, or `identity` in any case, is none, as body-parser reads it. */
export function declaresEncoding(req: IncomingMessage): boolean {
  const encoding = req.headers['content-encoding'] ?? '';
  return encoding !== '' && encoding.toLowerCase() !== 'identity';
}

/** The declared length of a plain JSON body of at most `maxBytes`, or undefined when body-parser must read it. */
export function plainJsonLength(req: IncomingMessage, maxBytes: number): number | undefined {
  const headers = req.headers;
  if (headers['content-encoding'] !== undefined || headers['transfer-encoding'] !== undefined) return undefined;
  const type = headers['content-type'];
  if (type === undefined || !PLAIN_TYPES.has(type.toLowerCase())) return undefined;
  const declared = headers['content-length'];
  if (declared === undefined || !DECLARED_LENGTH.test(declared)) return undefined;
  const length = Number(declared);
  return length <= maxBytes ? length : undefined;
}

/** Reads `length` bytes of `req` and parses them as body-parser's strict JSON parser does. `done` is called once. */
export function readPlainJson(req: IncomingMessage, length: number, done: (error: BodyError | undefined, value?: unknown) => void): void {
  const chunks: Buffer[] = [];
  let received = 0;
  let settled = false;
  // The listeners stay until the request is dropped: after the end nothing more comes but a late error, which they absorb.
  const settle = (error: BodyError | undefined, value?: unknown): void => {
    if (settled) return;
    settled = true;
    done(error, value);
  };
  const onData = (chunk: Buffer): void => {
    chunks.push(chunk);
    received += chunk.length;
  };
  const onEnd = (): void => {
    if (received !== length) {
      settle(new BodyError(400, 'request size did not match content length'));
      return;
    }
    const bytes = chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, received);
    let value: unknown;
    try {
      value = parseStrictJson(bytes.toString('utf8'));
    } catch (error) {
      settle(new BodyError(400, error instanceof Error ? error.message : String(error)));
      return;
    }
    settle(undefined, value);
  };
  // As body-parser's reader (raw-body) words them.
  const onAborted = (): void => settle(new BodyError(400, 'request aborted'));
  const onError = (error: Error): void => settle(new BodyError(400, error.message));
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('aborted', onAborted);
  req.on('error', onError);
}

/**
 * body-parser's strict JSON: a leading byte order mark is dropped, an empty
 * body is `{}`, and only an object or an array may stand at the top, with the
 * same SyntaxError message body-parser gives for anything else.
 */
export function parseStrictJson(decoded: string): unknown {
  const text = decoded.startsWith(BYTE_ORDER_MARK) ? decoded.slice(1) : decoded;
  if (text.length === 0) return {};
  if (text[0] !== '{' && text[0] !== '[') {
    const first = FIRST_NON_WHITESPACE.exec(text)?.[1];
    if (first !== '{' && first !== '[') throw notAnObjectOrArray(text, first);
  }
  return JSON.parse(text);
}

/**
 * The message JSON.parse gives when the first character that is not
 * whitespace is where the JSON goes wrong: the text from there on is replaced
 * by '#', which JSON.parse always refuses, and its message then quotes the
 * original characters back.
 */
function notAnObjectOrArray(text: string, first: string | undefined): SyntaxError {
  const index = first === undefined ? -1 : text.indexOf(first);
  const masked = index === -1 ? '' : text.slice(0, index) + '#'.repeat(text.length - index);
  try {
    JSON.parse(masked);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return new SyntaxError(message.replace(/#+/g, (placeholder) => text.substring(index, index + placeholder.length)));
  }
  return new SyntaxError('strict violation');
}
