/**
 * The list and watch loop against a scripted API server on loopback (plain HTTP, which
 * KubeConfig allows only with insecure-skip-tls-verify): what it does on each answer a real
 * server can give. test/e2e/list-watch.test.ts runs it against a real kube-apiserver.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { startListWatch, type ListWatchOptions, type ListWatchTable } from '../../src/cluster/list-watch.js';
import { loopbackKubeConfig } from '../helpers/loopback-kubeconfig.js';
import { stalledAddress } from '../helpers/stalled-address.js';

interface Item {
  readonly name: string;
  readonly value: string;
}

type Handler = (res: ServerResponse, url: URL) => void;

const item = (name: string, value: string, resourceVersion = '1'): object => ({ metadata: { name, resourceVersion }, value });
const listOf = (resourceVersion: string, items: readonly unknown[], next?: string): Handler => (res) => {
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify({ kind: 'ThingList', metadata: { resourceVersion, ...(next === undefined ? {} : { continue: next }) }, items }));
};
const status = (code: number): Handler => (res) => {
  res.statusCode = code;
  res.end(JSON.stringify({ kind: 'Status', code, message: `status ${code}` }));
};
/** A refusal with a Retry-After header (none when `retryAfter` is undefined), as API Priority and Fairness (429) or an API server shutting down (503) answers. */
const refused = (code: 429 | 503, retryAfter?: string): Handler => (res) => {
  res.statusCode = code;
  res.setHeader('Content-Type', 'application/json');
  if (retryAfter !== undefined) res.setHeader('Retry-After', retryAfter);
  res.end(JSON.stringify({ kind: 'Status', code, reason: code === 429 ? 'TooManyRequests' : 'ServiceUnavailable', message: `status ${code}` }));
};
const line = (type: string, object: object): string => `${JSON.stringify({ type, object })}\n`;
/** Streams the lines, then ends the watch cleanly (as the server does at timeoutSeconds) or keeps it open. */
const events = (lines: readonly string[], then: 'end' | 'hold' | 'cut'): Handler => (res) => {
  res.setHeader('Content-Type', 'application/json');
  res.flushHeaders();
  for (const text of lines) res.write(text);
  if (then === 'end') res.end();
  if (then === 'cut') setTimeout(() => res.socket?.destroy(), 20);
};

/** Answered 200 at once, the lines sent only after `ms`, then held open: an error event that comes apart from the answer's headers. */
const answeredThen = (ms: number, lines: readonly string[]): Handler => (res) => {
  res.setHeader('Content-Type', 'application/json');
  res.flushHeaders();
  setTimeout(() => {
    for (const text of lines) res.write(text);
  }, ms);
};

/** The same answer, given only after `ms`: a watch that lives a while before its 410. */
const after = (ms: number, handler: Handler): Handler => (res, url) => {
  setTimeout(() => handler(res, url), ms);
};

interface Script {
  readonly lists: readonly Handler[];
  readonly watches: readonly Handler[];
}

/** A fake collection endpoint: answers list and watch requests from the script, then holds them open. */
async function scriptedServer(script: Script): Promise<{ server: Server; port: number; requests: URL[]; arrivals: number[] }> {
  const requests: URL[] = [];
  /** When each request came (performance.now()), in the order of `requests`. */
  const arrivals: number[] = [];
  let lists = 0;
  let watches = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    requests.push(url);
    arrivals.push(performance.now());
    const handler = url.searchParams.get('watch') === 'true' ? script.watches[watches++] : script.lists[lists++];
    if (handler === undefined) res.flushHeaders(); // held open until the server closes
    else handler(res, url);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port, requests, arrivals };
}

/** A loopback port nothing listens on: a connection to it is refused. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  server.close();
  await once(server, 'close');
  return address.port;
}

/** The kubeconfig for `port`, except that the requests numbered in `refused` (from 0) go to `closed`. */
function refusingConfig(port: number, closed: number, refused: readonly number[]): ListWatchOptions<Item>['config'] {
  const real = loopbackKubeConfig(port);
  const refusing = loopbackKubeConfig(closed).getCurrentCluster();
  let requests = 0;
  return {
    getCurrentCluster: () => (refused.includes(requests++) ? refusing : real.getCurrentCluster()),
    applyToHTTPSOptions: (options) => real.applyToHTTPSOptions(options),
  };
}

class RecordingTable implements ListWatchTable<Item> {
  readonly items = new Map<string, string>();
  replaced = 0;
  replace(objects: readonly Item[]): void {
    this.replaced++;
    this.items.clear();
    for (const object of objects) this.items.set(object.name, object.value);
  }
  upsert(object: Item): void {
    this.items.set(object.name, object.value);
  }
  remove(object: Item): void {
    this.items.delete(object.name);
  }
}

function decode(value: unknown): Item | undefined {
  if (typeof value !== 'object' || value === null || !('metadata' in value) || !('value' in value)) return undefined;
  const metadata: unknown = value.metadata;
  if (typeof metadata !== 'object' || metadata === null || !('name' in metadata) || typeof metadata.name !== 'string') return undefined;
  return typeof value.value === 'string' ? { name: metadata.name, value: value.value } : undefined;
}

/** Waits up to 10 s: on a loaded machine (the whole suite on two cores) a loop of relists paced at 20 ms can take seconds. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

interface Row {
  readonly name: string;
  readonly script: Script;
  /** The table once the loop has settled. */
  readonly items: Record<string, string>;
  readonly syncChanges: readonly boolean[];
  readonly lists: number;
  /** The continue token of each list request, in order (null for none); without it, no list sends one. */
  readonly listContinues?: ReadonlyArray<string | null>;
  /** The resourceVersion of each watch request, in order. */
  readonly watchedFrom: readonly string[];
  readonly errors: number;
  /**
   * How many lists at least must come RETRY_DELAY_MS or more after the request before them (a
   * lower bound only, so a slow machine cannot fail it): the lists that follow a failure.
   */
  readonly pacedLists: number;
  /**
   * The waits (ms) the loop asks for before each retry, in order. A row that names them hands the loop a
   * recording wait that takes RETRY_DELAY_MS whatever it is asked, so a Retry-After of seconds costs no seconds.
   */
  readonly waits?: readonly number[];
  /** The requests (counted from 0, lists and watches alike) sent to a closed port, as to an API server restarting; the server never sees them. */
  readonly refused?: readonly number[];
  /** What the loop's random source returns for each retry's jitter, in turn; without it, 0 (no jitter). */
  readonly random?: readonly number[];
  /** A part each error's message has, in order; without it, only the errors are counted. */
  readonly errorsSay?: readonly string[];
}

const RETRY_DELAY_MS = 20;
/** How long a resumed watch goes without an event before the table counts as in step (src/cluster/list-watch.ts, RESUME_SETTLE_MS). */
const SETTLE_MS = 250;
/** The longest wait a Retry-After gets (src/cluster/list-watch.ts). */
const MAX_RETRY_AFTER_MS = 30_000;
/** The share of a wait its jitter adds at most (src/cluster/list-watch.ts). */
const RETRY_JITTER = 0.5;
/** `ms` lengthened by the jitter for a draw of `random`, in whole milliseconds. */
const jittered = (ms: number, random: number): number => Math.round(ms * (1 + RETRY_JITTER * random));

const rows: readonly Row[] = [
  {
    name: 'lists, then applies added, modified and deleted objects from the watch',
    script: {
      lists: [listOf('10', [item('a', 'a1'), item('b', 'b1')])],
      watches: [events([line('ADDED', item('c', 'c1', '11')), line('MODIFIED', item('a', 'a2', '12')), line('DELETED', item('b', 'b1', '13'))], 'hold')],
    },
    items: { a: 'a2', c: 'c1' },
    syncChanges: [true],
    lists: 1,
    watchedFrom: ['10'],
    errors: 0,
    pacedLists: 0,
  },
  {
    name: 'follows the continue token through a paged list',
    script: { lists: [listOf('20', [item('a', 'a1')], 'page-2'), listOf('20', [item('b', 'b1')])], watches: [] },
    items: { a: 'a1', b: 'b1' },
    syncChanges: [true],
    lists: 2,
    listContinues: [null, 'page-2'],
    watchedFrom: ['20'],
    errors: 0,
    pacedLists: 0,
  },
  {
    name: 'resumes a watch the server ended from the last resourceVersion, bookmarks included, without listing again',
    script: {
      lists: [listOf('10', [item('a', 'a1')])],
      watches: [events([line('ADDED', item('b', 'b1', '11')), line('BOOKMARK', { metadata: { resourceVersion: '15' } })], 'end')],
    },
    items: { a: 'a1', b: 'b1' },
    syncChanges: [true],
    lists: 1,
    watchedFrom: ['10', '15'],
    errors: 0,
    pacedLists: 0,
  },
  {
    name: 'lists again at once after an ERROR event with code 410 (resourceVersion too old)',
    script: {
      lists: [listOf('10', [item('a', 'a1')]), listOf('30', [item('z', 'z1')])],
      watches: [after(3 * RETRY_DELAY_MS, events([line('ERROR', { kind: 'Status', code: 410, message: 'too old resource version' })], 'hold'))],
    },
    items: { z: 'z1' },
    syncChanges: [true],
    lists: 2,
    watchedFrom: ['10', '30'],
    errors: 0,
    pacedLists: 0,
  },
  {
    name: 'lists again at once when the watch is answered 410 Gone',
    script: { lists: [listOf('10', [item('a', 'a1')]), listOf('30', [item('z', 'z1')])], watches: [after(3 * RETRY_DELAY_MS, status(410))] },
    items: { z: 'z1' },
    syncChanges: [true],
    lists: 2,
    watchedFrom: ['10', '30'],
    errors: 0,
    pacedLists: 0,
  },
  {
    // Else a server that answers every watch so would be listed as fast as it answers.
    name: 'watches answered 410 right after their lists are failures: unsynced, each list after the delay',
    script: {
      lists: [listOf('10', [item('a', 'a1')]), listOf('20', [item('b', 'b1')]), listOf('30', [item('z', 'z1')])],
      watches: [status(410), events([line('ERROR', { kind: 'Status', code: 410, message: 'too old resource version' })], 'hold')],
    },
    items: { z: 'z1' },
    syncChanges: [true, false, true, false, true],
    lists: 3,
    watchedFrom: ['10', '20', '30'],
    errors: 2,
    pacedLists: 2,
  },
  {
    // Else a server (or a proxy) that ends every watch at once would be sent watches as fast as it answers them.
    name: 'a watch the server ends at once without an event is a failure: unsynced, listed again after the delay',
    script: { lists: [listOf('10', [item('a', 'a1')]), listOf('30', [item('z', 'z1')])], watches: [events([], 'end')] },
    items: { z: 'z1' },
    syncChanges: [true, false, true],
    lists: 2,
    watchedFrom: ['10', '30'],
    errors: 1,
    pacedLists: 1,
  },
  // As client-go's reflector: the API server still has the events since the last resourceVersion seen, and a list costs it most.
  {
    name: 'a watch cut mid-stream reports unsynced, waits the delay and watches again from the last resourceVersion seen, without listing',
    script: {
      lists: [listOf('10', [item('a', 'a1')])],
      watches: [events([line('ADDED', item('b', 'b1', '11')), '{"type":"ADD'], 'cut'), events([line('MODIFIED', item('a', 'a2', '12'))], 'hold')],
    },
    items: { a: 'a2', b: 'b1' },
    syncChanges: [true, false, true],
    lists: 1,
    watchedFrom: ['10', '11'],
    errors: 1,
    pacedLists: 0,
    waits: [RETRY_DELAY_MS],
    errorsSay: ['watch of /apis/example.com/v1/things: connection lost (aborted); watching again from resourceVersion 11 in 20 ms'],
  },
  {
    name: 'a watch cut before its first event is watched again from the list\'s resourceVersion',
    script: { lists: [listOf('10', [item('a', 'a1')])], watches: [events([], 'cut'), events([line('ADDED', item('b', 'b1', '11'))], 'hold')] },
    items: { a: 'a1', b: 'b1' },
    syncChanges: [true, false, true],
    lists: 1,
    watchedFrom: ['10', '10'],
    errors: 1,
    pacedLists: 0,
    waits: [RETRY_DELAY_MS],
  },
  {
    // Else the table would pass for in step, for as long as the error takes to come, without what changed while the watch was cut.
    name: 'a watch resumed after a cut, told too old 100 ms after its answer, never counts as in step before the new list',
    script: {
      lists: [listOf('10', [item('a', 'a1')]), listOf('30', [item('z', 'z1')])],
      watches: [events([], 'cut'), answeredThen(100, [line('ERROR', { kind: 'Status', code: 410, message: 'too old resource version' })])],
    },
    items: { z: 'z1' },
    syncChanges: [true, false, true],
    lists: 2,
    watchedFrom: ['10', '10', '30'],
    errors: 1,
    pacedLists: 0,
    waits: [RETRY_DELAY_MS],
  },
  {
    name: 'a malformed event reports unsynced, then lists again',
    script: { lists: [listOf('10', [item('a', 'a1')]), listOf('30', [item('z', 'z1')])], watches: [events(['not json\n'], 'hold')] },
    items: { z: 'z1' },
    syncChanges: [true, false, true],
    lists: 2,
    watchedFrom: ['10', '30'],
    errors: 1,
    pacedLists: 0,
  },
  {
    name: 'an event of an unknown type reports unsynced, then lists again',
    script: { lists: [listOf('10', [item('a', 'a1')]), listOf('30', [item('z', 'z1')])], watches: [events([line('SURPRISE', item('a', 'a9'))], 'hold')] },
    items: { z: 'z1' },
    syncChanges: [true, false, true],
    lists: 2,
    watchedFrom: ['10', '30'],
    errors: 1,
    pacedLists: 0,
  },
  {
    name: 'a failed list (HTTP 500) stays unsynced and is retried after the delay',
    script: { lists: [status(500), listOf('10', [item('a', 'a1')])], watches: [] },
    items: { a: 'a1' },
    syncChanges: [true],
    lists: 2,
    watchedFrom: ['10'],
    errors: 1,
    pacedLists: 1,
  },
  {
    // A list names no resourceVersion, so listing again at once gets the same answer: it would spin.
    name: 'a list answered 410 Gone is a failure like any other: unsynced, retried after the delay',
    script: { lists: [status(410), listOf('10', [item('a', 'a1')])], watches: [] },
    items: { a: 'a1' },
    syncChanges: [true],
    lists: 2,
    watchedFrom: ['10'],
    errors: 1,
    pacedLists: 1,
  },
  {
    name: 'lists answered 410 after a watch answered 410 report unsynced and each waits the delay',
    script: { lists: [listOf('10', [item('a', 'a1')]), status(410), status(410), listOf('30', [item('z', 'z1')])], watches: [after(3 * RETRY_DELAY_MS, status(410))] },
    items: { z: 'z1' },
    syncChanges: [true, false, true],
    lists: 4,
    watchedFrom: ['10', '30'],
    errors: 2,
    pacedLists: 2,
  },
  {
    name: 'a list without a resourceVersion is a failure, not a sync',
    script: { lists: [listOf('', [item('a', 'a1')]), listOf('10', [item('b', 'b1')])], watches: [] },
    items: { b: 'b1' },
    syncChanges: [true],
    lists: 2,
    watchedFrom: ['10'],
    errors: 1,
    pacedLists: 0,
  },
  {
    name: 'objects the decoder refuses are left out, never a crash',
    script: { lists: [listOf('10', [item('a', 'a1'), { metadata: { name: 'no-value' } }, 'text', null])], watches: [events([line('ADDED', { metadata: {} })], 'hold')] },
    items: { a: 'a1' },
    syncChanges: [true],
    lists: 1,
    watchedFrom: ['10'],
    errors: 0,
    pacedLists: 0,
  },
  {
    name: 'a list answered 429 with Retry-After: 3 waits 3 s, then lists again',
    script: { lists: [refused(429, '3'), listOf('10', [item('a', 'a1')])], watches: [] },
    items: { a: 'a1' },
    syncChanges: [true],
    lists: 2,
    watchedFrom: ['10'],
    errors: 1,
    pacedLists: 1,
    waits: [3_000],
  },
  {
    name: 'a list answered 503 with Retry-After: 2 waits 2 s, then lists again',
    script: { lists: [refused(503, '2'), listOf('10', [item('a', 'a1')])], watches: [] },
    items: { a: 'a1' },
    syncChanges: [true],
    lists: 2,
    watchedFrom: ['10'],
    errors: 1,
    pacedLists: 1,
    waits: [2_000],
  },
  {
    name: 'a later list page answered 429 with Retry-After: 1 waits 1 s, then lists from the first page',
    script: { lists: [listOf('20', [item('a', 'a1')], 'page-2'), refused(429, '1'), listOf('20', [item('a', 'a1')], 'page-2'), listOf('20', [item('b', 'b1')])], watches: [] },
    items: { a: 'a1', b: 'b1' },
    syncChanges: [true],
    lists: 4,
    listContinues: [null, 'page-2', null, 'page-2'],
    watchedFrom: ['20'],
    errors: 1,
    pacedLists: 1,
    waits: [1_000],
  },
  // What is not a number of seconds, or asks for less than the loop's delay, gets the loop's delay; more than the cap gets the cap.
  ...(
    [
      ['no Retry-After', 429, undefined, RETRY_DELAY_MS],
      ['Retry-After as an HTTP-date', 429, 'Wed, 21 Oct 2015 07:28:00 GMT', RETRY_DELAY_MS],
      ['Retry-After: soon', 503, 'soon', RETRY_DELAY_MS],
      ['Retry-After: -1', 429, '-1', RETRY_DELAY_MS],
      ['Retry-After: 1.5', 429, '1.5', RETRY_DELAY_MS],
      ['Retry-After: 0x10', 429, '0x10', RETRY_DELAY_MS],
      ['an empty Retry-After', 503, '', RETRY_DELAY_MS],
      ['Retry-After: 0 (less than the delay)', 429, '0', RETRY_DELAY_MS],
      ['Retry-After: 3600 (more than the cap)', 503, '3600', MAX_RETRY_AFTER_MS],
      ['a Retry-After of 400 digits', 429, '9'.repeat(400), MAX_RETRY_AFTER_MS],
    ] as const
  ).map(
    ([what, code, retryAfter, wait]): Row => ({
      name: `a list answered ${code} with ${what} waits ${wait} ms`,
      script: { lists: [refused(code, retryAfter), listOf('10', [item('a', 'a1')])], watches: [] },
      items: { a: 'a1' },
      syncChanges: [true],
      lists: 2,
      watchedFrom: ['10'],
      errors: 1,
      pacedLists: 1,
      waits: [wait],
    }),
  ),
  {
    // As client-go's reflector: a LIST is what costs an overloaded API server most.
    name: 'a watch answered 429 with Retry-After: 3 is unsynced, waits 3 s and watches again from the same resourceVersion, without listing',
    script: { lists: [listOf('10', [item('a', 'a1')])], watches: [refused(429, '3'), events([line('ADDED', item('b', 'b1', '11'))], 'hold')] },
    items: { a: 'a1', b: 'b1' },
    syncChanges: [true, false, true],
    lists: 1,
    watchedFrom: ['10', '10'],
    errors: 1,
    pacedLists: 0,
    waits: [3_000],
  },
  {
    name: 'a watch answered 429 after a resumed watch watches again from the last resourceVersion seen, bookmarks included',
    script: {
      lists: [listOf('10', [item('a', 'a1')])],
      watches: [events([line('ADDED', item('b', 'b1', '11')), line('BOOKMARK', { metadata: { resourceVersion: '15' } })], 'end'), refused(429), events([], 'hold')],
    },
    items: { a: 'a1', b: 'b1' },
    syncChanges: [true, false, true],
    lists: 1,
    watchedFrom: ['10', '15', '15'],
    errors: 1,
    pacedLists: 0,
    waits: [RETRY_DELAY_MS],
  },
  {
    name: 'watches answered 429 again and again are each waited for and sent again from the same resourceVersion, never a list',
    script: { lists: [listOf('10', [item('a', 'a1')])], watches: [refused(429, '2'), refused(429, 'soon'), refused(429, '60'), events([], 'hold')] },
    items: { a: 'a1' },
    syncChanges: [true, false, true],
    lists: 1,
    watchedFrom: ['10', '10', '10', '10'],
    errors: 3,
    pacedLists: 0,
    waits: [2_000, RETRY_DELAY_MS, MAX_RETRY_AFTER_MS],
  },
  {
    // The reflector takes an ERROR event's Status as the watch's error, so a 429 there is backed off the same way.
    name: 'an ERROR event with code 429 waits its retryAfterSeconds and watches again from the last resourceVersion seen',
    script: {
      lists: [listOf('10', [item('a', 'a1')])],
      watches: [events([line('ADDED', item('b', 'b1', '11')), line('ERROR', { kind: 'Status', code: 429, reason: 'TooManyRequests', details: { retryAfterSeconds: 2 } })], 'hold'), events([], 'hold')],
    },
    items: { a: 'a1', b: 'b1' },
    syncChanges: [true, false, true],
    lists: 1,
    watchedFrom: ['10', '11'],
    errors: 1,
    pacedLists: 0,
    waits: [2_000],
  },
  {
    name: 'a watch answered 503 with Retry-After: 2 waits 2 s and lists again (only a 429 is watched again)',
    script: { lists: [listOf('10', [item('a', 'a1')]), listOf('30', [item('z', 'z1')])], watches: [refused(503, '2')] },
    items: { z: 'z1' },
    syncChanges: [true, false, true],
    lists: 2,
    watchedFrom: ['10', '30'],
    errors: 1,
    pacedLists: 1,
    waits: [2_000],
  },
  {
    // As client-go's reflector: a server that refuses connections is most likely restarting, and the watch can resume where it ended.
    name: 'a watch whose connection is refused is unsynced, waits the delay and watches again from the last resourceVersion, without listing',
    script: {
      lists: [listOf('10', [item('a', 'a1')])],
      watches: [events([line('ADDED', item('b', 'b1', '11')), line('BOOKMARK', { metadata: { resourceVersion: '15' } })], 'end'), events([line('ADDED', item('c', 'c1', '16'))], 'hold')],
    },
    refused: [2, 3],
    items: { a: 'a1', b: 'b1', c: 'c1' },
    syncChanges: [true, false, true],
    lists: 1,
    watchedFrom: ['10', '15'],
    errors: 2,
    errorsSay: ['ECONNREFUSED', 'ECONNREFUSED'].map((code) => `${code} 127.0.0.1:CLOSED; watching again from resourceVersion 15 in ${RETRY_DELAY_MS} ms`),
    pacedLists: 0,
    waits: [RETRY_DELAY_MS, RETRY_DELAY_MS],
  },
  {
    name: 'the first watch after a list, its connection refused, is sent again from the list\'s resourceVersion',
    script: { lists: [listOf('10', [item('a', 'a1')])], watches: [events([line('ADDED', item('b', 'b1', '11'))], 'hold')] },
    refused: [1],
    items: { a: 'a1', b: 'b1' },
    syncChanges: [true, false, true],
    lists: 1,
    watchedFrom: ['10'],
    errors: 1,
    errorsSay: [`ECONNREFUSED 127.0.0.1:CLOSED; watching again from resourceVersion 10 in ${RETRY_DELAY_MS} ms`],
    pacedLists: 0,
    waits: [RETRY_DELAY_MS],
  },
  {
    name: 'a list whose connection is refused is listed again after the delay',
    script: { lists: [listOf('10', [item('a', 'a1')])], watches: [] },
    refused: [0],
    items: { a: 'a1' },
    syncChanges: [true],
    lists: 1,
    watchedFrom: ['10'],
    errors: 1,
    errorsSay: ['ECONNREFUSED 127.0.0.1:CLOSED'],
    pacedLists: 0,
    waits: [RETRY_DELAY_MS],
  },
  {
    name: 'a watch sent again after a refused connection and answered 410 Gone lists again at once',
    script: { lists: [listOf('10', [item('a', 'a1')]), listOf('30', [item('z', 'z1')])], watches: [status(410)] },
    refused: [1],
    items: { z: 'z1' },
    syncChanges: [true, false, true],
    lists: 2,
    watchedFrom: ['10', '30'],
    errors: 1,
    pacedLists: 0,
    waits: [RETRY_DELAY_MS],
  },
  // As client-go's wait.Jitter: the wait is lengthened by up to RETRY_JITTER of itself, so replicas restarted together spread out.
  {
    name: 'failed lists wait the delay lengthened by the jitter drawn for each',
    script: { lists: [status(500), status(500), status(500), listOf('10', [item('a', 'a1')])], watches: [] },
    random: [0.5, 0.9, 0],
    items: { a: 'a1' },
    syncChanges: [true],
    lists: 4,
    watchedFrom: ['10'],
    errors: 3,
    pacedLists: 3,
    waits: [jittered(RETRY_DELAY_MS, 0.5), jittered(RETRY_DELAY_MS, 0.9), RETRY_DELAY_MS],
  },
  {
    name: 'a watch whose connection is refused waits the delay lengthened by its jitter',
    script: { lists: [listOf('10', [item('a', 'a1')])], watches: [events([], 'hold')] },
    refused: [1],
    random: [0.5],
    items: { a: 'a1' },
    syncChanges: [true, false, true],
    lists: 1,
    watchedFrom: ['10'],
    errors: 1,
    pacedLists: 0,
    waits: [jittered(RETRY_DELAY_MS, 0.5)],
  },
  {
    // Never shorter than the server asked, never past the cap.
    name: 'a Retry-After is lengthened by the jitter up to the cap, never shortened',
    script: { lists: [refused(429, '2'), refused(503, '25'), refused(429, '3600'), listOf('10', [item('a', 'a1')])], watches: [] },
    random: [0.5, 0.5, 0.5],
    items: { a: 'a1' },
    syncChanges: [true],
    lists: 4,
    watchedFrom: ['10'],
    errors: 3,
    pacedLists: 3,
    waits: [jittered(2_000, 0.5), MAX_RETRY_AFTER_MS, MAX_RETRY_AFTER_MS],
  },
  {
    name: 'a watch answered 429 waits its Retry-After lengthened by the jitter',
    script: { lists: [listOf('10', [item('a', 'a1')])], watches: [refused(429, '4'), events([], 'hold')] },
    random: [0.25],
    items: { a: 'a1' },
    syncChanges: [true, false, true],
    lists: 1,
    watchedFrom: ['10', '10'],
    errors: 1,
    pacedLists: 0,
    waits: [jittered(4_000, 0.25)],
  },
  {
    // The table is known to lack what changed while the watch was refused: a list that takes seconds must not pass for in step.
    name: 'a watch sent again after a 429 and ended by an ERROR event 410 past the settling time is unsynced again while it lists',
    script: {
      lists: [listOf('10', [item('a', 'a1')]), listOf('30', [item('z', 'z1')])],
      watches: [refused(429), answeredThen(SETTLE_MS + 100, [line('ERROR', { kind: 'Status', code: 410, message: 'too old resource version' })])],
    },
    items: { z: 'z1' },
    syncChanges: [true, false, true, false, true],
    lists: 2,
    watchedFrom: ['10', '10', '30'],
    errors: 1,
    pacedLists: 0,
    waits: [RETRY_DELAY_MS],
  },
  {
    name: 'a watch sent again after a refused connection and ended by an ERROR event 410 past the settling time is unsynced again while it lists',
    script: {
      lists: [listOf('10', [item('a', 'a1')]), listOf('30', [item('z', 'z1')])],
      watches: [answeredThen(SETTLE_MS + 100, [line('ERROR', { kind: 'Status', code: 410, message: 'too old resource version' })])],
    },
    refused: [1],
    items: { z: 'z1' },
    syncChanges: [true, false, true, false, true],
    lists: 2,
    watchedFrom: ['10', '30'],
    errors: 1,
    pacedLists: 0,
    waits: [RETRY_DELAY_MS],
  },
  {
    // The 410 comes with the answer, as the API server sends it: the table never passes for in step before the list.
    name: 'a watch sent again after a 429 and ended at once by an ERROR event 410 stays unsynced until the new list',
    script: {
      lists: [listOf('10', [item('a', 'a1')]), listOf('30', [item('z', 'z1')])],
      watches: [refused(429), events([line('ERROR', { kind: 'Status', code: 410, message: 'too old resource version' })], 'hold')],
    },
    items: { z: 'z1' },
    syncChanges: [true, false, true],
    lists: 2,
    watchedFrom: ['10', '10', '30'],
    errors: 1,
    pacedLists: 0,
    waits: [RETRY_DELAY_MS],
  },
  {
    name: 'a watch sent again after a 429 and answered 410 Gone lists again at once',
    script: { lists: [listOf('10', [item('a', 'a1')]), listOf('30', [item('z', 'z1')])], watches: [refused(429), status(410)] },
    items: { z: 'z1' },
    syncChanges: [true, false, true],
    lists: 2,
    watchedFrom: ['10', '10', '30'],
    errors: 1,
    pacedLists: 0,
    waits: [RETRY_DELAY_MS],
  },
];

describe('cluster/list-watch', () => {
  for (const row of rows) {
    it(row.name, async () => {
      const { server, port, requests, arrivals } = await scriptedServer(row.script);
      const table = new RecordingTable();
      const syncChanges: boolean[] = [];
      const errors: Error[] = [];
      const waits: number[] = [];
      const recordingWait = (ms: number, signal: AbortSignal): Promise<void> => {
        waits.push(ms);
        return new Promise((resolve) => {
          const timer = setTimeout(resolve, RETRY_DELAY_MS);
          signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
        });
      };
      const randoms = [...(row.random ?? [])];
      const closed = row.refused === undefined ? undefined : await closedPort();
      const watch = startListWatch({
        config: closed === undefined ? loopbackKubeConfig(port) : refusingConfig(port, closed, row.refused ?? []),
        path: '/apis/example.com/v1/things',
        decode,
        table,
        retryDelayMs: RETRY_DELAY_MS,
        pageSize: 2,
        random: () => randoms.shift() ?? 0,
        onSyncChange: (synced) => syncChanges.push(synced),
        onError: (error) => errors.push(error),
        ...(row.waits === undefined ? {} : { wait: recordingWait }),
      });
      try {
        const watches = (): URL[] => requests.filter((url) => url.searchParams.get('watch') === 'true');
        await until(() => watches().length >= row.watchedFrom.length && syncChanges.length >= row.syncChanges.length, 'the loop to settle');
        // Room for anything the row does not expect (another list, a late event) to happen and fail it.
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(Object.fromEntries(table.items)).to.deep.equal(row.items);
        expect(syncChanges).to.deep.equal(row.syncChanges);
        expect(watch.synced).to.equal(true);
        const lists = requests.filter((url) => url.searchParams.get('watch') !== 'true');
        expect(lists.length, 'lists').to.equal(row.lists);
        expect(lists.map((url) => url.searchParams.get('continue')), 'continue tokens').to.deep.equal(row.listContinues ?? lists.map(() => null));
        expect(lists.map((url) => url.searchParams.get('limit')), 'page sizes').to.deep.equal(lists.map(() => '2'));
        expect(watches().map((url) => url.searchParams.get('resourceVersion'))).to.deep.equal(row.watchedFrom);
        expect(errors.map((error) => error.message), 'errors').to.have.length(row.errors);
        if (row.errorsSay !== undefined) {
          const says = row.errorsSay.map((part) => part.replace('CLOSED', String(closed)));
          expect(errors.map((error, i) => error.message.includes(says[i] ?? '') || error.message), 'errors say').to.deep.equal(says.map(() => true));
        }
        expect(requests.every((url) => url.pathname === '/apis/example.com/v1/things')).to.equal(true);
        // 1 ms for timers that round down.
        const paced = requests.filter((url, i) => i > 0 && url.searchParams.get('watch') !== 'true' && (arrivals[i] ?? 0) - (arrivals[i - 1] ?? 0) >= RETRY_DELAY_MS - 1);
        expect(paced.length, 'lists that came after the retry delay').to.be.at.least(row.pacedLists);
        if (row.waits !== undefined) expect(waits, 'waits before retries (ms)').to.deep.equal(row.waits);
      } finally {
        await watch.stop();
        server.closeAllConnections();
        server.close();
      }
      expect(watch.synced, 'after stop').to.equal(false);
    });
  }

  it('a resumed watch the server ends without an event, past the short-watch bound, makes the table synced at its end', async () => {
    // The settling time is set far beyond the watch, so only the watch's end can make the table synced before the next watch.
    const script: Script = { lists: [listOf('10', [item('a', 'a1')])], watches: [refused(429), after(600, events([], 'end'))] };
    const { server, port, requests, arrivals } = await scriptedServer(script);
    const syncedAt: number[] = [];
    const watch = startListWatch({
      config: loopbackKubeConfig(port),
      path: '/apis/example.com/v1/things',
      decode,
      table: new RecordingTable(),
      retryDelayMs: RETRY_DELAY_MS,
      watchTimeoutSeconds: 1,
      resumeSettleMs: 60_000,
      random: () => 0,
      onSyncChange: (synced) => {
        if (synced) syncedAt.push(performance.now());
      },
    });
    try {
      const watches = (): number[] => requests.flatMap((url, i) => (url.searchParams.get('watch') === 'true' ? [arrivals[i] ?? 0] : []));
      await until(() => watches().length >= 3 && syncedAt.length >= 2, 'the watch after the resumed one');
      expect(requests.filter((url) => url.searchParams.get('watch') !== 'true'), 'lists').to.have.length(1);
      const [, resumedSync] = syncedAt;
      const [, , nextWatch] = watches();
      expect(resumedSync, 'synced again').to.be.a('number');
      expect(nextWatch, 'the watch after the resumed one').to.be.a('number');
      expect(resumedSync ?? Infinity, 'synced again before the next watch was sent').to.be.below(nextWatch ?? 0);
    } finally {
      await watch.stop();
      server.closeAllConnections();
      server.close();
    }
  });

  it('sends the kubeconfig token and asks for bookmarks and pages', async () => {
    const seen: Array<{ authorization: string | undefined; url: URL }> = [];
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      seen.push({ authorization: req.headers.authorization, url });
      if (url.searchParams.get('watch') === 'true') res.flushHeaders();
      else listOf('7', [])(res, url);
    }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const watch = startListWatch({ config: loopbackKubeConfig(address.port), path: '/api/v1/namespaces', decode, table: new RecordingTable(), watchTimeoutSeconds: 42, pageSize: 9 });
    try {
      await until(() => seen.length >= 2, 'a list and a watch');
      expect(seen.map((request) => request.authorization)).to.deep.equal(['Bearer secret', 'Bearer secret']);
      expect(Object.fromEntries(seen[0]?.url.searchParams ?? [])).to.deep.equal({ limit: '9' });
      expect(Object.fromEntries(seen[1]?.url.searchParams ?? [])).to.deep.equal({ watch: 'true', resourceVersion: '7', allowWatchBookmarks: 'true', timeoutSeconds: '42' });
    } finally {
      await watch.stop();
      server.closeAllConnections();
      server.close();
    }
  });
});

/** What the request after the first `good` ones meets: a credential lookup, a connection or an answer that never comes. */
type Stall = 'credentials' | 'connection' | 'headers' | 'list body';

interface DeadlineRow {
  readonly name: string;
  readonly stall: Stall;
  /** Requests (list, watch, watch resume, ...) that go through before every later one stalls. */
  readonly good: number;
  readonly syncChanges: readonly boolean[];
  /** What every error reported must say; `PORT` stands for the port the stalled request went to. */
  readonly error: string;
}

const REQUEST_TIMEOUT_MS = 200;

const deadlineRows: readonly DeadlineRow[] = [
  { name: 'a credential lookup that never returns fails the first list, again after each delay', stall: 'credentials', good: 0, syncChanges: [], error: 'GET /apis/example.com/v1/things: no credentials from the kubeconfig (exec plugin or auth provider) in 0.2 s' },
  { name: 'a credential lookup that never returns for a watch resume marks the table unsynced', stall: 'credentials', good: 2, syncChanges: [true, false], error: 'GET /apis/example.com/v1/things: no credentials from the kubeconfig (exec plugin or auth provider) in 0.2 s' },
  { name: 'an address that never accepts the connection fails the first list, again after each delay', stall: 'connection', good: 0, syncChanges: [], error: 'GET /apis/example.com/v1/things: no connection to 127.0.0.1:PORT in 0.2 s' },
  { name: 'an address that never accepts the connection of a watch resume marks the table unsynced', stall: 'connection', good: 2, syncChanges: [true, false], error: 'GET /apis/example.com/v1/things: no connection to 127.0.0.1:PORT in 0.2 s' },
  { name: 'a watch whose headers never come marks the table unsynced', stall: 'headers', good: 1, syncChanges: [true, false], error: 'GET /apis/example.com/v1/things: no answer in 0.2 s' },
  { name: 'a list page whose body never ends is a failure', stall: 'list body', good: 0, syncChanges: [], error: 'GET /apis/example.com/v1/things: answer not complete in 0.2 s' },
];

/** A server answering lists with one object and ending watches after a bookmark, until it stalls as `stall` says. */
async function stallingServer(stall: Stall, good: number): Promise<{ server: Server; port: number }> {
  let served = 0;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const watch = url.searchParams.get('watch') === 'true';
    if (served++ >= good && stall === 'headers') return; // never answered
    if (served > good && stall === 'list body' && !watch) {
      res.writeHead(200, { 'Content-Type': 'application/json' }).write('{"kind":"ThingList","items":[');
      return;
    }
    if (watch) events([line('BOOKMARK', { metadata: { resourceVersion: '10' } })], 'end')(res, url);
    else listOf('10', [item('a', 'a1')])(res, url);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port };
}

/** The real kubeconfig for `port`, but after `good` requests each one stalls as `stall` says. */
function stallingConfig(port: number, stall: Stall, good: number, stalledPort: number): ListWatchOptions<Item>['config'] {
  const real = loopbackKubeConfig(port);
  const stalledCluster = loopbackKubeConfig(stalledPort).getCurrentCluster();
  let clusters = 0;
  let lookups = 0;
  return {
    getCurrentCluster: () => (stall === 'connection' && clusters++ >= good ? stalledCluster : real.getCurrentCluster()),
    applyToHTTPSOptions: (options) => (stall === 'credentials' && lookups++ >= good ? new Promise<void>(() => undefined) : real.applyToHTTPSOptions(options)),
  };
}

async function within<T>(ms: number, work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not done in ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

describe('cluster/list-watch deadline: credential lookup, connection and answer', () => {
  for (const row of deadlineRows) {
    it(row.name, async () => {
      const { server, port } = await stallingServer(row.stall, row.good);
      const stalled = row.stall === 'connection' ? await stalledAddress() : undefined;
      const syncChanges: boolean[] = [];
      const errors: Error[] = [];
      const watch = startListWatch({
        config: stallingConfig(port, row.stall, row.good, stalled?.port ?? port),
        path: '/apis/example.com/v1/things',
        decode,
        table: new RecordingTable(),
        retryDelayMs: RETRY_DELAY_MS,
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
        onSyncChange: (synced) => syncChanges.push(synced),
        onError: (error) => errors.push(error),
      });
      try {
        // Two failures: the cycle is retried after the delay, and fails the same way again.
        for (let attempt = 0; attempt < 300 && errors.length < 2; attempt++) await new Promise((resolve) => setTimeout(resolve, 10));
        expect(errors.length, 'failures within 3 s').to.be.at.least(2);
        const expected = row.error.replace('PORT', String(stalled?.port));
        expect(errors.map((error) => error.message)).to.deep.equal(errors.map(() => expected));
        expect(syncChanges).to.deep.equal(row.syncChanges);
        expect(watch.synced).to.equal(false);
      } finally {
        await within(2_000, watch.stop(), 'stop()');
        server.closeAllConnections();
        server.close();
        await stalled?.close();
      }
    });
  }

  const stopRows: ReadonlyArray<{ name: string; stall: 'credentials' | 'connection' }> = [
    { name: 'stop() ends at once while a credential lookup hangs', stall: 'credentials' },
    { name: 'stop() ends at once while a connection attempt hangs', stall: 'connection' },
  ];
  for (const row of stopRows) {
    it(row.name, async () => {
      const { server, port } = await stallingServer(row.stall, 0);
      const stalled = row.stall === 'connection' ? await stalledAddress() : undefined;
      // The production deadline: stop() must not wait for it.
      const watch = startListWatch({ config: stallingConfig(port, row.stall, 0, stalled?.port ?? port), path: '/apis/example.com/v1/things', decode, table: new RecordingTable() });
      try {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const started = performance.now();
        await within(2_000, watch.stop(), 'stop()');
        expect(performance.now() - started).to.be.below(1_000);
      } finally {
        await within(2_000, watch.stop(), 'stop()');
        server.closeAllConnections();
        server.close();
        await stalled?.close();
      }
    });
  }
});
