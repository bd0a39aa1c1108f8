/**
 * One deadline for a request to the API server, started before its credentials are looked up
 * and covering the connection and the answer. Neither step has a bound of its own:
 * KubeConfig.applyToHTTPSOptions may run an exec credential plugin, which the library gives no
 * timeout (a plugin that hangs or prompts never returns, and cannot be cancelled), and Node's
 * req.setTimeout starts only once a connection is up, while the kubeconfig's agents set no
 * connect timeout (an address that drops packets is given up by the kernel after some 2 minutes).
 * When the deadline passes, the request fails with an error naming the step it was in.
 *
 * A lookup given up keeps running (an exec plugin keeps its process), and the library starts a new
 * plugin on every lookup that finds no cached token, so each retry would leave one more behind.
 * Hence lookups are shared per KubeConfig: a request that comes while one runs waits for that one,
 * under its own deadline and stop signal, unless it has already outlived a whole deadline (a plugin
 * can hang once and answer the next time); then a new one starts beside it, up to MAX_LOOKUPS_IN_FLIGHT.
 */
import type http from 'node:http';
import type https from 'node:https';
import type { IncomingMessage } from 'node:http';
import { TLSSocket } from 'node:tls';
import type { KubeConfig } from './kubeconfig.js';

type Step = 'credentials' | 'connection' | 'answer' | 'rest of the answer';

export class RequestDeadline {
  readonly #controller = new AbortController();
  readonly #timer: NodeJS.Timeout;
  #step: Step = 'credentials';

  /** `label` begins each message ("GET /api/v1/namespaces"); `host` is the server's host:port. */
  constructor(
    private readonly label: string,
    private readonly host: string,
    private readonly ms: number,
  ) {
    this.#timer = setTimeout(() => this.#controller.abort(new Error(this.#message())), ms);
  }

  /**
   * The kubeconfig's TLS and auth applied to `options`, or a rejection when the deadline or `stop`
   * passes first. A lookup given up is left running (nothing can cancel it) for the next request to join,
   * until it has outlived a whole deadline (see sharedLookup).
   */
  async credentials(config: CredentialSource, options: CredentialOptions, stop?: AbortSignal): Promise<void> {
    const signals = stop === undefined ? [this.#controller.signal] : [this.#controller.signal, stop];
    const { headers, ...applied } = await untilAborted(sharedLookup(config, this.ms), signals);
    Object.assign(options, applied);
    if (headers !== undefined) options.headers = { ...options.headers, ...headers };
    this.#step = 'connection';
  }

  /** Destroys `req` (or its answer, once it has one) with the deadline's error when it passes. */
  track(req: http.ClientRequest): void {
    let response: IncomingMessage | undefined;
    const expire = (): void => {
      (response ?? req).destroy(this.#controller.signal.reason instanceof Error ? this.#controller.signal.reason : new Error(this.#message()));
    };
    if (this.#controller.signal.aborted) expire();
    else this.#controller.signal.addEventListener('abort', expire, { once: true });
    req.once('socket', (socket) => {
      if (req.reusedSocket) {
        this.#reached('answer');
        return;
      }
      // Back to 'connection' when a request sent again, after a reused connection failed, opens a new one.
      this.#reached('connection');
      socket.once(socket instanceof TLSSocket ? 'secureConnect' : 'connect', () => this.#reached('answer'));
    });
    req.once('response', (answer: IncomingMessage) => {
      response = answer;
      this.#reached('rest of the answer');
    });
  }

  /** Whether the deadline has passed (the request then fails with its error). */
  get passed(): boolean {
    return this.#controller.signal.aborted;
  }

  /** Ends the deadline; call once the request is done (or, for a watch, once its headers are in). */
  clear(): void {
    clearTimeout(this.#timer);
  }

  #reached(step: Step): void {
    if (!this.#controller.signal.aborted) this.#step = step;
  }

  #message(): string {
    const seconds = `${this.ms / 1000} s`;
    switch (this.#step) {
      case 'credentials':
        return `${this.label}: no credentials from the kubeconfig (exec plugin or auth provider) in ${seconds}`;
      case 'connection':
        return `${this.label}: no connection to ${this.host} in ${seconds}`;
      case 'answer':
        return `${this.label}: no answer in ${seconds}`;
      case 'rest of the answer':
        return `${this.label}: answer not complete in ${seconds}`;
    }
  }
}

type CredentialSource = Pick<KubeConfig, 'applyToHTTPSOptions'>;
/** Request options whose headers are an object, to which a lookup's headers are added. */
export type CredentialOptions = Omit<https.RequestOptions, 'headers'> & { headers?: http.OutgoingHttpHeaders };
type Applied = CredentialOptions;

/** A lookup in flight, and when it began (monotonic ms). */
interface Lookup {
  readonly result: Promise<Applied>;
  readonly startedAt: number;
}

/**
 * How many lookups of one config may be in flight at once. One that outlived a whole request deadline is
 * taken for hung and a new one is started beside it (a plugin can hang once and answer the next time), but
 * no more than this many: a plugin that always hangs leaves at most this many processes behind.
 */
export const MAX_LOOKUPS_IN_FLIGHT = 3;

const lookups = new WeakMap<CredentialSource, Lookup[]>();

/**
 * What applyToHTTPSOptions sets (headers, ca, cert, key, agent, rejectUnauthorized, servername, auth), from a
 * lookup in flight for `config` younger than `maxAgeMs`, or from a new one (the newest in flight once there are
 * MAX_LOOKUPS_IN_FLIGHT). It runs on an object of its own, as it mutates the one it is given, and every request
 * copies from it.
 */
function sharedLookup(config: CredentialSource, maxAgeMs: number): Promise<Applied> {
  const running = lookups.get(config) ?? [];
  const newest = running.at(-1);
  if (newest !== undefined && (performance.now() - newest.startedAt < maxAgeMs || running.length >= MAX_LOOKUPS_IN_FLIGHT)) return newest.result;
  const applied: Applied = {};
  // Called a tick later, so that even one that throws at once settles after it is registered.
  const result = Promise.resolve()
    .then(() => config.applyToHTTPSOptions(applied))
    .then(() => applied);
  const lookup = { result, startedAt: performance.now() };
  lookups.set(config, [...running, lookup]);
  // Registered first, so forgotten before any request resumes. Its failure is reported by the requests that waited.
  const forget = (): void => {
    const left = (lookups.get(config) ?? []).filter((other) => other !== lookup);
    if (left.length === 0) lookups.delete(config);
    else lookups.set(config, left);
  };
  result.then(forget, forget);
  return result;
}

/** `work`'s outcome, or a rejection with the reason of the first of `signals` to abort. */
function untilAborted<T>(work: Promise<T>, signals: readonly AbortSignal[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = (event: Event): void => {
      done();
      reject(event.target instanceof AbortSignal ? event.target.reason : new Error('aborted'));
    };
    const done = (): void => {
      for (const signal of signals) signal.removeEventListener('abort', onAbort);
    };
    const aborted = signals.find((signal) => signal.aborted);
    if (aborted !== undefined) {
      reject(aborted.reason);
      // Still settles later; this keeps its rejection from counting as unhandled.
      work.catch(() => undefined);
      return;
    }
    for (const signal of signals) signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        done();
        resolve(value);
      },
      (error: unknown) => {
        done();
        reject(error);
      },
    );
  });
}
