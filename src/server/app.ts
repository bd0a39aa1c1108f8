/**
 * The HTTP routes. Each admission request climbs a ladder of guards (JSON,
 * size, AdmissionReview shape) before the decision core sees it; every answer
 * is built by admission/response.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express, { type ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import { decide, type Stage } from '../admission/decide.js';
import { judgeMountPolicyWrite } from '../admission/mount-policy-write.js';
import { describeThrown, errored, fromVerdict, toReview, type AdmissionResponse } from '../admission/response.js';
import { readAdmissionReview, type AdmissionRequest } from '../admission/review.js';
import type { ClusterFacts } from '../admission/pod-security.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { errorBody } from './error-body.js';
import type { NamespaceLevels } from './namespace-cache.js';
import type { LiveState } from './live-state.js';
import { BodyError, declaresEncoding, declaresTooLong, plainJsonLength, readPlainJson } from './json-body.js';
import type { Metrics, Result } from './metrics.js';

export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export interface Lifecycle {
  /** False from the moment SIGTERM arrives. */
  readonly ready: boolean;
  /** True from SIGTERM on: every answer closes its connection, so clients reconnect elsewhere. */
  readonly closing: boolean;
}

export interface AppContext {
  readonly state: LiveState;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly lifecycle: Lifecycle;
  /** Present when the Pod Security preflight is on. */
  readonly namespaceLevels?: NamespaceLevels;
  /** Present with --mount-policies. */
  readonly mountPolicies?: MountPolicyContext;
}

export interface MountPolicyContext {
  /** The cluster policy in force narrowed by the namespace's MountPolicies, from a cache (never an API call). */
  policyFor(namespace: string | undefined): CompiledPolicy;
  /** False until the MountPolicies have been listed once: not ready till then. */
  readonly everSynced: boolean;
}

/** The endpoint label of a review: a Pod stage, or a MountPolicy write. */
type Endpoint = Stage | 'mountpolicy';
const MOUNT_POLICY_PATH = '/validate-mountpolicy';

const STAGES: Readonly<Record<string, Stage>> = { '/mutate': 'mutate', '/validate': 'validate' };
/** A Map, so that no path can reach an inherited property. */
const DIRECT_ROUTES: ReadonlyMap<string, Stage> = new Map(Object.entries(STAGES));

/**
 * The request listener. POST /mutate and POST /validate, spelled exactly so (the
 * API server always does), go straight to the admission handler; everything
 * else, including other spellings express would route to the same handler
 * (/MUTATE, /mutate/), goes through express. Both reach the same code; the
 * direct way only skips express's router and response helpers, which cost
 * about a tenth of the server's CPU per review.
 */
export function createApp(context: AppContext): RequestListener {
  // Encoded bodies are refused before they reach it (handleAdmission): body-parser would read them to the end first.
  const parseJson = express.json({ limit: MAX_BODY_BYTES, type: 'application/json', strict: true, inflate: false });
  const app = createExpressApp(context, parseJson);
  return (req, res) => {
    if (context.lifecycle.closing) res.setHeader('Connection', 'close');
    const stage = req.method === 'POST' ? DIRECT_ROUTES.get(pathOf(req.url)) : undefined;
    if (stage === undefined) app(req, res);
    else handleAdmission(stage, req, res, context, parseJson);
  };
}

/** A path as express's router matched it: any case, one trailing "/" allowed (`/MUTATE/` is `/mutate`). */
function routeOf(path: string): string {
  const lower = path.toLowerCase();
  return lower.length > 1 && lower.endsWith('/') ? lower.slice(0, -1) : lower;
}

/** The methods a route takes, for a 405's Allow (express answers HEAD wherever it answers GET); undefined for a path that is no route at all (404). */
function allowedMethodsOf(route: string, mountPolicyRoute: string | undefined): readonly string[] | undefined {
  if (DIRECT_ROUTES.has(route) || route === mountPolicyRoute) return ['POST'];
  return route === '/healthz' || route === '/readyz' ? ['GET', 'HEAD'] : undefined;
}

/** The path of a request target, without the query (the API server appends ?timeout=10s). */
function pathOf(url: string | undefined): string {
  if (url === undefined) return '';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

type JsonParser = ReturnType<typeof express.json>;

function createExpressApp(context: AppContext, parseJson: JsonParser): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);

  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });
  app.get('/readyz', (_req, res) => {
    if (!context.lifecycle.ready) res.status(503).type('text/plain').send('shutting down\n');
    else if (context.mountPolicies?.everSynced === false) res.status(503).type('text/plain').send('MountPolicies not listed yet\n');
    else res.type('text/plain').send('ok\n');
  });

  for (const [path, stage] of Object.entries(STAGES)) {
    app.post(path, (req, res) => handleAdmission(stage, req, res, context, parseJson));
  }
  const mountPolicyRoute = context.mountPolicies === undefined ? undefined : MOUNT_POLICY_PATH;
  if (mountPolicyRoute !== undefined) app.post(mountPolicyRoute, (req, res) => handleAdmission('mountpolicy', req, res, context, parseJson));

  // Node would read and drop a body left unread here until the request timeout: only a bounded rest is dropped.
  app.use((req, res) => {
    const closeAfter = takeConnectionClose(res);
    const allowedMethods = allowedMethodsOf(routeOf(req.path), mountPolicyRoute);
    if (allowedMethods === undefined) {
      sendError(res, 404, `no route for ${req.path}`);
    } else {
      res.setHeader('Allow', allowedMethods.join(', '));
      sendError(res, 405, `${req.path} takes ${allowedMethods.join(' or ')}`);
    }
    lingerThenCut(req, closeAfter);
  });

  // The admission handler answers its own errors; anything else that fails is answered alike.
  const errors: ErrorRequestHandler = (error: unknown, req, res, _next) => {
    const route = routeOf(req.path);
    refuseBody(route === mountPolicyRoute ? 'mountpolicy' : DIRECT_ROUTES.get(route), error, res, context);
  };
  app.use(errors);
  return app;
}

/**
 * One admission review: the JSON body (read directly when plain, as the API
 * server sends it, and otherwise by express.json, so limits, charsets and
 * error messages are body-parser's), then the guards and the decision. Errors
 * are answered here, as express's error handler did before.
 */
function handleAdmission(stage: Endpoint, req: IncomingMessage, res: ServerResponse, context: AppContext, parseJson: JsonParser): void {
  const withBody = (error: unknown, body: unknown): void => {
    // The headers may have come before the drain began. Only a body all in may close with its answer: with
    // some of it unread, lingerThenCut drops the rest first (closing with unread data resets the connection).
    if (context.lifecycle.closing && req.complete && !res.headersSent) res.setHeader('Connection', 'close');
    if (error !== undefined) {
      refuseBody(stage, error, res, context);
      return;
    }
    try {
      admit(stage, body, res, context);
    } catch (failure) {
      refuseBody(stage, failure, res, context);
    }
  };
  const plainLength = plainJsonLength(req, MAX_BODY_BYTES);
  // A plain body is within the limit; another may declare more.
  if (plainLength === undefined && declaresTooLong(req, MAX_BODY_BYTES)) {
    refuseUnread(stage, req, res, context, tooLarge());
    return;
  }
  if (declaresEncoding(req)) {
    const encoding = req.headers['content-encoding'] ?? '';
    refuseUnread(stage, req, res, context, new BodyError(415, `the body is encoded (Content-Encoding: ${encoding}); mountgate reads AdmissionReviews as the API server sends them, unencoded`));
    return;
  }
  // The body budget and the length have passed: only now is a client that asked invited to send the body
  // (Node leaves it to the server's checkContinue listener).
  if (plainLength !== undefined) {
    if (continueExpected(req)) res.writeContinue();
    readPlainJson(req, plainLength, withBody);
    return;
  }
  // A chunked body declares no length to refuse it by: counted as it comes (body-parser's listeners are added in
  // this same turn, before any data is emitted).
  let received = 0;
  const count = (chunk: Buffer): void => {
    received += chunk.length;
    if (received <= MAX_BODY_BYTES) return;
    req.off('data', count);
    refuseUnread(stage, req, res, context, tooLarge());
  };
  req.on('data', count);
  // body-parser sets req.body only for a JSON content type.
  let settled = false;
  parseJson(req, res, (error?: unknown) => {
    settled = true;
    req.off('data', count);
    if (res.headersSent) return;
    const body: unknown = 'body' in req ? req.body : undefined;
    if (req.complete) {
      withBody(error, body);
      return;
    }
    // body-parser leaves a body it refuses unread (another type, an unknown charset): answered now, and its rest
    // dropped within the same bounds as after an early 413 rather than read until the request timeout.
    const closeAfter = takeConnectionClose(res);
    withBody(error, body);
    lingerThenCut(req, closeAfter);
  });
  // body-parser refuses a type or charset it does not read before it reads a byte, in this same turn: such a body
  // is not invited.
  if (!settled && continueExpected(req)) res.writeContinue();
}

const CONTINUE_EXPECTED = /(?:^|\W)100-continue(?:$|\W)/i;

/**
 * Whether Node held the body back for checkContinue, by its own test (lib/_http_server.js): a repeated header
 * arrives joined ("100-continue, 100-continue"), and a client left uninvited waits until the request timeout.
 * HTTP/1.0 has no interim answers: its client would take "100 Continue" for the answer.
 */
function continueExpected(req: IncomingMessage): boolean {
  const expectation = req.headers.expect;
  return req.httpVersionMajor === 1 && req.httpVersionMinor === 1 && expectation !== undefined && CONTINUE_EXPECTED.test(expectation);
}

/** A body over the limit, named as body-parser names it. */
function tooLarge(): BodyError {
  return new BodyError(413, 'request entity too large');
}

/**
 * Whether the answer was to close the connection, taking that off it: Node would close at once after such an
 * answer, and closing with unread data resets the connection, so the client can lose the answer.
 */
function takeConnectionClose(res: ServerResponse): boolean {
  const closeAfter = res.getHeader('Connection') === 'close';
  res.removeHeader('Connection');
  return closeAfter;
}

/**
 * body-parser answers a body it refuses (over the limit, undecodable) only once it has read all of it, however
 * long: the edge answers before reading it, or at the limit, and drops a bounded rest.
 */
function refuseUnread(stage: Endpoint, req: IncomingMessage, res: ServerResponse, context: AppContext, error: BodyError): void {
  if (res.headersSent) return;
  // A draining server's answer closes the connection: only after the rest is dropped.
  const closeAfter = takeConnectionClose(res);
  refuseBody(stage, error, res, context);
  lingerThenCut(req, closeAfter);
}

/** How much of a refused body is still read and dropped after its 413, and for how long, before the connection is cut. */
export const LINGER_BYTES = 8 * 1024 * 1024;
export const LINGER_MS = 2_000;

/**
 * After an early 413 the client is often still sending: closing a connection with
 * unread data resets it, and the client can lose the answer. So the rest is read
 * and dropped (the connection then serves on, or is closed when the answer was
 * to close it), up to LINGER_BYTES or LINGER_MS; past either, the connection is cut.
 */
function lingerThenCut(req: IncomingMessage, closeAfter: boolean): void {
  const socket = req.socket;
  const done = (): void => {
    if (closeAfter) socket.end();
  };
  if (req.complete) {
    done();
    return;
  }
  let dropped = 0;
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  const drop = (chunk: Buffer): void => {
    dropped += chunk.length;
    if (dropped > LINGER_BYTES) socket.destroy();
  };
  req.on('data', drop);
  req.once('close', () => {
    clearTimeout(timer);
    req.off('data', drop);
    done();
  });
}

/** Body readers' 400s that say the body did not all come, not that it was not JSON (both readers word them so). */
const CUT_SHORT: ReadonlySet<string> = new Set(['request aborted', 'request size did not match content length']);

function refuseBody(stage: Endpoint | undefined, error: unknown, res: ServerResponse, context: AppContext): void {
  const status = httpStatusOf(error);
  const message = describeThrown(error);
  const reason =
    status === 413
      ? `the body is larger than ${MAX_BODY_BYTES} bytes`
      : status === 400
        ? CUT_SHORT.has(message)
          ? `the body did not all come: ${message}`
          : `the body is not valid JSON: ${message}`
        : error instanceof Error
          ? message
          : 'internal error';
  refuse(stage, res, context, status, reason);
}

function admit(stage: Endpoint, body: unknown, res: ServerResponse, context: AppContext): void {
  const started = process.hrtime.bigint();
  if (body === undefined) {
    refuse(stage, res, context, 400, 'expected a JSON AdmissionReview with Content-Type: application/json');
    return;
  }
  const review = readAdmissionReview(body);
  if (!review.ok) {
    refuse(stage, res, context, 400, `not an admission.k8s.io/v1 AdmissionReview: ${review.problems.join('; ')}`);
    return;
  }

  const request = review.request;
  let response: AdmissionResponse;
  let result: Result;
  try {
    const verdict =
      stage === 'mountpolicy'
        ? judgeMountPolicyWrite(request, context.state.policy)
        : decide(stage, request, policyFor(request, context), clusterFacts(stage, request, context));
    response = fromVerdict(verdict);
    result = verdict.allowed ? 'allowed' : 'denied';
  } catch (error) {
    response = errored(error);
    result = 'error';
  }
  sendJson(res, 200, toReview(request.uid, response));

  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  context.metrics.requests.inc({ endpoint: stage, result });
  context.metrics.duration.observe({ endpoint: stage }, seconds);
  const audit = response.auditAnnotations;
  context.logger.info(
    {
      uid: request.uid,
      namespace: request.namespace,
      pod: podName(request),
      operation: request.operation,
      dryRun: request.dryRun === true,
      endpoint: stage,
      verdict: result,
      rule: audit?.verdict === 'denied' ? audit.rule : undefined,
      reason: response.status?.message,
      durationMs: Math.round(seconds * 1e6) / 1e3,
    },
    'admission decision',
  );
}

function policyFor(request: AdmissionRequest, context: AppContext): CompiledPolicy {
  return context.mountPolicies === undefined ? context.state.policy : context.mountPolicies.policyFor(request.namespace);
}

function clusterFacts(stage: Stage, request: AdmissionRequest, context: AppContext): ClusterFacts {
  const levels = context.namespaceLevels;
  if (levels === undefined || stage !== 'mutate') return {};
  if (!levels.synced) {
    context.metrics.podSecurityPreflightSkipped.inc();
    return {};
  }
  return { namespacePodSecurity: levels.levelOf(request.namespace) };
}

/** A request that never reached a decision: counted as an error of its endpoint, logged, answered with a JSON error. */
function refuse(stage: Endpoint | undefined, res: ServerResponse, context: AppContext, status: number, reason: string): void {
  if (stage !== undefined) context.metrics.requests.inc({ endpoint: stage, result: 'error' });
  context.logger.warn({ endpoint: stage, status, reason }, 'request refused');
  if (!res.headersSent) sendError(res, status, reason);
}

function podName(request: AdmissionRequest): string | undefined {
  if (request.name) return request.name;
  const object: unknown = request.object;
  if (typeof object !== 'object' || object === null || !('metadata' in object)) return undefined;
  const metadata: unknown = object.metadata;
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  const name = 'name' in metadata ? metadata.name : undefined;
  const generateName = 'generateName' in metadata ? metadata.generateName : undefined;
  if (typeof name === 'string' && name !== '') return name;
  return typeof generateName === 'string' ? `${generateName}*` : undefined;
}

function httpStatusOf(error: unknown): number {
  if (typeof error === 'object' && error !== null && 'status' in error && typeof error.status === 'number') {
    return error.status >= 400 && error.status < 600 ? error.status : 500;
  }
  return 500;
}

function sendError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, errorBody(status, message));
}

/** What express's res.json sends, header for header: the same type with charset, and the length. */
function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}
