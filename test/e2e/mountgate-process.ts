/**
 * The mountgate server under test, run exactly as a user runs it: `node dist/cli/main.js serve ...`
 * on 127.0.0.1, with a certificate signed by a throw-away test CA (made with openssl).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { isIP } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, sleep } from './controlplane.js';

const execFileAsync = promisify(execFile);

export const MOUNTGATE_MAIN = path.join(REPO_ROOT, 'dist', 'cli', 'main.js');

export interface TlsMaterial {
  readonly caCert: string;
  readonly caPem: Buffer;
  readonly cert: string;
  readonly key: string;
}

/**
 * The address mountgate (and the tests' own webhook) listen on and the API server calls:
 * 127.0.0.1, unless MOUNTGATE_E2E_WEBHOOK_HOST names another address of this machine that an
 * existing cluster's API server can reach (for kind: the Docker network's gateway address).
 */
export function webhookHost(): string {
  const host = process.env.MOUNTGATE_E2E_WEBHOOK_HOST;
  return host === undefined || host === '' ? '127.0.0.1' : host;
}

/** A CA and a serving certificate for webhookHost(), 127.0.0.1 and localhost, in dir. */
export async function makeTestCa(dir: string): Promise<TlsMaterial> {
  const f = (name: string): string => path.join(dir, name);
  const run = async (args: string[]): Promise<void> => {
    await execFileAsync('openssl', args, { cwd: dir, timeout: 60_000 });
  };
  await run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2',
    '-subj', '/CN=mountgate-e2e-ca', '-keyout', f('ca.key'), '-out', f('ca.crt')]);
  await run(['req', '-newkey', 'rsa:2048', '-nodes', '-sha256',
    '-subj', '/CN=mountgate-e2e', '-keyout', f('tls.key'), '-out', f('tls.csr')]);
  await writeFile(
    f('tls.ext'),
    [`subjectAltName=${[...new Set(['IP:127.0.0.1', 'DNS:localhost', `${isIP(webhookHost()) === 0 ? 'DNS' : 'IP'}:${webhookHost()}`])].join(',')}`, 'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth', 'basicConstraints=critical,CA:FALSE', ''].join('\n'),
  );
  await run(['x509', '-req', '-sha256', '-days', '2', '-in', f('tls.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'),
    '-CAcreateserial', '-extfile', f('tls.ext'), '-out', f('tls.crt')]);
  return { caCert: f('ca.crt'), caPem: readFileSync(f('ca.crt')), cert: f('tls.crt'), key: f('tls.key') };
}

export interface MountgateOptions {
  readonly dir: string;
  readonly policy: string;
  readonly tls: TlsMaterial;
  readonly port: number;
  readonly metricsPort: number;
  /** More `serve` flags, e.g. the Pod Security preflight. */
  readonly extraArgs?: readonly string[];
  /** What start() waits for: /readyz (default), or /healthz for a server that is meant not to become ready. */
  readonly waitFor?: '/readyz' | '/healthz';
  /** Added to this process's environment, e.g. the image's (the benchmark's Kyverno section). */
  readonly env?: Readonly<Record<string, string>>;
}

const READY_TIMEOUT_MS = 30_000;

/** GET over HTTPS, trusting only ca. */
export function httpsGetStatus(url: string, ca: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ca, timeout: 5_000, agent: false }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out`)));
    request.on('error', reject);
  });
}

/** The sum of the samples of one series in a Prometheus text exposition that carry (at least) these labels; 0 when absent. */
export function metricSum(text: string, name: string, labels: Readonly<Record<string, string>>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (match === null || match[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      const [, key, value] = pair;
      if (key !== undefined && value !== undefined) found[key] = value;
    }
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) sum += Number(match[3]);
  }
  return sum;
}

/** One running `mountgate serve`; start() and stop() may be called again (same port, same files). */
export class MountgateProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private exitInfo: string | undefined;
  readonly logFile: string;

  constructor(readonly options: MountgateOptions) {
    this.logFile = path.join(options.dir, 'mountgate.log');
  }

  get url(): string {
    const host = webhookHost();
    return `https://${isIP(host) === 6 ? `[${host}]` : host}:${this.options.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.exitInfo === undefined;
  }

  tail(lines = 40): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  async start(): Promise<void> {
    if (this.running) return;
    if (!existsSync(MOUNTGATE_MAIN)) {
      throw new Error(`${MOUNTGATE_MAIN} does not exist: run "npm run build" first`);
    }
    const { policy, tls, port, metricsPort } = this.options;
    const log = await open(this.logFile, 'a');
    try {
      const child = spawn(
        process.execPath,
        [MOUNTGATE_MAIN, 'serve', '--config', policy, '--tls-cert', tls.cert, '--tls-key', tls.key,
          '--port', String(port), '--host', webhookHost(), '--metrics-port', String(metricsPort), '--shutdown-delay', '1',
          ...(this.options.extraArgs ?? [])],
        { stdio: ['ignore', log.fd, log.fd], cwd: this.options.dir, env: { ...process.env, ...this.options.env } },
      );
      this.child = child;
      this.exitInfo = undefined;
      this.exited = new Promise((resolve) => {
        child.on('exit', (code, signal) => {
          this.exitInfo = `code ${code} signal ${signal}`;
          resolve();
        });
        child.on('error', (error) => {
          this.exitInfo = error.message;
          resolve();
        });
      });
      process.on('exit', () => child.kill('SIGKILL'));
    } finally {
      await log.close();
    }
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let last = '';
    for (let attempt = 0; attempt < 1_000 && Date.now() < deadline; attempt++) {
      if (this.exitInfo !== undefined) {
        throw new Error(`mountgate exited (${this.exitInfo}):\n${this.tail()}`);
      }
      try {
        if ((await httpsGetStatus(`${this.url}${this.options.waitFor ?? '/readyz'}`, tls.caPem)) === 200) return;
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      await sleep(200);
    }
    await this.stop();
    throw new Error(`mountgate was not ready within ${READY_TIMEOUT_MS} ms (${last}):\n${this.tail()}`);
  }

  /** SIGTERM (mountgate drains for --shutdown-delay 1 s), SIGKILL after 15 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || this.exitInfo !== undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The sum of the samples of one /metrics series that carry (at least) these labels; 0 when absent. */
  async metric(name: string, labels: Readonly<Record<string, string>>): Promise<number> {
    const response = await fetch(`http://127.0.0.1:${this.options.metricsPort}/metrics`);
    if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
    return metricSum(await response.text(), name, labels);
  }

  /** Writes `text` over the policy file and waits until this mountgate has reloaded it (it reads the file every second). */
  async replacePolicy(text: string): Promise<void> {
    const reloads = { kind: 'policy', result: 'success' };
    const before = await this.metric('mountgate_reloads_total', reloads);
    await writeFile(this.options.policy, text);
    const deadline = Date.now() + 20_000;
    while ((await this.metric('mountgate_reloads_total', reloads)) <= before) {
      if (Date.now() > deadline) throw new Error(`mountgate did not reload ${this.options.policy} within 20 s`);
      await sleep(200);
    }
  }
}
