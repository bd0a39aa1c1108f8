/**
 * `mountgate serve` flags and their MOUNTGATE_* environment equivalents,
 * flags first. Pure: argv and env in, options or a UsageError out.
 */
import { parseArgs } from 'node:util';
import type { ServeOptions } from '../server/index.js';
import { firstLine, UsageError } from './usage.js';

/** What the command line decides: the server's options, less the logger it builds from logLevel. */
export type ServeSettings = Omit<ServeOptions, 'logger' | 'drainTimeoutMs' | 'reloadIntervalMs'> & {
  readonly reloadIntervalMs: number;
  readonly logLevel: string;
};

const FLAGS = {
  config: { type: 'string', env: 'MOUNTGATE_CONFIG' },
  'tls-cert': { type: 'string', env: 'MOUNTGATE_TLS_CERT' },
  'tls-key': { type: 'string', env: 'MOUNTGATE_TLS_KEY' },
  port: { type: 'string', env: 'MOUNTGATE_PORT' },
  host: { type: 'string', env: 'MOUNTGATE_HOST' },
  'metrics-port': { type: 'string', env: 'MOUNTGATE_METRICS_PORT' },
  'shutdown-delay': { type: 'string', env: 'MOUNTGATE_SHUTDOWN_DELAY' },
  'reload-interval': { type: 'string', env: 'MOUNTGATE_RELOAD_INTERVAL' },
  'log-level': { type: 'string', env: 'MOUNTGATE_LOG_LEVEL' },
  kubeconfig: { type: 'string', env: 'MOUNTGATE_KUBECONFIG' },
  dev: { type: 'boolean' },
  'pod-security-preflight': { type: 'boolean' },
} as const;

type FlagName = keyof typeof FLAGS;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function parseServeArgs(argv: readonly string[], env: NodeJS.ProcessEnv): ServeSettings {
  let values: Partial<Record<FlagName, string | boolean>>;
  try {
    ({ values } = parseArgs({ args: [...argv], options: FLAGS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError(`serve: ${firstLine(error)}`);
  }
  const setting = (name: Exclude<FlagName, 'dev' | 'pod-security-preflight'>): string | undefined => {
    const flag = values[name];
    if (typeof flag === 'string') return flag;
    const fromEnv = env[FLAGS[name].env];
    return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
  };

  const configPath = setting('config');
  if (configPath === undefined) throw new UsageError('serve: --config FILE is required (or MOUNTGATE_CONFIG)');

  const certPath = setting('tls-cert');
  const keyPath = setting('tls-key');
  let tls: ServeSettings['tls'];
  if (values.dev === true) {
    if (typeof values['tls-cert'] === 'string' || typeof values['tls-key'] === 'string') {
      throw new UsageError('serve: --dev replaces --tls-cert and --tls-key; give one or the other');
    }
    tls = 'dev';
  } else if (certPath === undefined || keyPath === undefined) {
    throw new UsageError('serve: --tls-cert FILE and --tls-key FILE are required (or --dev for a self-signed certificate)');
  } else {
    tls = { certPath, keyPath };
  }

  const logLevel = setting('log-level') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new UsageError(`serve: --log-level must be one of ${LOG_LEVELS.join(', ')}`);

  const preflight = values['pod-security-preflight'] === true || ['true', '1'].includes(env.MOUNTGATE_POD_SECURITY_PREFLIGHT ?? '');
  return {
    configPath,
    tls,
    ...(preflight ? { podSecurityPreflight: { kubeconfigPath: setting('kubeconfig') } } : {}),
    host: setting('host') ?? '0.0.0.0',
    port: port('port', setting('port') ?? '8443'),
    metricsPort: port('metrics-port', setting('metrics-port') ?? '9090'),
    shutdownDelaySeconds: seconds('shutdown-delay', setting('shutdown-delay') ?? '5'),
    reloadIntervalMs: Math.max(100, seconds('reload-interval', setting('reload-interval') ?? '1') * 1000),
    logLevel,
  };
}

function port(name: string, text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value > 65535) throw new UsageError(`serve: --${name} must be a port number from 0 to 65535, not "${text}"`);
  return value;
}

function seconds(name: string, text: string): number {
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(value)) {
    throw new UsageError(`serve: --${name} must be a number of seconds, not "${text}"`);
  }
  return value;
}
