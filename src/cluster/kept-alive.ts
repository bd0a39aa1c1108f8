/**
 * Connections to the API server kept open between requests. KubeConfig.applyToHTTPSOptions hands every
 * request an agent of its own, so each Lease renewal (every 2 s on every replica), status write and list
 * page opened a new TLS connection, a full handshake on both ends. A request whose kubeconfig gave it a
 * plain agent gets a kept-alive one instead, one per KubeConfig and protocol; a proxy's agent (HTTP or
 * SOCKS) is left as the library made it.
 *
 * Reuse never crosses TLS identities: the request's own options still carry the CA, the client
 * certificate and key, the server name and the verification switch, and Node names each pool of idle
 * connections by all of them. A rotated certificate (a file rewritten, an exec plugin's new pair) gets
 * a connection of its own, and the old one is closed once idle.
 */
import http from 'node:http';
import https from 'node:https';

/**
 * An idle connection is closed after this long: well below the 90 s after which the API server closes
 * an idle connection itself, so a request rarely meets one the server has just closed.
 */
export const IDLE_CONNECTION_MS = 30_000;
/** Idle connections kept per server and TLS identity; the Lease and a status write at once need two. */
const MAX_IDLE_CONNECTIONS = 2;

interface Agents {
  readonly http: http.Agent;
  readonly https: https.Agent;
}

const byConfig = new WeakMap<object, Agents>();

function agentsOf(config: object): Agents {
  let agents = byConfig.get(config);
  if (agents === undefined) {
    // LIFO: the connection used last is reused first, so those beyond what the load needs go idle and close.
    const options = { keepAlive: true, maxFreeSockets: MAX_IDLE_CONNECTIONS, timeout: IDLE_CONNECTION_MS, scheduling: 'lifo' } as const;
    agents = { http: new http.Agent(options), https: new https.Agent(options) };
    byConfig.set(config, agents);
  }
  return agents;
}

/**
 * The agent for a request of `config` whose kubeconfig gave it `given`: a kept-alive one in place of a
 * plain http.Agent or https.Agent, else `given` itself. Compared by constructor, as the proxy agents
 * are subclasses of these.
 */
export function keptAliveAgent(config: object, given: http.Agent | boolean | undefined): http.Agent | boolean | undefined {
  if (typeof given !== 'object') return given;
  if (given.constructor === https.Agent) return agentsOf(config).https;
  if (given.constructor === http.Agent) return agentsOf(config).http;
  return given;
}

/**
 * A GET that failed this way on a reused connection most likely met one the server closed while it sat
 * idle: it is sent again (the advice of Node's http documentation), on another idle connection or a new
 * one, within the same deadline; a new connection's failure is final. A write is not sent again, as Go's
 * HTTP client does not send one again once written: a cut before the answer does not say the server
 * did not act on it, and a repeated create or update would come back as a 409 for the caller's own
 * write. Its caller retries it as it retries any failed write.
 */
export function isStaleConnection(error: unknown): boolean {
  if (!(error instanceof Error) || !('code' in error)) return false;
  return error.code === 'ECONNRESET' || error.code === 'EPIPE';
}
