/**
 * The load process: `node --import tsx load-client.ts PLAN.json`. A separate
 * process, so the server under test competes with a real client rather than
 * sharing its event loop. Open loop at a fixed rate on keep-alive connections,
 * bounded in time (durationMs) and count (rate x duration); writes a
 * LoadResult to plan.resultFile and exits 0.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { TLSSocket } from 'node:tls';
import { SEQUENCE_PLACEHOLDER, UID_PLACEHOLDER, type ConnectionSample, type LoadPlan, type LoadResult, type RequestRecord } from './load-plan.js';

const TICK_MS = 2;
/** How a connection fails when the server's listener is gone (refused) or closed with it in its queue (reset). */
const LISTENER_GONE = new Set(['ECONNREFUSED', 'ECONNRESET']);
const REQUEST_TIMEOUT_MS = 10_000;

interface Attempt {
  readonly status: number;
  readonly text: string;
  readonly closing: boolean;
  readonly fingerprint: string;
}

class AttemptError extends Error {
  /**
   * @param beforeHandshake the connection failed before its TLS handshake completed (refused, or reset
   *   in the queue of a listener that closed), so nothing of the request reached the server
   */
  constructor(readonly code: string, message: string, readonly beforeHandshake: boolean) {
    super(message);
  }
}

function attempt(port: number, path: string, body: string | undefined, agent: Agent | false, ca: string): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    let handshaken = false;
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: body === undefined ? 'GET' : 'POST',
        agent,
        ca,
        headers: body === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        const socket = res.socket;
        const fingerprint = socket instanceof TLSSocket ? (socket.getPeerX509Certificate()?.fingerprint256 ?? '') : '';
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), closing: res.headers.connection === 'close', fingerprint }),
        );
        res.on('error', (error) => reject(new AttemptError('response', error.message, false)));
      },
    );
    req.on('socket', (socket) => {
      // A kept-alive socket completed its handshake for an earlier request.
      if (req.reusedSocket) handshaken = true;
      else socket.once('secureConnect', () => (handshaken = true));
    });
    req.on('timeout', () => req.destroy(new AttemptError('ETIMEDOUT', `no answer within ${REQUEST_TIMEOUT_MS} ms`, !handshaken)));
    req.on('error', (error: NodeJS.ErrnoException) =>
      reject(error instanceof AttemptError ? error : new AttemptError(error.code ?? 'error', error.message, !handshaken)),
    );
    req.end(body);
  });
}

function judge(text: string, uid: string): { allowed?: boolean; error?: string } {
  try {
    const review = JSON.parse(text) as { response?: { uid?: unknown; allowed?: unknown } };
    if (review.response?.uid !== uid) return { error: `the answer echoed uid ${String(review.response?.uid)}, not ${uid}` };
    if (typeof review.response.allowed !== 'boolean') return { error: 'the answer has no allowed field' };
    return { allowed: review.response.allowed };
  } catch {
    return { error: `the answer is not JSON: ${text.slice(0, 200)}` };
  }
}

async function main(planFile: string): Promise<void> {
  const plan = JSON.parse(readFileSync(planFile, 'utf8')) as LoadPlan;
  const ca = readFileSync(plan.caFile, 'utf8');
  const agents = new Map(plan.targets.map((port) => [port, new Agent({ keepAlive: true, maxSockets: plan.connectionsPerTarget, ca })]));
  const requests: RequestRecord[] = [];
  const connections: ConnectionSample[] = [];
  const inFlight = new Set<Promise<void>>();
  let outstanding = 0;
  let skipped = 0;
  let sequence = 0;

  const send = async (index: number): Promise<void> => {
    const body = plan.bodies[index % plan.bodies.length];
    if (body === undefined) throw new Error('the plan has no bodies');
    const uid = `${process.pid}-${index}`;
    const text = body.body.replace(UID_PLACEHOLDER, uid).replaceAll(SEQUENCE_PLACEHOLDER, String(index));
    const sent = Date.now();
    let target = plan.targets[index % plan.targets.length] ?? 0;
    let attempts = 0;
    const retriedAfter: string[] = [];
    for (;;) {
      attempts++;
      try {
        const answer = await attempt(target, body.path, text, agents.get(target) ?? false, ca);
        const verdict = answer.status === 200 ? judge(answer.text, uid) : { error: `HTTP ${answer.status}: ${answer.text.slice(0, 200)}` };
        requests.push({ kind: body.kind, sent, received: Date.now(), target, attempts, retriedAfter, status: answer.status, closing: answer.closing, ...verdict });
        return;
      } catch (error) {
        const code = error instanceof AttemptError ? error.code : 'error';
        const beforeHandshake = error instanceof AttemptError && error.beforeHandshake;
        if (plan.retryBeforeHandshake && beforeHandshake && LISTENER_GONE.has(code) && attempts < plan.targets.length * 3) {
          retriedAfter.push(code);
          target = plan.targets[(plan.targets.indexOf(target) + 1) % plan.targets.length] ?? target;
          continue;
        }
        const stage = beforeHandshake ? 'before the TLS handshake completed' : 'after the TLS handshake';
        requests.push({ kind: body.kind, sent, received: Date.now(), target, attempts, retriedAfter, status: 0, closing: false, error: `${code} ${stage}: ${String(error)}` });
        return;
      }
    }
  };

  const sampleFreshConnection = async (target: number): Promise<void> => {
    const started = Date.now();
    try {
      const answer = await attempt(target, '/healthz', undefined, false, ca);
      connections.push({ target, started, finished: Date.now(), fingerprint: answer.fingerprint });
    } catch (error) {
      connections.push({ target, started, finished: Date.now(), fingerprint: '', error: String(error) });
    }
  };

  const track = (work: Promise<void>): void => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };

  const began = Date.now();
  process.stdout.write(`started ${began}\n`);
  const total = Math.floor((plan.ratePerSecond * plan.durationMs) / 1000);
  let nextSample = began;
  let lastTurn = began;
  let longestPause = { ms: 0, at: 0 };
  // The count bounds the loop; the time limit only guards against a stalled clock.
  while (sequence < total && Date.now() - began < plan.durationMs + 5_000) {
    const turn = Date.now();
    if (turn - lastTurn > longestPause.ms) longestPause = { ms: turn - lastTurn, at: lastTurn - began };
    lastTurn = turn;
    const due = Math.min(total, Math.ceil(((Date.now() - began) * plan.ratePerSecond) / 1000));
    while (sequence < due) {
      const index = sequence++;
      if (outstanding >= plan.maxOutstanding) {
        skipped++;
        continue;
      }
      outstanding++;
      track(send(index).finally(() => outstanding--));
    }
    if (plan.freshConnectionEveryMs > 0 && Date.now() >= nextSample) {
      nextSample += plan.freshConnectionEveryMs;
      for (const target of plan.targets) track(sampleFreshConnection(target));
    }
    await new Promise((resolve) => setTimeout(resolve, TICK_MS));
  }
  await Promise.all([...inFlight]);
  for (const agent of agents.values()) agent.destroy();

  const result: LoadResult = { requests, connections, skipped, longestPause };
  writeFileSync(plan.resultFile, JSON.stringify(result));
}

const planFile = process.argv[2];
if (planFile === undefined) {
  process.stderr.write('usage: load-client.ts PLAN.json\n');
  process.exit(2);
}
main(planFile).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`load client failed: ${String(error)}\n`);
    process.exit(1);
  },
);
