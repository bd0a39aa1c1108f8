/**
 * start() brings up the webhook: policy and certificate loaded first (or a
 * PolicyError / CertificateError), then the HTTPS and metrics listeners and
 * the file watchers. The returned handle drains (SIGTERM semantics) or stops.
 */
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Server as HttpServer } from 'node:http';
import type { Logger } from 'pino';
import { startMountPolicies, type MountPolicyEnforcement } from '../cluster/mount-policies.js';
import { loadPolicyFile } from '../policy/load.js';
import { createApp, MAX_BODY_BYTES } from './app.js';
import { DEFAULT_POOL_BYTES, withBodyBudget } from './body-budget.js';
import { capConnections, DEFAULT_MAX_CONNECTIONS, SLOW_BODY_GRACE_MS } from './connection-cap.js';
import { LiveState } from './live-state.js';
import { createMetrics, createMetricsServer, type Metrics } from './metrics.js';
import { watchNamespaces } from './namespace-cache.js';
import { logPolicyWarnings, watchForChanges } from './reload.js';
import { AcceptErrorLog, listen } from './listen.js';
import { closeGracefully } from './shutdown.js';
import { generateDevMaterial, loadTlsFiles, notYetValid, secureContextOptions, type TlsFiles } from './tls-material.js';

/** The API server reuses connections; keep idle ones well past its 90 s. */
export const KEEP_ALIVE_TIMEOUT_MS = 120_000;
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
const HANDSHAKE_TIMEOUT_MS = 10_000;
/**
 * A connection that has said nothing for this long is closed, unless it is
 * kept alive after a response (then KEEP_ALIVE_TIMEOUT_MS applies). Node
 * applies headersTimeout only once a request has begun, so without this a
 * connection that completes the TLS handshake and never sends a byte is kept
 * forever, and enough of them exhaust memory and file descriptors.
 */
const IDLE_TIMEOUT_MS = 10_000;
/** How often Node checks headersTimeout and requestTimeout; its default, 30 s, lets a slow client overstay them by that much. */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

export interface ServeOptions {
  readonly configPath: string;
  /** Certificate and key files, or "dev" for a generated self-signed pair. */
  readonly tls: TlsFiles | 'dev';
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly metricsPort: number;
  readonly shutdownDelaySeconds: number;
  /** Open connections on the webhook port beyond which new ones are refused (src/server/connection-cap.ts). */
  readonly maxConnections?: number;
  /** How often the policy and certificate files are compared with what is in force. */
  readonly reloadIntervalMs?: number;
  /** Longest wait for in-flight requests after the listeners close. */
  readonly drainTimeoutMs?: number;
  readonly logger: Logger;
  /** Deny up front in namespaces whose Pod Security level forbids hostPath; needs list/watch on namespaces. */
  readonly podSecurityPreflight?: { readonly kubeconfigPath?: string | undefined };
  /** Enforce the namespaces' MountPolicies; needs list/watch on them, their status and a Lease. */
  readonly mountPolicies?: MountPolicyOptions;
}

export interface MountPolicyOptions {
  readonly kubeconfigPath?: string | undefined;
  /** The Lease whose holder alone writes MountPolicy status. */
  readonly lease: { readonly namespace: string; readonly name: string; readonly identity: string };
}

export interface RunningServer {
  readonly port: number;
  readonly metricsPort: number;
  readonly state: LiveState;
  readonly metrics: Metrics;
  /** SIGTERM: not ready at once, serve for the shutdown delay, then close and let in-flight requests finish. */
  drain(): Promise<void>;
  /** Close now (in-flight requests still finish); for tests and fatal errors. */
  stop(): Promise<void>;
}

export async function start(options: ServeOptions): Promise<RunningServer> {
  const { logger } = options;
  const { policy, text: policyText } = await loadPolicyFile(options.configPath);
  logPolicyWarnings(policy, options.configPath, logger);
  const tls = options.tls === 'dev' ? await generateDevMaterial() : await loadTlsFiles(options.tls);
  if (options.tls === 'dev') {
    logger.warn('serving with a generated self-signed certificate (--dev): NOT FOR PRODUCTION');
  } else {
    const early = notYetValid(tls);
    if (early !== undefined) logger.warn({ file: options.tls.certPath, notBefore: tls.notBefore.toISOString() }, early);
  }

  const state = new LiveState(policy, tls);
  const metrics = createMetrics();
  metrics.certificateExpiry.set(tls.notAfter.getTime() / 1000);
  const lifecycle = { ready: true, closing: false };

  const namespaces =
    options.podSecurityPreflight === undefined
      ? undefined
      : await watchNamespaces(options.podSecurityPreflight.kubeconfigPath, logger, (synced) => metrics.podSecurityCacheSynced.set(synced ? 1 : 0));
  let mountPolicies: MountPolicyEnforcement | undefined;
  try {
    mountPolicies = options.mountPolicies === undefined ? undefined : await startMountPolicies(options.mountPolicies, state, metrics, logger);
  } catch (error) {
    await namespaces?.stop();
    throw error;
  }
  const app = createApp({
    state,
    metrics,
    logger,
    lifecycle,
    ...(namespaces ? { namespaceLevels: namespaces.levels } : {}),
    ...(mountPolicies ? { mountPolicies } : {}),
  });
  const budget = withBodyBudget(
    app,
    { poolBytes: DEFAULT_POOL_BYTES, maxBodyBytes: MAX_BODY_BYTES },
    (req, charge) => logger.warn({ path: req.url, chargeBytes: charge }, 'request refused: too many request bodies in flight (503)'),
    (req, charge) => logger.warn({ path: req.url, chargeBytes: charge }, `request body cut to make room: still coming ${SLOW_BODY_GRACE_MS} ms after its headers`),
  );
  const server = createHttpsServer(
    {
      ...secureContextOptions(tls),
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
    budget.listener,
  );
  // Without this listener Node answers "100 Continue" by itself, inviting a body the budget or the length
  // check may refuse: the admission handler invites it once both have passed.
  server.on('checkContinue', budget.listener);
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.timeout = IDLE_TIMEOUT_MS;
  capConnections(
    server,
    options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    () => metrics.connectionsRefused.inc(),
    (refusals) => logger.warn(refusals, 'connections refused: --max-connections are open and none could make room'),
  );
  state.onTlsChange((material) => server.setSecureContext(secureContextOptions(material)));

  const metricsServer = createMetricsServer(metrics);
  const acceptErrors = (listener: 'webhook' | 'metrics'): ((error: Error) => void) => {
    const log = new AcceptErrorLog(({ errors, error }) =>
      logger.error({ listener, err: error.message, code: (error as NodeJS.ErrnoException).code, errors }, 'connections not accepted; the listener goes on'),
    );
    return (error) => log.failed(error);
  };
  try {
    await listen(server, options.port, options.host, acceptErrors('webhook'));
    await listen(metricsServer, options.metricsPort, options.host, acceptErrors('metrics'));
  } catch (error) {
    server.close();
    await namespaces?.stop();
    await mountPolicies?.stop();
    throw error;
  }

  const pollers = watchForChanges(
    state,
    {
      configPath: options.configPath,
      policyText,
      ...(options.tls === 'dev' ? {} : { tlsFiles: options.tls }),
      intervalMs: options.reloadIntervalMs ?? 1000,
    },
    metrics,
    logger,
  );

  const port = boundPort(server);
  const metricsPort = boundPort(metricsServer);
  logger.info({ host: options.host, port, metricsPort, config: options.configPath }, 'mountgate is serving');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      for (const poller of pollers) poller.stop();
      lifecycle.ready = false;
      lifecycle.closing = true;
      // The caches go last: a review still in flight, or arriving on a connection not yet closed, is
      // judged with them, not with a stopped MountPolicy cache (no host path) or namespace cache.
      await Promise.all([closeGracefully(server, options.drainTimeoutMs ?? 30_000), closeGracefully(metricsServer, 1_000)]);
      await namespaces?.stop();
      await mountPolicies?.stop();
      logger.info('stopped');
    })();
    return closing;
  };
  let draining: Promise<void> | undefined;
  let cutDelayShort: (() => void) | undefined;

  return {
    port,
    metricsPort,
    state,
    metrics,
    drain() {
      draining ??= (async () => {
        lifecycle.ready = false;
        // Every answer from now on closes its connection, so by the end of the delay clients have
        // moved their kept-alive connections elsewhere instead of racing the listener's close.
        lifecycle.closing = true;
        metrics.draining.set(1);
        logger.info({ delaySeconds: options.shutdownDelaySeconds }, 'draining: not ready, still serving');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, options.shutdownDelaySeconds * 1000);
          cutDelayShort = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        await close();
      })();
      return draining;
    },
    stop() {
      cutDelayShort?.();
      return close();
    },
  };
}

function boundPort(server: HttpsServer | HttpServer): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the listener has no TCP port');
  return address.port;
}
