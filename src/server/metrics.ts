/**
 * Prometheus metrics, in a registry of their own (no process-wide globals),
 * served as plain HTTP on the metrics port.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Stage } from '../admission/decide.js';

export type Result = 'allowed' | 'denied' | 'error';

export interface Metrics {
  readonly registry: Registry;
  readonly requests: Counter<'endpoint' | 'result'>;
  readonly duration: Histogram<'endpoint'>;
  readonly reloads: Counter<'kind' | 'result'>;
  readonly reloadLastSuccessful: Gauge<'kind'>;
  readonly certificateExpiry: Gauge;
  readonly draining: Gauge;
  readonly podSecurityCacheSynced: Gauge;
  readonly podSecurityPreflightSkipped: Counter;
  readonly mountPolicyCacheSynced: Gauge;
  readonly mountPolicies: Gauge;
  readonly leaseHeld: Gauge;
  readonly mountPolicyStatusWrites: Counter<'result'>;
  readonly connectionsRefused: Counter;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'mountgate_admission_requests_total',
    help: 'Admission reviews answered, by endpoint and result.',
    labelNames: ['endpoint', 'result'] as const,
    registers: [registry],
  });
  // Zero series up front, so dashboards and alerts see every pair from the start.
  for (const endpoint of ['mutate', 'validate'] satisfies Stage[]) {
    for (const result of ['allowed', 'denied', 'error'] satisfies Result[]) requests.inc({ endpoint, result }, 0);
  }
  return {
    registry,
    requests,
    duration: new Histogram({
      name: 'mountgate_admission_duration_seconds',
      help: 'Time to answer an admission review, from the parsed body to the response.',
      labelNames: ['endpoint'] as const,
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers: [registry],
    }),
    reloads: new Counter({
      name: 'mountgate_reloads_total',
      help: 'Policy and certificate reloads, by kind and result (failure: the old one stays in force).',
      labelNames: ['kind', 'result'] as const,
      registers: [registry],
    }),
    reloadLastSuccessful: reloadLastSuccessful(registry),
    certificateExpiry: new Gauge({
      name: 'mountgate_certificate_expiry_timestamp_seconds',
      help: 'When the serving certificate in use expires (Unix time).',
      registers: [registry],
    }),
    draining: new Gauge({
      name: 'mountgate_draining',
      help: '1 once SIGTERM has arrived and the server is draining.',
      registers: [registry],
    }),
    podSecurityCacheSynced: new Gauge({
      name: 'mountgate_podsecurity_cache_synced',
      help: '1 while the namespace cache behind the Pod Security preflight is synced (0 also when the preflight is off).',
      registers: [registry],
    }),
    podSecurityPreflightSkipped: new Counter({
      name: 'mountgate_podsecurity_preflight_skipped_total',
      help: 'Mutations judged without the Pod Security preflight because the namespace cache was not synced.',
      registers: [registry],
    }),
    mountPolicyCacheSynced: new Gauge({
      name: 'mountgate_mountpolicy_cache_synced',
      help: '1 while the MountPolicy cache is synced; while 0 with --mount-policies on, no Pod gets or keeps a host path (0 also when the feature is off).',
      registers: [registry],
    }),
    mountPolicies: new Gauge({
      name: 'mountgate_mountpolicies',
      help: 'MountPolicies in the cache, in every namespace.',
      registers: [registry],
    }),
    leaseHeld: new Gauge({
      name: 'mountgate_lease_held',
      help: '1 while this replica holds the Lease and so writes MountPolicy status.',
      registers: [registry],
    }),
    mountPolicyStatusWrites: new Counter({
      name: 'mountgate_mountpolicy_status_writes_total',
      help: 'Writes of MountPolicy status, by result (conflict: the object changed first; it is judged again).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    connectionsRefused: new Counter({
      name: 'mountgate_connections_refused_total',
      help: 'Connections to the webhook port closed once TLS was up because --max-connections were open and none could make room.',
      registers: [registry],
    }),
  };
}

/**
 * 1 while the policy (or certificate) files as they are on disk are in force; 0 from a change refused or files
 * that cannot be read until a change is taken or they are read again as they were. mountgate_reloads_total counts a
 * refusal once, so an alert on its rate clears while the refused file stays, to fail the next start.
 */
function reloadLastSuccessful(registry: Registry): Gauge<'kind'> {
  const gauge = new Gauge({
    name: 'mountgate_reload_last_successful',
    help: 'Whether the policy or certificate files on disk are in force (0: a change was refused, or they cannot be read).',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  for (const kind of ['policy', 'certificate']) gauge.set({ kind }, 1);
  return gauge;
}

/**
 * What the metrics listener allows a connection. Like the webhook port's: a
 * connection that says nothing is closed, so idle ones cannot pile up until the
 * process runs out of file descriptors (and the webhook port with it); and past
 * maxConnections new ones are closed at once, enough for a few scrapers.
 */
export interface MetricsServerLimits {
  /** A connection with no traffic for this long is closed (Node's server.timeout). */
  readonly idleTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** An idle kept-alive connection after an answer; Node's default, which scrapers already live with. */
  readonly keepAliveTimeoutMs: number;
  /** How often Node checks headersTimeout and requestTimeout. */
  readonly checkIntervalMs: number;
  readonly maxConnections: number;
}

export const METRICS_SERVER_LIMITS: MetricsServerLimits = {
  idleTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  checkIntervalMs: 1_000,
  maxConnections: 64,
};

export function createMetricsServer(metrics: Metrics, limits: MetricsServerLimits = METRICS_SERVER_LIMITS): Server {
  const server = createServer({ connectionsCheckingInterval: limits.checkIntervalMs }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found; try GET /metrics\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(text),
      (error: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${String(error)}\n`),
    );
  });
  server.timeout = limits.idleTimeoutMs;
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
  return server;
}
