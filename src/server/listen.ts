/** Binding a listener, the one error that means the address is wrong or taken, and the errors that come after. */
import { once } from 'node:events';
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { CountedThrottle } from './throttle.js';

/**
 * The listener could not bind: the address is taken, not ours, or a --host that does not resolve
 * (getaddrinfo ENOTFOUND, EAI_AGAIN). A wrong setting, so the process exits 2 with one line.
 */
export class ListenError extends Error {
  override name = 'ListenError';
}

/**
 * Binds `server`, then hands `onError` every 'error' it emits from then on. A listening server emits one
 * when accept() fails: EMFILE or ENFILE once file descriptors run out, ENOBUFS or ENOMEM. Unheard, the
 * error ends the process, and with the webhook's failurePolicy Fail every Pod CREATE it covers fails
 * until it restarts. The listener stays open and libuv takes the next connection as soon as it can
 * (what Go's net/http does by sleeping and trying again), so the error is only to be reported.
 */
export async function listen(server: HttpsServer | HttpServer, port: number, host: string, onError: (error: Error) => void): Promise<void> {
  server.listen(port, host);
  try {
    await once(server, 'listening');
  } catch (error) {
    throw new ListenError(`cannot listen on ${host}:${port}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  server.on('error', onError);
}

/** Accept errors are logged at most once per this long, with how many there were. */
export const ACCEPT_ERROR_LOG_INTERVAL_MS = 10_000;

export interface AcceptErrorReport {
  /** Errors since the last report, this one included. */
  readonly errors: number;
  readonly error: Error;
}

/**
 * The first accept error is reported at once, later ones at most once per ACCEPT_ERROR_LOG_INTERVAL_MS,
 * counted. They can come in floods: once libuv has spent the descriptor it keeps in reserve for EMFILE,
 * it reports the error on every try while a connection waits, over and over within one turn of the loop.
 */
export class AcceptErrorLog {
  readonly #throttle: CountedThrottle;

  constructor(
    private readonly report: (failures: AcceptErrorReport) => void,
    now: () => number = () => performance.now(),
  ) {
    this.#throttle = new CountedThrottle(ACCEPT_ERROR_LOG_INTERVAL_MS, now);
  }

  failed(error: Error): void {
    const errors = this.#throttle.occurred();
    if (errors !== undefined) this.report({ errors, error });
  }
}
