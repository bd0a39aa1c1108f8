/**
 * `mountgate serve` flags and their MOUNTGATE_* environment equivalents,
 * flags first. Pure: argv and env in, options or an ArgumentError (HelpRequested for --help) out.
 */
import { hostname as osHostname } from 'node:os';
import type { MountPolicyOptions, ServeOptions } from '../server/index.js';
import { DEFAULT_MAX_CONNECTIONS } from '../server/connection-cap.js';
import { parseOptions, type OptionSpecs } from './options.js';
import { DNS_SUBDOMAIN, isNamespaceName } from './names.js';
import { ArgumentError } from './usage.js';

/** What the command line decides: the server's options, less the logger it builds from logLevel. */
export type ServeSettings = Omit<ServeOptions, 'logger' | 'drainTimeoutMs' | 'reloadIntervalMs'> & {
  readonly reloadIntervalMs: number;
  readonly logLevel: string;
};

export const DEFAULT_LEASE_NAME = 'mountgate-status';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export const SERVE_OPTIONS = {
  config: { type: 'string', value: 'FILE', env: 'MOUNTGATE_CONFIG', description: 'the policy file, YAML or JSON; required' },
  'tls-cert': { type: 'string', value: 'FILE', env: 'MOUNTGATE_TLS_CERT', description: 'the serving certificate (PEM); required unless --dev' },
  'tls-key': { type: 'string', value: 'FILE', env: 'MOUNTGATE_TLS_KEY', description: 'its private key (PEM); required unless --dev' },
  port: { type: 'string', value: 'PORT', env: 'MOUNTGATE_PORT', fallback: '8443', description: 'HTTPS port of the webhook routes (0 picks a free one)' },
  host: { type: 'string', value: 'ADDRESS', env: 'MOUNTGATE_HOST', fallback: '0.0.0.0', description: 'address both listeners bind to' },
  'metrics-port': { type: 'string', value: 'PORT', env: 'MOUNTGATE_METRICS_PORT', fallback: '9090', description: 'plain HTTP port of GET /metrics (0 picks a free one)' },
  'shutdown-delay': { type: 'string', value: 'SECONDS', env: 'MOUNTGATE_SHUTDOWN_DELAY', fallback: '5', description: 'after SIGTERM, how long to keep serving before the listeners close' },
  'max-connections': { type: 'string', value: 'N', env: 'MOUNTGATE_MAX_CONNECTIONS', fallback: String(DEFAULT_MAX_CONNECTIONS), description: 'connections past TLS on the HTTPS port (about 50 KiB each); beyond it the one longest idle is closed to make room, or the new one when none may' },
  'reload-interval': { type: 'string', value: 'SECONDS', env: 'MOUNTGATE_RELOAD_INTERVAL', fallback: '1', description: 'how often the policy and certificate files are compared with what is in force (at least 0.1)' },
  'log-level': { type: 'string', value: 'LEVEL', env: 'MOUNTGATE_LOG_LEVEL', fallback: 'info', description: `one of ${LOG_LEVELS.join(', ')}` },
  kubeconfig: { type: 'string', value: 'FILE', env: 'MOUNTGATE_KUBECONFIG', description: 'the cluster the Pod Security preflight and --mount-policies read from (else KUBECONFIG, ~/.kube/config or in-cluster)' },
  dev: { type: 'boolean', description: 'serve a generated self-signed certificate for localhost, 127.0.0.1 and ::1 instead of --tls-cert and --tls-key; not for production' },
  'pod-security-preflight': { type: 'boolean', env: 'MOUNTGATE_POD_SECURITY_PREFLIGHT', description: 'deny up front a Pod that gets mounts in a namespace whose Pod Security level forbids hostPath (the variable takes true or 1; false, 0 or empty leave it off)' },
  'mount-policies': { type: 'boolean', env: 'MOUNTGATE_MOUNT_POLICIES', description: 'watch MountPolicies (mountgate.io/v1alpha1) and enforce them, serve POST /validate-mountpolicy, and write their status while holding the Lease (the variable takes true or 1; false, 0 or empty leave it off)' },
  'lease-namespace': { type: 'string', value: 'NS', env: 'MOUNTGATE_LEASE_NAMESPACE', description: 'namespace of the Lease that picks the one replica writing MountPolicy status; required with --mount-policies' },
  'lease-name': { type: 'string', value: 'NAME', env: 'MOUNTGATE_LEASE_NAME', fallback: DEFAULT_LEASE_NAME, description: 'name of that Lease' },
  identity: { type: 'string', value: 'NAME', env: 'MOUNTGATE_IDENTITY', description: 'this replica\'s name in the Lease (holderIdentity); default the hostname' },
} as const satisfies OptionSpecs;

type FlagName = keyof typeof SERVE_OPTIONS;
type BooleanFlag = 'dev' | 'pod-security-preflight' | 'mount-policies';

export function parseServeArgs(argv: readonly string[], env: NodeJS.ProcessEnv, hostname: () => string = osHostname): ServeSettings {
  const values = parseOptions('serve', argv, SERVE_OPTIONS);
  const setting = (name: Exclude<FlagName, BooleanFlag>): string | undefined => {
    const flag = values[name];
    if (typeof flag === 'string') return flag;
    const fromEnv = env[SERVE_OPTIONS[name].env];
    return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
  };
  /** What a refusal names: the variable when the value came from it, else the flag. */
  const origin = (name: Exclude<FlagName, BooleanFlag>): string => (typeof values[name] !== 'string' && setting(name) !== undefined ? SERVE_OPTIONS[name].env : `--${name}`);
  // The table's fallback is the default, so that the usage cannot name another one.
  const settingOrFallback = (name: 'host' | 'port' | 'metrics-port' | 'max-connections' | 'shutdown-delay' | 'reload-interval' | 'log-level'): string =>
    setting(name) ?? SERVE_OPTIONS[name].fallback;

  const configPath = setting('config');
  if (configPath === undefined) throw new ArgumentError('serve', '--config FILE is required (or MOUNTGATE_CONFIG)');

  const certPath = setting('tls-cert');
  const keyPath = setting('tls-key');
  let tls: ServeSettings['tls'];
  if (values.dev === true) {
    if (typeof values['tls-cert'] === 'string' || typeof values['tls-key'] === 'string') {
      throw new ArgumentError('serve', '--dev replaces --tls-cert and --tls-key; give one or the other');
    }
    tls = 'dev';
  } else if (certPath === undefined || keyPath === undefined) {
    throw new ArgumentError('serve', '--tls-cert FILE and --tls-key FILE are required (or --dev for a self-signed certificate)');
  } else {
    tls = { certPath, keyPath };
  }

  const logLevel = settingOrFallback('log-level');
  if (!LOG_LEVELS.includes(logLevel)) throw new ArgumentError('serve', `${origin('log-level')} must be one of ${LOG_LEVELS.join(', ')}, not ${JSON.stringify(logLevel)}`);

  const switchedOn = (name: Exclude<BooleanFlag, 'dev'>): boolean => values[name] === true || switchValue(SERVE_OPTIONS[name].env, env[SERVE_OPTIONS[name].env]);
  const preflight = switchedOn('pod-security-preflight');
  const mountPolicies = switchedOn('mount-policies') ? mountPolicySettings(setting, origin, hostname) : undefined;
  return {
    configPath,
    tls,
    ...(preflight ? { podSecurityPreflight: { kubeconfigPath: setting('kubeconfig') } } : {}),
    ...(mountPolicies === undefined ? {} : { mountPolicies }),
    host: settingOrFallback('host'),
    port: port(origin('port'), settingOrFallback('port')),
    metricsPort: port(origin('metrics-port'), settingOrFallback('metrics-port')),
    maxConnections: count(origin('max-connections'), settingOrFallback('max-connections'), MAX_CONNECTIONS_LIMIT),
    shutdownDelaySeconds: seconds(origin('shutdown-delay'), settingOrFallback('shutdown-delay')),
    reloadIntervalMs: reloadInterval(origin('reload-interval'), settingOrFallback('reload-interval')) * 1000,
    logLevel,
  };
}

/**
 * A switch's variable: true or 1 turns it on; false, 0 or empty leaves it off.
 * Anything else (yes, on, TRUE) is refused rather than read as off, so that a
 * variable meant to turn a safety feature on cannot leave it off unnoticed.
 */
function switchValue(variable: string, value: string | undefined): boolean {
  if (value === undefined || value === '' || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  throw new ArgumentError('serve', `${variable} must be true, 1, false or 0, not "${value}"`);
}

/** The Lease names a Kubernetes object and its holder: both must be names the API server takes. */
function mountPolicySettings(
  setting: (name: 'kubeconfig' | 'lease-namespace' | 'lease-name' | 'identity') => string | undefined,
  origin: (name: 'lease-namespace' | 'lease-name' | 'identity') => string,
  hostname: () => string,
): MountPolicyOptions {
  const namespace = setting('lease-namespace');
  if (namespace === undefined) throw new ArgumentError('serve', '--mount-policies needs --lease-namespace NS (or MOUNTGATE_LEASE_NAMESPACE): the namespace of the Lease that picks the replica writing status');
  if (!isNamespaceName(namespace)) throw new ArgumentError('serve', `${origin('lease-namespace')} must be a namespace name (a DNS-1123 label), not "${namespace}"`);
  const name = setting('lease-name') ?? DEFAULT_LEASE_NAME;
  if (!DNS_SUBDOMAIN.test(name)) throw new ArgumentError('serve', `${origin('lease-name')} must be a DNS-1123 subdomain, not "${name}"`);
  const identity = setting('identity') ?? hostname();
  if (identity.trim() === '' || identity.length > 253) throw new ArgumentError('serve', `${origin('identity')} must be 1 to 253 characters, not "${identity}"`);
  return { kubeconfigPath: setting('kubeconfig'), lease: { namespace, name, identity } };
}

/** `what` is the flag or variable the value came from, as origin() names it. */
function port(what: string, text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value > 65535) throw new ArgumentError('serve', `${what} must be a port number from 0 to 65535, not "${text}"`);
  return value;
}

/** Far past what a replica's memory holds (about 50 KiB per connection); a bound only against typos. */
const MAX_CONNECTIONS_LIMIT = 1_000_000;

function count(what: string, text: string, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > max) throw new ArgumentError('serve', `${what} must be a whole number from 1 to ${max}, not "${text}"`);
  return value;
}

/** Files read more often than this would cost CPU for no gain: a change applies once two reads in a row agree. */
const MIN_RELOAD_SECONDS = 0.1;

function reloadInterval(what: string, text: string): number {
  const value = seconds(what, text);
  if (value < MIN_RELOAD_SECONDS) throw new ArgumentError('serve', `${what} must be at least ${MIN_RELOAD_SECONDS} seconds, not "${text}"`);
  return value;
}

/** Node turns a longer timer into 1 ms: a "never" reload interval would poll every millisecond. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_SECONDS = MAX_TIMER_MS / 1000;

function seconds(what: string, text: string): number {
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(value)) {
    throw new ArgumentError('serve', `${what} must be a number of seconds in digits, with a fraction after a digit if any (5, 0.5), not "${text}"`);
  }
  // Compared as the milliseconds the timers get.
  if (value * 1000 > MAX_TIMER_MS) throw new ArgumentError('serve', `${what} must be at most ${MAX_SECONDS} seconds (about 24.8 days), not "${text}"`);
  return value;
}
