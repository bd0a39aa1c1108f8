/**
 * The metrics listener's limits: connections that hold a descriptor without
 * asking for anything are closed, and there are only so many at a time.
 * Limits are small here so that each row takes well under a second.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { createMetrics, createMetricsServer, METRICS_SERVER_LIMITS, type MetricsServerLimits } from '../../src/server/metrics.js';

/** Longest any row waits for the server to act: the limits below are at most a few hundred ms. */
const BOUND_MS = 3_000;

/** true when the server closes `socket` within `ms`; false when it is still open then. */
function closedWithin(socket: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function opened(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  // Read (and drop) what the server says, or its end is never seen.
  socket.resume();
  await once(socket, 'connect');
  return socket;
}

describe('server/metrics: the listener limits', () => {
  const quick: MetricsServerLimits = { ...METRICS_SERVER_LIMITS, idleTimeoutMs: 300, headersTimeoutMs: 300, checkIntervalMs: 100 };
  const rows: Array<{ name: string; limits: MetricsServerLimits; open: number; send?: string; closed: boolean[] }> = [
    { name: 'a connection that never sends a byte is closed after the idle timeout', limits: quick, open: 1, closed: [true] },
    {
      // Headers a byte at a time keep the idle timer from firing; headersTimeout still ends them.
      name: 'a request whose headers never end is closed after the headers timeout',
      limits: { ...quick, idleTimeoutMs: 60_000 },
      open: 1,
      send: 'GET /metrics HTTP/1.1\r\nHost: x\r\n',
      closed: [true],
    },
    {
      name: 'past maxConnections a new connection is closed at once, the others kept',
      limits: { ...METRICS_SERVER_LIMITS, maxConnections: 2 },
      open: 3,
      closed: [false, false, true],
    },
  ];
  for (const row of rows) {
    it(row.name, async function () {
      this.timeout(BOUND_MS * 2);
      const server = createMetricsServer(createMetrics(), row.limits);
      const sockets: Socket[] = [];
      try {
        server.listen(0, '127.0.0.1');
        await once(server, 'listening');
        const { port } = server.address() as AddressInfo;
        for (let index = 0; index < row.open; index++) sockets.push(await opened(port));
        if (row.send !== undefined) for (const socket of sockets) socket.write(row.send);
        const closed = await Promise.all(sockets.map((socket) => closedWithin(socket, BOUND_MS / 2)));
        expect(closed).to.deep.equal(row.closed);
      } finally {
        for (const socket of sockets) socket.destroy();
        server.closeAllConnections();
        server.close();
      }
    });
  }
});
