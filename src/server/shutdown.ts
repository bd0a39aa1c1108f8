/**
 * Closing a listener without dropping a request: stop accepting, let
 * in-flight requests finish, close connections as they fall idle, and only
 * cut what is still open after the timeout.
 */
import type { Server } from 'node:http';

const IDLE_SWEEP_MS = 50;

export async function closeGracefully(server: Server, timeoutMs: number): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive connections go idle after their last response; close each as it does.
  const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
  const deadline = setTimeout(() => server.closeAllConnections(), timeoutMs);
  try {
    server.closeIdleConnections();
    await closed;
  } finally {
    clearInterval(sweep);
    clearTimeout(deadline);
  }
}
