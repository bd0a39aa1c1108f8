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
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KubeConfig, type RequestContext } from '@kubernetes/client-node';
import { freePort, startProc, waitFor, type Proc } from './processes.js';

export { freePort, sleep } from './processes.js';

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
  // A username spelled like a group entry (an x509 CN or a static token may be): no member of the group.
  lookalike: { name: 'group:deer-flow-provisioners', groups: [] },
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
const BUILD_TIMEOUT_MS = 75 * 60_000;

/** What a local control plane alone needs, and what a node adds (test/node). */
const CONTROL_PLANE_BINARIES = ['etcd', 'kube-apiserver'];
const NODE_BINARIES = ['kubelet', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy'];

/**
 * The folder that holds etcd and kube-apiserver (and, with `node`, the node's components),
 * building them when they are missing.
 */
export async function controlPlaneBinaries(node = false): Promise<string> {
  const wanted = node ? [...CONTROL_PLANE_BINARIES, ...NODE_BINARIES] : CONTROL_PLANE_BINARIES;
  const assets = process.env.KUBEBUILDER_ASSETS;
  if (assets !== undefined && assets !== '') {
    for (const bin of wanted) {
      if (!existsSync(path.join(assets, bin))) {
        throw new Error(`KUBEBUILDER_ASSETS=${assets} has no ${bin}`);
      }
    }
    return assets;
  }
  const { stdout } = await execFileAsync('bash', [BUILD_SCRIPT, ...(node ? ['--node'] : [])], {
    timeout: BUILD_TIMEOUT_MS,
    maxBuffer: 16 * 1024 * 1024,
  });
  const lines = stdout.trim().split('\n');
  const dir = lines[lines.length - 1];
  if (dir === undefined || dir === '' || !wanted.every((bin) => existsSync(path.join(dir, bin)))) {
    throw new Error(`${BUILD_SCRIPT} printed no folder with ${wanted.join(', ')}: ${stdout}`);
  }
  return dir;
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
  return existingCluster() ?? (await startLocalControlPlane());
}

/** How a local control plane differs from the e2e default (test/node runs a real node on one). */
export interface ControlPlaneOptions {
  /**
   * The address kube-apiserver listens on and advertises (default 127.0.0.1). The `kubernetes`
   * Service's endpoint must not be a loopback address, so a node whose Pods call the API server
   * gives a local, non-loopback address here.
   */
  readonly address?: string;
  /** Authorizers in order (default RBAC only). */
  readonly authorizationModes?: readonly string[];
  /** Identities with a static token besides the admin and TEST_USERS (a node, the controllers). */
  readonly identities?: readonly TestUser[];
  /**
   * Admission plugins turned off. Default ServiceAccount: without a controller manager no
   * ServiceAccount exists, and that plugin would refuse every Pod.
   */
  readonly disabledAdmissionPlugins?: readonly string[];
  /** The folder with the binaries (default: controlPlaneBinaries()). */
  readonly binDir?: string;
}

/** A control plane started here: what a node's components need to join it. */
export interface LocalControlPlane extends ControlPlane {
  /** The temporary folder (logs, keys, kubeconfigs); removed by stop(). */
  readonly dir: string;
  /** The API server's self-signed serving certificate followed by its CA (PEM). */
  readonly caFile: string;
  /** The private key that signs service-account tokens. */
  readonly serviceAccountKeyFile: string;
  /** Writes a kubeconfig file for one of TEST_USERS or the identities; returns its path. */
  kubeconfigFor(user: TestUser): Promise<string>;
}

/** Starts etcd and kube-apiserver on this machine. */
export async function startLocalControlPlane(options: ControlPlaneOptions = {}): Promise<LocalControlPlane> {
  const address = options.address ?? '127.0.0.1';
  const binDir = options.binDir ?? (await controlPlaneBinaries());
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
    for (const user of [...Object.values(TEST_USERS), ...(options.identities ?? [])]) {
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
    const server = `https://${address}:${securePort}`;
    const apiserver = await startProc(dir, 'kube-apiserver', path.join(binDir, 'kube-apiserver'), [
      `--etcd-servers=${etcdUrl}`,
      `--cert-dir=${certDir}`,
      `--secure-port=${securePort}`,
      `--bind-address=${address}`,
      `--advertise-address=${address}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      `--authorization-mode=${(options.authorizationModes ?? ['RBAC']).join(',')}`,
      '--allow-privileged=true',
      `--service-account-issuer=${server}`,
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      `--disable-admission-plugins=${(options.disabledAdmissionPlugins ?? ['ServiceAccount']).join(',')}`,
      `--token-auth-file=${tokenFile}`,
      `--audit-policy-file=${auditPolicy}`,
      `--audit-log-path=${auditLogPath}`,
      // A node's kubelet is reached by its name (a loopback InternalIP is not allowed).
      '--kubelet-preferred-address-types=Hostname,InternalIP',
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

    const as = (user: TestUser): KubeConfig => {
      const token = tokens.get(user.name);
      if (token === undefined) throw new Error(`no token for user ${user.name}`);
      return kubeConfigFor(server, caData, user.name, token);
    };
    let stopped: Promise<void> | undefined;
    return {
      server,
      kubeconfigPath,
      admin,
      existing: false,
      kubectl: process.env.KUBECTL ?? (existsSync(path.join(binDir, 'kubectl')) ? path.join(binDir, 'kubectl') : 'kubectl'),
      auditLogPath,
      as,
      dir,
      caFile: servingCert,
      serviceAccountKeyFile: saKey,
      kubeconfigFor: async (user) => {
        const file = path.join(dir, `${user.name.replace(/[^A-Za-z0-9-]/g, '_')}.kubeconfig`);
        await writeFile(file, as(user).exportConfig(), { mode: 0o600 });
        return file;
      },
      stop: () => (stopped ??= stopAll()),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
