/**
 * One keep-alive HTTPS connection that sends a request prepared once as bytes
 * and reads back just enough of the answer: status, Content-Length, body.
 * Node's own HTTP client costs the load generator several times more CPU and
 * garbage per request; its pauses would then show up as the server's latency
 * in the fixed-rate run. One request at a time per connection (no pipelining).
 */
import { connect, type TLSSocket } from 'node:tls';
import type { RequestSpec, Target } from './jobs.js';
import type { Outcome } from './one-request.js';

const HEADER_END = Buffer.from('\r\n\r\n');
const TIMEOUT_MS = 10_000;

/** The request as it goes on the wire. */
export function requestBytes(target: Target, spec: RequestSpec): Buffer {
  const url = new URL(target.origin);
  const body = Buffer.from(spec.body);
  const head =
    `POST ${spec.path} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), body]);
}

export class RawConnection {
  readonly #socket: TLSSocket;
  readonly #expect: string;
  #chunks: Buffer[] = [];
  #received = 0;
  #pending: ((outcome: Outcome) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #broken = false;

  constructor(target: Target, expect: string) {
    const url = new URL(target.origin);
    this.#expect = expect;
    this.#socket = connect({ host: url.hostname, port: Number(url.port), ca: target.ca });
    this.#socket.setNoDelay(true);
    this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    const fail = (): void => {
      this.#broken = true;
      this.#settle('error');
    };
    this.#socket.on('error', fail);
    this.#socket.on('close', fail);
  }

  /** False once the connection has failed or closed: take another. */
  get usable(): boolean {
    return !this.#broken;
  }

  send(bytes: Buffer): Promise<Outcome> {
    return new Promise((resolve) => {
      this.#pending = resolve;
      this.#timer = setTimeout(() => {
        this.#broken = true;
        this.#settle('timeout');
        this.#socket.destroy();
      }, TIMEOUT_MS);
      this.#socket.write(bytes);
    });
  }

  close(): void {
    this.#broken = true;
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#received += chunk.length;
    const data = this.#chunks.length === 1 ? chunk : Buffer.concat(this.#chunks);
    if (this.#chunks.length > 1) this.#chunks = [data];
    const headerEnd = data.indexOf(HEADER_END);
    if (headerEnd === -1) return;
    const head = data.toString('latin1', 0, headerEnd);
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 'NaN');
    if (!Number.isFinite(length)) {
      this.#broken = true;
      this.#settle('error');
      return;
    }
    const total = headerEnd + HEADER_END.length + length;
    if (this.#received < total) return;
    const status = Number(head.slice(9, 12));
    const body = data.toString('utf8', headerEnd + HEADER_END.length, total);
    // Anything past this answer would be a second answer nobody asked for: treat it as broken.
    if (this.#received > total) this.#broken = true;
    this.#chunks = [];
    this.#received = 0;
    this.#settle(status < 200 || status > 299 ? 'non2xx' : body.includes(this.#expect) ? 'ok' : 'mismatch');
  }

  #settle(outcome: Outcome): void {
    clearTimeout(this.#timer);
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.(outcome);
  }
}
