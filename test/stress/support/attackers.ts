/**
 * Hostile clients on loopback, each bounded in count and time: raw TCP that
 * never starts TLS, TLS that never sends a request, slowloris headers, slow
 * and stalled bodies, half-closed requests. Each attacker records when the
 * server closed it, so tests can hold the server to its timeouts.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export interface Attack {
  /** Date.now() when each connection was closed by the server (or failed); undefined while open. */
  readonly closedAt: ReadonlyArray<number | undefined>;
  /** The first line of whatever the server answered, per connection. */
  readonly answers: ReadonlyArray<string | undefined>;
  /** Date.now() when the last connection was set up. */
  readonly openedAt: number;
  stop(): void;
}

interface Tracked {
  readonly socket: Socket | TLSSocket;
  closedAt: number | undefined;
  answer: string | undefined;
}

function track(socket: Socket | TLSSocket): Tracked {
  const tracked: Tracked = { socket, closedAt: undefined, answer: undefined };
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    tracked.answer ??= chunk.toString('latin1').split('\r\n')[0];
  });
  socket.on('close', () => {
    tracked.closedAt ??= Date.now();
  });
  return tracked;
}

function attack(all: Tracked[], timers: NodeJS.Timeout[]): Attack {
  return {
    get closedAt() {
      return all.map((tracked) => tracked.closedAt);
    },
    get answers() {
      return all.map((tracked) => tracked.answer);
    },
    openedAt: Date.now(),
    stop() {
      for (const timer of timers) clearInterval(timer);
      for (const tracked of all) tracked.socket.destroy();
    },
  };
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `count` TCP connections that never send a byte (no TLS ClientHello), opened in batches so the accept queue keeps up. */
export async function rawTcp(port: number, count: number, batch = 500): Promise<Attack> {
  const all: Tracked[] = [];
  for (let i = 0; i < count; i++) {
    all.push(track(netConnect(port, '127.0.0.1')));
    if (i % batch === batch - 1) await pause(100);
  }
  return attack(all, []);
}

function tlsSocket(port: number, ca: string): Promise<Tracked> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ port, host: '127.0.0.1', ca, servername: 'localhost' });
    const tracked = track(socket);
    socket.once('secureConnect', () => resolve(tracked));
    socket.once('close', () => resolve(tracked));
  });
}

/** `count` TLS connections that complete the handshake and then send nothing, `concurrency` handshakes at a time. */
export async function idleTls(port: number, ca: string, count: number, concurrency = 50): Promise<Attack> {
  const all: Tracked[] = [];
  for (let i = 0; i < count; i += concurrency) {
    all.push(...(await Promise.all(Array.from({ length: Math.min(concurrency, count - i) }, () => tlsSocket(port, ca)))));
  }
  return attack(all, []);
}

/** `count` TLS connections that each get one answer (GET /healthz) and are then kept alive, idle, `concurrency` at a time. */
export async function keptAliveTls(port: number, ca: string, count: number, concurrency = 50): Promise<Attack> {
  const all: Tracked[] = [];
  for (let i = 0; i < count; i += concurrency) {
    const batch = await Promise.all(Array.from({ length: Math.min(concurrency, count - i) }, () => tlsSocket(port, ca)));
    await Promise.all(
      batch.map(
        (tracked) =>
          new Promise<void>((resolve) => {
            const done = (): void => resolve();
            tracked.socket.once('data', done);
            tracked.socket.once('close', done);
            tracked.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
          }),
      ),
    );
    all.push(...batch);
  }
  return attack(all, []);
}

/** Slowloris: request headers, one byte every `everyMs`, never finished. */
export async function slowHeaders(port: number, ca: string, count: number, everyMs: number): Promise<Attack> {
  const all = await Promise.all(Array.from({ length: count }, () => tlsSocket(port, ca)));
  const text = `POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Padding: ${'a'.repeat(4096)}`;
  let offset = 0;
  const timer = setInterval(() => {
    const byte = text[offset++ % text.length] ?? 'a';
    for (const tracked of all) if (tracked.closedAt === undefined) tracked.socket.write(byte);
  }, everyMs);
  return attack(all, [timer]);
}

/** Slow bodies: complete headers declaring `declaredBytes`, then `chunkBytes` every `everyMs`. */
export async function slowBodies(port: number, ca: string, count: number, declaredBytes: number, chunkBytes: number, everyMs: number): Promise<Attack> {
  const all = await Promise.all(Array.from({ length: count }, () => tlsSocket(port, ca)));
  for (const tracked of all) {
    tracked.socket.write(`POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${declaredBytes}\r\n\r\n{"a":"`);
  }
  const chunk = 'b'.repeat(chunkBytes);
  const timer = setInterval(() => {
    for (const tracked of all) if (tracked.closedAt === undefined) tracked.socket.write(chunk);
  }, everyMs);
  return attack(all, [timer]);
}

/** Bodies that send all but the last `missingBytes` of `declaredBytes` as fast as they can, then stall. */
export async function stalledBodies(port: number, ca: string, count: number, declaredBytes: number, missingBytes: number): Promise<Attack> {
  const all = await Promise.all(Array.from({ length: count }, () => tlsSocket(port, ca)));
  const head = `POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${declaredBytes}\r\n\r\n`;
  const body = Buffer.alloc(declaredBytes - missingBytes, 0x20);
  await Promise.all(
    all.map(
      (tracked) =>
        new Promise<void>((resolve) => {
          if (tracked.closedAt !== undefined) return resolve();
          tracked.socket.write(head);
          tracked.socket.write(body, () => resolve());
          tracked.socket.once('close', () => resolve());
        }),
    ),
  );
  return attack(all, []);
}

/** Half-closed requests: headers of a request (complete or not), then the client's end of the connection is shut. */
export async function halfClosed(port: number, ca: string, count: number, complete: boolean): Promise<Attack> {
  const all = await Promise.all(Array.from({ length: count }, () => tlsSocket(port, ca)));
  const text = complete ? 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' : 'POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Len';
  for (const tracked of all) if (tracked.closedAt === undefined) tracked.socket.end(text);
  return attack(all, []);
}

/** Sends raw bytes on a fresh TLS connection (not half-closed) and resolves with the status line of the answer and how long it took. */
export async function rawExchange(port: number, ca: string, head: string, body: Buffer | string = ''): Promise<{ status: string; ms: number }> {
  const started = performance.now();
  const tracked = await tlsSocket(port, ca);
  return new Promise((resolve) => {
    const finish = (): void => resolve({ status: tracked.answer ?? '(closed without an answer)', ms: performance.now() - started });
    tracked.socket.once('close', finish);
    tracked.socket.once('data', () => tracked.socket.end());
    tracked.socket.write(head);
    tracked.socket.write(body);
    setTimeout(() => tracked.socket.destroy(), 15_000).unref();
  });
}
