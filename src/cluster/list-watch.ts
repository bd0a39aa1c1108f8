/**
 * A list and watch of one kind of Kubernetes object over node:https, keeping a
 * caller's table in step: what an informer does, without loading a generated
 * client. Auth and TLS come from a KubeConfig (src/cluster/kubeconfig.ts) for every
 * request, so rotating tokens and exec plugins work as in kubectl.
 *
 * The loop: list (in pages), hand the table every object (`replace`), report synced,
 * watch from the list's resourceVersion, hand the table each change. A watch the
 * server ends (its timeout) is resumed from the last resourceVersion seen, unless it
 * ended within a second without an event (then it is a failure, as below); a watch
 * answered 410 Gone (its resourceVersion is too old) is followed by a new list at
 * once, unless the list before it began less than `retryDelayMs` ago (then it is a
 * failure, as below, so relists come at most once per delay); any other failure (an error status, a malformed event, and
 * a list answered 410, which the same list would get again at once, or, for a later
 * page, an expired continue token) reports unsynced and lists again after
 * `retryDelayMs`: meanwhile no Pod gets a host path that needs the table (fail closed).
 *
 * An answer 429 Too Many Requests (API Priority and Fairness) or 503 Service Unavailable
 * to a list or a watch is such a failure, but the wait before the next request is its
 * `Retry-After` in seconds (delta-seconds only; an HTTP-date or anything else is ignored),
 * never less than `retryDelayMs` nor more than MAX_RETRY_AFTER_MS. A watch answered 429
 * (or ended by an ERROR event with code 429, whose Status `details.retryAfterSeconds`
 * stands for the header) is not followed by a list, as in client-go's reflector: after the
 * wait the watch is sent again from the last resourceVersion seen, and the table, unsynced
 * meanwhile, is synced again once that watch has settled: answered 200 and then either an event
 * other than an error, its end, or RESUME_SETTLE_MS without a word (the events since then follow;
 * a 410 to it means a new list as above, with the table unsynced until that list is in, since
 * it lacks what changed while the watch was refused). A full list is what costs an overloaded server most.
 * A watch whose connection is refused (ECONNREFUSED: most likely an API server restarting), or
 * breaks once answered (cut, reset, or silent past its end), is taken the same way, as by the
 * reflector: unsynced, and after `retryDelayMs` watched again from the last resourceVersion seen,
 * without a list; a list whose connection fails is a failure as any.
 *
 * Every wait before a retry, `retryDelayMs` or a Retry-After, is lengthened at random by up to RETRY_JITTER
 * of itself (client-go's wait.Jitter), so replicas restarted together do not retry in lock-step; a
 * Retry-After's wait is never shortened by it, nor lengthened past MAX_RETRY_AFTER_MS.
 *
 * Each list page, and each watch until its answer's headers, must be done within
 * `requestTimeoutMs`, counted from before the kubeconfig's credentials are looked up, so a
 * hung exec plugin or an address that drops packets is a failure like the others, not a
 * table that says synced while it no longer follows the server (src/cluster/request-deadline.ts).
 */
import type http from 'node:http';
import { apiRequest, readAnswer, type ApiRequestConfig, type RequestTarget } from './api-request.js';
import { retryAfterSecondsOf, sleep } from './retry-after.js';

/** Where the objects go. `replace` gets the whole list after each (re-)list. */
export interface ListWatchTable<T> {
  replace(objects: readonly T[]): void;
  upsert(object: T): void;
  remove(object: T): void;
}

export interface ListWatchOptions<T> {
  readonly config: ApiRequestConfig;
  /** The collection, e.g. /api/v1/namespaces or /apis/mountgate.io/v1alpha1/mountpolicies (all namespaces). */
  readonly path: string;
  /** Turns one JSON object from the server into a T, or undefined for one to ignore. */
  readonly decode: (value: unknown) => T | undefined;
  readonly table: ListWatchTable<T>;
  /** Called on every change of the synced state (true once a list has been applied, false after a failure). */
  readonly onSyncChange?: (synced: boolean) => void;
  /** Called for each failure before the retry; the loop goes on regardless. */
  readonly onError?: (error: Error) => void;
  readonly retryDelayMs?: number;
  /** How long the server keeps one watch open before ending it (it is then resumed). */
  readonly watchTimeoutSeconds?: number;
  /**
   * How long past watchTimeoutSeconds a watch may stay open before it is taken for dead (a connection
   * that died without a word); the two together bound how long a silent watch goes unnoticed.
   */
  readonly watchGraceMs?: number;
  /** Objects per list page. */
  readonly pageSize?: number;
  /** How long a list page, or a watch until its headers, may take, the credential lookup and connection included. */
  readonly requestTimeoutMs?: number;
  /**
   * How long a watch sent again after a failure, once answered 200, may go without an event before the table counts as
   * in step (RESUME_SETTLE_MS unless replaced).
   */
  readonly resumeSettleMs?: number;
  /** A number in [0, 1) for each retry's jitter (RETRY_JITTER); Math.random unless replaced (the tests fix it). */
  readonly random?: () => number;
  /** How the loop waits `ms` before a retry, done early once `signal` aborts; a timer unless replaced (the tests record the waits). */
  readonly wait?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface ListWatch {
  readonly synced: boolean;
  /**
   * Ends the loop and any request in flight; resolves once none is left. A credential lookup that hangs
   * (an exec plugin) cannot be killed and is left running: at most MAX_LOOKUPS_IN_FLIGHT per KubeConfig,
   * shared by the requests that use it (src/cluster/request-deadline.ts).
   */
  stop(): Promise<void>;
}

const DEFAULTS = { retryDelayMs: 5_000, watchTimeoutSeconds: 300, watchGraceMs: 60_000, pageSize: 500, requestTimeoutMs: 30_000 };
/** A watch the server ends sooner than this (or than half its timeout) without an event is a failure, not resumed at once. */
const SHORT_WATCH_MS = 1_000;
/**
 * A watch sent again after a failure is answered 200 before the API server has said whether it can resume from the
 * resourceVersion asked: one too old gets its 410 as the first event, right after the answer's headers. Until that
 * first event, or this long without one, the table is not taken for in step (fail closed); the API server sends the
 * 410 at once, and a watch with nothing to tell may send nothing for a minute.
 */
export const RESUME_SETTLE_MS = 250;
/** The largest list page, error body or watch event read; far above what a page of `pageSize` objects takes. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;
/**
 * The longest wait a Retry-After gets: the cap of client-go's reflector backoff, and the request deadline. The
 * table is unsynced while the loop waits (no host path is admitted that needs it), so a server asking for
 * minutes, or a number of seconds that means no retry at all, must not keep it so for longer.
 */
export const MAX_RETRY_AFTER_MS = 30_000;
/**
 * The most each wait before a retry is lengthened at random, as a share of it (client-go's wait.Jitter), so that
 * replicas restarted together, or failed together by one API server restart, do not send their lists and
 * watches in lock-step. The reflector's backoff takes 1.0; the table is unsynced while the loop waits (fail
 * closed), so this keeps that to at most half a wait more.
 */
export const RETRY_JITTER = 0.5;

/** The server answered 410 Gone: the resourceVersion is too old; list again. */
class Gone extends Error {
  override name = 'Gone';
}

/**
 * The server answered 429 Too Many Requests or 503 Service Unavailable (an HTTP status, or a watch's ERROR
 * event); `retryAfterSeconds` is what it asked to be waited, if it asked in a form the loop reads.
 * `resourceVersion`, for an ERROR event, is the last one the watch had seen.
 */
class Overloaded extends Error {
  override name = 'Overloaded';
  constructor(
    message: string,
    readonly status: 429 | 503,
    readonly retryAfterSeconds: number | undefined,
    readonly resourceVersion?: string,
  ) {
    super(message);
  }
}

/** A watch answered 200 whose connection then broke (cut, reset, or silent past its end); `resourceVersion` is the last one it had seen. */
class WatchBroken extends Error {
  override name = 'WatchBroken';
  constructor(
    message: string,
    readonly resourceVersion: string,
  ) {
    super(message);
  }
}

class Stopped extends Error {
  override name = 'Stopped';
}

/** Starts the loop in the background; see the module comment. */
export function startListWatch<T>(options: ListWatchOptions<T>): ListWatch {
  const retryDelayMs = options.retryDelayMs ?? DEFAULTS.retryDelayMs;
  const wait = options.wait ?? sleep;
  const random = options.random ?? Math.random;
  const abort = new AbortController();
  let synced = false;
  const setSynced = (value: boolean): void => {
    if (synced === value) return;
    synced = value;
    options.onSyncChange?.(value);
  };

  const loop = async (): Promise<void> => {
    let listedAt = 0;
    /** After a watch answered 429, or whose connection was refused or broke: where the next watch starts, in place of a list. */
    let resumeFrom: string | undefined;
    while (!abort.signal.aborted) {
      // Only a watch's 410 is cured by a new list; a list's 410 would come back at once, every time.
      let watching = false;
      let version = resumeFrom;
      /** The watch about to be sent comes after a failure, not after a list: the table lacks what changed meanwhile until its events come. */
      let resumed = resumeFrom !== undefined;
      resumeFrom = undefined;
      try {
        if (version === undefined) {
          listedAt = performance.now();
          const listed = await list(options, abort.signal);
          options.table.replace(listed.objects);
          setSynced(true);
          version = listed.resourceVersion;
        }
        watching = true;
        // A watch sent again after a 429 or a refused or broken connection has the table in step once it has settled: the events since `version` follow.
        for (;;) {
          version = await watch(options, version, abort.signal, resumed, () => setSynced(true));
          resumed = false;
        }
      } catch (error) {
        if (abort.signal.aborted) return;
        // A server whose watches are all too old for the list just made would otherwise be listed as fast as it answers.
        const relistNow = watching && error instanceof Gone && performance.now() - listedAt >= retryDelayMs;
        if (relistNow) {
          // A resumed watch told too old after its settling time has made the table synced without what changed while it
          // was down: not in step until the list is in (fail closed). A watch that follows one the server ended is, up to
          // its last event.
          if (resumed) setSynced(false);
          continue;
        }
        setSynced(false);
        const failure = error instanceof Error ? error : new Error(String(error));
        const delayMs = retryDelayFor(error, retryDelayMs, random());
        // A refused connection is most likely an API server restarting, a broken one a connection lost on the way (client-go's
        // reflector): either way the API server answers the watch again where it ended.
        if (watching && ((error instanceof Overloaded && error.status === 429) || isConnectionRefused(error) || error instanceof WatchBroken)) {
          resumeFrom = (error instanceof Overloaded || error instanceof WatchBroken ? error.resourceVersion : undefined) ?? version;
          options.onError?.(new Error(`${failure.message}; watching again from resourceVersion ${String(resumeFrom)} in ${delayMs} ms`));
        } else if (error instanceof Overloaded) {
          options.onError?.(new Error(`${failure.message}; listing again in ${delayMs} ms`));
        } else {
          options.onError?.(watching && error instanceof Gone ? new Error(`${failure.message}, within ${retryDelayMs} ms of the list before it`) : failure);
        }
        await wait(delayMs, abort.signal);
      }
    }
  };
  const running = loop();

  return {
    get synced() {
      return synced;
    },
    async stop() {
      abort.abort(new Stopped('stopped'));
      await running;
      setSynced(false);
    },
  };
}

/**
 * The wait before the next request, in whole ms: `retryDelayMs`, or an overloaded server's Retry-After within
 * [retryDelayMs, MAX_RETRY_AFTER_MS], lengthened by up to RETRY_JITTER of itself for a `random` in [0, 1).
 * A Retry-After's wait is never shortened, and lengthened no further than the cap.
 */
function retryDelayFor(error: unknown, retryDelayMs: number, random: number): number {
  const asked = error instanceof Overloaded && error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : undefined;
  const base = asked === undefined ? retryDelayMs : Math.max(retryDelayMs, Math.min(asked, MAX_RETRY_AFTER_MS));
  const jittered = Math.max(base, Math.round(base * (1 + RETRY_JITTER * random)));
  return asked === undefined ? jittered : Math.max(base, Math.min(jittered, MAX_RETRY_AFTER_MS));
}

/** Whether `error` is a connection refused (ECONNREFUSED), also as one of the attempts of a connection to several addresses. */
function isConnectionRefused(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if ('code' in error && error.code === 'ECONNREFUSED') return true;
  return error instanceof AggregateError && error.errors.some(isConnectionRefused);
}

interface Listed<T> {
  readonly objects: T[];
  readonly resourceVersion: string;
}

async function list<T>(options: ListWatchOptions<T>, signal: AbortSignal): Promise<Listed<T>> {
  const objects: T[] = [];
  let next: string | undefined;
  for (;;) {
    const query = new URLSearchParams({ limit: String(options.pageSize ?? DEFAULTS.pageSize) });
    if (next !== undefined) query.set('continue', next);
    const text = await request(options, `${options.path}?${query.toString()}`, signal, (response, target) => readAnswer(response, target, MAX_BODY_BYTES, signal));
    const page = readList(text, options.path);
    for (const item of page.items) {
      const object = options.decode(item);
      if (object !== undefined) objects.push(object);
    }
    if (page.continue === undefined) return { objects, resourceVersion: page.resourceVersion };
    next = page.continue;
  }
}

interface ListPage {
  readonly items: readonly unknown[];
  readonly resourceVersion: string;
  readonly continue: string | undefined;
}

function readList(text: string, path: string): ListPage {
  const value: unknown = JSON.parse(text);
  const metadata = field(value, 'metadata');
  const items = field(value, 'items');
  const resourceVersion = field(metadata, 'resourceVersion');
  const next = field(metadata, 'continue');
  if (!Array.isArray(items) && items !== null) throw new Error(`list of ${path}: no items array`);
  if (typeof resourceVersion !== 'string' || resourceVersion === '') throw new Error(`list of ${path}: no resourceVersion`);
  return { items: Array.isArray(items) ? items : [], resourceVersion, continue: typeof next === 'string' && next !== '' ? next : undefined };
}

/**
 * Watches from `resourceVersion` until the server ends the watch; returns the last resourceVersion seen.
 * `onInStep` is called once the server has answered 200; for a watch `resumed` after a failure, once it has
 * also sent an event other than an error, ended, or sent nothing for `resumeSettleMs` (RESUME_SETTLE_MS).
 */
async function watch<T>(options: ListWatchOptions<T>, resourceVersion: string, signal: AbortSignal, resumed: boolean, onInStep: () => void): Promise<string> {
  const timeoutSeconds = options.watchTimeoutSeconds ?? DEFAULTS.watchTimeoutSeconds;
  const query = new URLSearchParams({ watch: 'true', resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) });
  const sentAt = performance.now();
  const response = await request(options, `${options.path}?${query.toString()}`, signal, async (headers) => headers);
  const settle = resumed ? setTimeout(onInStep, options.resumeSettleMs ?? RESUME_SETTLE_MS) : undefined;
  if (!resumed) onInStep();
  let version = resourceVersion;
  // A connection that died without a word would otherwise leave the watch waiting for ever.
  const deadMs = timeoutSeconds * 1000 + (options.watchGraceMs ?? DEFAULTS.watchGraceMs);
  const deadline = setTimeout(() => response.destroy(new WatchBroken(`watch of ${options.path}: no end after ${deadMs / 1000} s`, version)), deadMs);
  let events = 0;
  let buffered = '';
  try {
    response.setEncoding('utf8');
    const chunks: AsyncIterator<unknown> = response[Symbol.asyncIterator]();
    for (;;) {
      let next: IteratorResult<unknown>;
      try {
        next = await chunks.next();
      } catch (error) {
        // Only the connection fails here; what the events say fails below, and is no broken connection.
        if (error instanceof WatchBroken) throw error;
        throw new WatchBroken(`watch of ${options.path}: connection lost (${error instanceof Error ? error.message : String(error)})`, version);
      }
      if (next.done === true) break;
      buffered += String(next.value);
      if (buffered.length > MAX_BODY_BYTES) throw new Error(`watch of ${options.path}: an event larger than ${MAX_BODY_BYTES} bytes`);
      for (let newline = buffered.indexOf('\n'); newline !== -1; newline = buffered.indexOf('\n')) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.trim() === '') continue;
        version = applyEvent(options, line, version);
        events++;
        // An event, not an error: the API server resumes from where the watch asked.
        if (events === 1 && resumed) onInStep();
      }
    }
    // Ended without the chunked terminator: the connection was cut, not closed by the server's timeout.
    if (!response.complete) throw new WatchBroken(`watch of ${options.path}: connection lost`, version);
    if (buffered.trim() !== '') {
      version = applyEvent(options, buffered, version);
      events++;
    }
    // As client-go's reflector: resumed at once, a watch that a server (or a proxy) always ends so would be sent as fast as it answers.
    // Counted from before the request, and never as long as the timeout asked for, so that a watch ended at its timeout is not one.
    const lasted = performance.now() - sentAt;
    if (events === 0 && lasted < Math.min(SHORT_WATCH_MS, (timeoutSeconds * 1000) / 2)) throw new Error(`watch of ${options.path}: ended by the server after ${Math.round(lasted)} ms without an event`);
    // Ended by the server, not told too old: a resumed watch had nothing to tell.
    if (resumed) onInStep();
  } finally {
    clearTimeout(settle);
    clearTimeout(deadline);
    response.destroy();
  }
  return version;
}

function applyEvent<T>(options: ListWatchOptions<T>, line: string, version: string): string {
  const event: unknown = JSON.parse(line);
  const type = field(event, 'type');
  const object = field(event, 'object');
  if (type === 'ERROR') {
    const code = field(object, 'code');
    if (code === 410) throw new Gone(`watch of ${options.path}: resourceVersion ${version} is too old`);
    if (code === 429) {
      const seconds = field(field(object, 'details'), 'retryAfterSeconds');
      const retryAfterSeconds = typeof seconds === 'number' && Number.isInteger(seconds) && seconds >= 0 ? seconds : undefined;
      throw new Overloaded(`watch of ${options.path}: ${String(field(object, 'message') ?? 'too many requests')} (code 429)`, 429, retryAfterSeconds, version);
    }
    throw new Error(`watch of ${options.path}: ${String(field(object, 'message') ?? 'error event')} (code ${String(code)})`);
  }
  const next = field(field(object, 'metadata'), 'resourceVersion');
  if (type === 'BOOKMARK') return typeof next === 'string' ? next : version;
  if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') throw new Error(`watch of ${options.path}: unknown event type ${String(type)}`);
  const decoded = options.decode(object);
  if (decoded !== undefined) {
    if (type === 'DELETED') options.table.remove(decoded);
    else options.table.upsert(decoded);
  }
  return typeof next === 'string' && next !== '' ? next : version;
}

function field(value: unknown, key: string): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return Object.prototype.hasOwnProperty.call(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

/**
 * A GET with the kubeconfig's TLS and auth, its 200 answer handed to `read`; rejects on any other
 * answer (Gone for 410, Overloaded for 429 and 503 with the answer's Retry-After). One deadline of
 * `requestTimeoutMs` covers the credential lookup, the connection, and the answer until `read` is
 * done (a watch's `read` returns at the headers).
 */
function request<R>(options: ListWatchOptions<unknown>, pathAndQuery: string, signal: AbortSignal, read: (response: http.IncomingMessage, target: RequestTarget) => Promise<R>): Promise<R> {
  const timeoutMs = options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs;
  return apiRequest(options.config, { method: 'GET', pathAndQuery, headers: { Accept: 'application/json' }, timeoutMs, signal }, async (answer, target) => {
    if (answer.statusCode === 200) return read(answer, target);
    const status = answer.statusCode ?? 0;
    const body = await readAnswer(answer, target, MAX_BODY_BYTES, signal);
    if (status === 410) throw new Gone(`${target.url.pathname}: 410 Gone`);
    const message = `${target.label}: HTTP ${status}: ${body.slice(0, 300)}`;
    if (status === 429 || status === 503) {
      const header = answer.headers['retry-after'];
      throw new Overloaded(header === undefined ? message : `${message} (Retry-After: ${header.slice(0, 40)})`, status, retryAfterSecondsOf(header));
    }
    throw new Error(message);
  });
}
