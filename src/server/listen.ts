/** Binding a listener, and the one error that means the address is wrong or taken. */
import { once } from 'node:events';
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';

/**
 * The listener could not bind: the address is taken, not ours, or a --host that does not resolve
 * (getaddrinfo ENOTFOUND, EAI_AGAIN). A wrong setting, so the process exits 2 with one line.
 */
export class ListenError extends Error {
  override name = 'ListenError';
}

export async function listen(server: HttpsServer | HttpServer, port: number, host: string): Promise<void> {
  server.listen(port, host);
  try {
    await once(server, 'listening');
  } catch (error) {
    throw new ListenError(`cannot listen on ${host}:${port}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
