/**
 * A real Kubernetes control plane for the end-to-end tests, the way controller-runtime's envtest
 * runs one: etcd and kube-apiserver as local processes on 127.0.0.1, no kubelet, no controllers.
 *
 * The binaries come from test/e2e/tools/build.sh (built from Go modules, cached outside the repo,
 * or taken from KUBEBUILDER_ASSETS). With MOUNTGATE_E2E_EXISTING_CLUSTER=1 and KUBECONFIG set,
 * nothing is started and the cluster of the current context is used instead.
 *
 * The API server writes an audit log (Pods only, at level Metadata: who did what and the admission
 * webhooks' audit annotations, no bodies), so tests can read what it records of mountgate's decisions.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KubeConfig, type RequestContext } from '@kubernetes/client-node';

const execFileAsync = promisify(execFile);

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD_SCRIPT = path.join(REPO_ROOT, 'test', 'e2e', 'tools', 'build.sh');

/** An ordinary (non-admin) user the tests act as; known to the API server by a static token. */
export interface TestUser {
  readonly name: string;
  readonly groups: readonly string[];
}

/** The ordinary users every control plane knows (the admin is extra, in system:masters). */
export const TEST_USERS = {
  alice: { name: 'alice', groups: [] },
  bob: { name: 'bob', groups: [] },
  carol: { name: 'carol', groups: ['deer-flow-provisioners'] },
} as const satisfies Record<string, TestUser>;

export interface ControlPlane {
  /** https://127.0.0.1:PORT (or the existing cluster's server). */
  readonly server: string;
  /** A kubeconfig file with cluster-admin rights. */
  readonly kubeconfigPath: string;
  /** A client configuration with cluster-admin rights. */
  readonly admin: KubeConfig;
  /** True when an existing cluster is used instead of local processes. */
  readonly existing: boolean;
  /** kubectl of the API server's own version: $KUBECTL, else the one build.sh built, else kubectl on PATH. */
  readonly kubectl: string;
  /**
   * The API server's audit log (JSON lines): in the temporary folder of a local control plane;
   * on an existing cluster, $MOUNTGATE_E2E_AUDIT_LOG when the cluster's log is readable here.
   */
  readonly auditLogPath: string | undefined;
  /** A client configuration that authenticates as one of TEST_USERS. */
  as(user: TestUser): KubeConfig;
  /** Stops both processes and removes every temporary file; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Pods at level Metadata (admission webhooks' audit annotations included), nothing else, so the
 * log stays small; no RequestReceived stage, which comes before any webhook is called.
 */
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    resources: [{ group: "", resources: [pods, pods/ephemeralcontainers] }]
  - level: None
`;

/** Time limits; generous because CI machines have 2 cores. */
const READY_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 10_000;
const BUILD_TIMEOUT_MS = 75 * 60_000;

/** A free TCP port on 127.0.0.1 (the kernel picks it; we release it straight away). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not read the port of a listening socket'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The folder that holds etcd and kube-apiserver, building them when they are missing. */
export async function controlPlaneBinaries(): Promise<string> {
  const assets = process.env.KUBEBUILDER_ASSETS;
  if (assets !== undefined && assets !== '') {
    for (const bin of ['etcd', 'kube-apiserver']) {
      if (!existsSync(path.join(assets, bin))) {
        throw new Error(`KUBEBUILDER_ASSETS=${assets} has no ${bin}`);
      }
    }
    return assets;
  }
  const { stdout } = await execFileAsync('bash', [BUILD_SCRIPT], {
    timeout: BUILD_TIMEOUT_MS,
    maxBuffer: 16 * 1024 * 1024,
  });
  const lines = stdout.trim().split('\n');
  const dir = lines[lines.length - 1];
  if (dir === undefined || dir === '' || !existsSync(path.join(dir, 'kube-apiserver'))) {
    throw new Error(`${BUILD_SCRIPT} printed no folder with kube-apiserver: ${stdout}`);
  }
  return dir;
}

/** One child process whose output goes to a log file; remembers how it ended. */
class Proc {
  readonly child: ChildProcess;
  exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  spawnError: Error | undefined;
  private readonly exitPromise: Promise<void>;

  constructor(
    readonly name: string,
    readonly logFile: string,
    command: string,
    args: readonly string[],
    logFd: number,
  ) {
    this.child = spawn(command, args, { stdio: ['ignore', logFd, logFd], cwd: path.dirname(logFile) });
    this.exitPromise = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exited = { code, signal };
        resolve();
      });
      this.child.on('error', (error) => {
        this.exited = { code: null, signal: null };
        this.spawnError = error;
        resolve();
      });
    });
    liveChildren.add(this.child);
    void this.exitPromise.then(() => liveChildren.delete(this.child));
  }

  /** The last lines of the log, for error messages. */
  tail(lines = 40): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Throws when the process has already ended. */
  assertRunning(): void {
    if (this.exited !== undefined) {
      const how = this.spawnError?.message ?? `code ${this.exited.code} signal ${this.exited.signal}`;
      throw new Error(`${this.name} exited (${how}); last lines of ${this.logFile}:\n${this.tail()}`);
    }
  }

  /** SIGTERM, then SIGKILL after a grace period; resolves once the process is gone. */
  async stop(): Promise<void> {
    if (this.exited !== undefined) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
    try {
      await this.exitPromise;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Children still running: killed if this test process exits without stopping them. */
const liveChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

async function startProc(dir: string, name: string, command: string, args: readonly string[]): Promise<Proc> {
  const logFile = path.join(dir, `${name}.log`);
  const handle = await open(logFile, 'w');
  try {
    return new Proc(name, logFile, command, args, handle.fd);
  } finally {
    // The child has its own copy of the descriptor.
    await handle.close();
  }
}

/** Polls fn until it returns true, the process dies, or the deadline passes. */
async function waitFor(what: string, procs: readonly Proc[], timeoutMs: number, fn: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (let attempt = 0; Date.now() < deadline && attempt < 10_000; attempt++) {
    for (const p of procs) p.assertRunning();
    try {
      if (await fn()) return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await sleep(250);
  }
  const tails = procs.map((p) => `--- ${p.name} (${p.logFile}):\n${p.tail()}`).join('\n');
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last error: ${lastError})\n${tails}`);
}

function httpsGet(url: string, ca: Buffer, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ca, headers: { Authorization: `Bearer ${token}` }, timeout: 5_000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out`)));
    request.on('error', reject);
  });
}

function kubeConfigFor(server: string, caData: string, userName: string, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'mountgate-e2e', server, caData, skipTLSVerify: false }],
    users: [{ name: userName, token }],
    contexts: [{ name: userName, cluster: 'mountgate-e2e', user: userName, namespace: 'default' }],
    currentContext: userName,
  });
  return kc;
}

/**
 * Impersonation for an existing cluster, where the static tokens do not exist: the admin's own
 * credentials plus Impersonate-User / Impersonate-Group headers on every request.
 */
class ImpersonatingKubeConfig extends KubeConfig {
  constructor(private readonly user: TestUser) {
    super();
    if (user.groups.length > 1) throw new Error('impersonation here supports at most one group');
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    context.setHeaderParam('Impersonate-User', this.user.name);
    const group = this.user.groups[0];
    if (group !== undefined) context.setHeaderParam('Impersonate-Group', group);
  }
}

export function impersonating(kubeconfigPath: string, user: TestUser): KubeConfig {
  const kc = new ImpersonatingKubeConfig(user);
  kc.loadFromFile(kubeconfigPath);
  return kc;
}

function existingCluster(): ControlPlane | undefined {
  const kubeconfigPath = process.env.KUBECONFIG;
  if (process.env.MOUNTGATE_E2E_EXISTING_CLUSTER !== '1') return undefined;
  if (kubeconfigPath === undefined || kubeconfigPath === '') {
    throw new Error('MOUNTGATE_E2E_EXISTING_CLUSTER=1 needs KUBECONFIG to name the cluster to use');
  }
  const admin = new KubeConfig();
  admin.loadFromFile(kubeconfigPath);
  const cluster = admin.getCurrentCluster();
  if (cluster === null) throw new Error(`${kubeconfigPath} has no current cluster`);
  return {
    server: cluster.server,
    kubeconfigPath,
    admin,
    existing: true,
    kubectl: process.env.KUBECTL ?? 'kubectl',
    auditLogPath: process.env.MOUNTGATE_E2E_AUDIT_LOG,
    as: (user) => impersonating(kubeconfigPath, user),
    stop: async () => {},
  };
}

/** Starts etcd and kube-apiserver, or returns the existing cluster (see the file comment). */
export async function startControlPlane(): Promise<ControlPlane> {
  const existing = existingCluster();
  if (existing !== undefined) return existing;

  const binDir = await controlPlaneBinaries();
  const dir = await mkdtemp(path.join(tmpdir(), 'mountgate-e2e-cp-'));
  const procs: Proc[] = [];
  const stopAll = async (): Promise<void> => {
    // API server first (it is etcd's client), then etcd; always remove the folder.
    try {
      for (const p of [...procs].reverse()) await p.stop();
    } finally {
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    }
  };

  try {
    // etcd
    const etcdData = path.join(dir, 'etcd');
    await mkdir(etcdData, { mode: 0o700 });
    const etcdClient = await freePort();
    const etcdPeer = await freePort();
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const etcd = await startProc(dir, 'etcd', path.join(binDir, 'etcd'), [
      '--name=mountgate-e2e',
      `--data-dir=${etcdData}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=mountgate-e2e=http://127.0.0.1:${etcdPeer}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ]);
    procs.push(etcd);

    // Credentials: a service-account signing key and a static token file.
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saKey = path.join(dir, 'sa.key');
    const saPub = path.join(dir, 'sa.pub');
    await writeFile(saKey, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
    await writeFile(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
    const tokens = new Map<string, string>();
    const tokenLines: string[] = [];
    const adminToken = randomBytes(24).toString('hex');
    tokenLines.push(`${adminToken},mountgate-e2e-admin,mountgate-e2e-admin,"system:masters"`);
    for (const user of Object.values(TEST_USERS)) {
      const token = randomBytes(24).toString('hex');
      tokens.set(user.name, token);
      tokenLines.push(`${token},${user.name},${user.name}${user.groups.length > 0 ? `,"${user.groups.join(',')}"` : ''}`);
    }
    const tokenFile = path.join(dir, 'tokens.csv');
    await writeFile(tokenFile, `${tokenLines.join('\n')}\n`, { mode: 0o600 });
    const auditPolicy = path.join(dir, 'audit-policy.yaml');
    await writeFile(auditPolicy, AUDIT_POLICY);
    const auditLogPath = path.join(dir, 'audit.log');

    await waitFor('etcd', procs, READY_TIMEOUT_MS, async () => {
      const response = await fetch(`${etcdUrl}/health`);
      return response.ok;
    });

    // kube-apiserver
    const certDir = path.join(dir, 'apiserver-certs');
    await mkdir(certDir, { mode: 0o700 });
    const securePort = await freePort();
    const server = `https://127.0.0.1:${securePort}`;
    const apiserver = await startProc(dir, 'kube-apiserver', path.join(binDir, 'kube-apiserver'), [
      `--etcd-servers=${etcdUrl}`,
      `--cert-dir=${certDir}`,
      `--secure-port=${securePort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--authorization-mode=RBAC',
      '--allow-privileged=true',
      `--service-account-issuer=${server}`,
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      '--disable-admission-plugins=ServiceAccount',
      `--token-auth-file=${tokenFile}`,
      `--audit-policy-file=${auditPolicy}`,
      `--audit-log-path=${auditLogPath}`,
      '--v=1',
    ]);
    procs.push(apiserver);

    // The API server writes its self-signed serving certificate (with its CA) before it listens.
    const servingCert = path.join(certDir, 'apiserver.crt');
    await waitFor('the API server certificate', procs, READY_TIMEOUT_MS, async () => existsSync(servingCert));
    const ca = await readFile(servingCert);
    await waitFor('kube-apiserver /readyz', procs, READY_TIMEOUT_MS, async () => {
      const { status } = await httpsGet(`${server}/readyz`, ca, adminToken);
      return status === 200;
    });

    const caData = ca.toString('base64');
    const admin = kubeConfigFor(server, caData, 'mountgate-e2e-admin', adminToken);
    const kubeconfigPath = path.join(dir, 'kubeconfig');
    await writeFile(kubeconfigPath, admin.exportConfig(), { mode: 0o600 });

    let stopped: Promise<void> | undefined;
    return {
      server,
      kubeconfigPath,
      admin,
      existing: false,
      kubectl: process.env.KUBECTL ?? (existsSync(path.join(binDir, 'kubectl')) ? path.join(binDir, 'kubectl') : 'kubectl'),
      auditLogPath,
      as: (user) => {
        const token = tokens.get(user.name);
        if (token === undefined) throw new Error(`no token for user ${user.name}`);
        return kubeConfigFor(server, caData, user.name, token);
      },
      stop: () => (stopped ??= stopAll()),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
