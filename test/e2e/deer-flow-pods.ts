/**
 * deer-flow sandbox Pods as deer-flow's provisioner builds them (its `_build_pod`, checked at
 * deer-flow commit f1f4af99b, 2026-08-22), written from the facts of that code: names, labels,
 * containers, volume types, mount targets and read-only flags. Nothing here is mountgate's; the
 * deer-flow tests feed these Pods, unchanged, through the API server.
 */
import type { V1Container, V1Pod, V1Volume, V1VolumeMount } from '@kubernetes/client-node';

/** deer-flow's defaults: DEER_FLOW_HOST_BASE_DIR and THREADS_HOST_PATH. */
export const BASE = '/.deer-flow';
export const THREADS = '/.deer-flow/threads';
export const SANDBOX_IMAGE = 'enterprise-public-cn-beijing.cr.volces.com/vefaas-public/all-in-one-sandbox:latest';
export const LARK_INIT_IMAGE = 'registry.example.com/deer-flow/lark-cli-init:1';
export const LARK_BROKER_IMAGE = 'registry.example.com/deer-flow/lark-cli-broker:1';

const RUNTIME_PATH = '/mnt/integrations/lark-cli/runtime';
const CONFIG_PATH = '/mnt/integrations/lark-cli/config';
const LOCKS_PATH = '/mnt/integrations/lark-cli/config/locks';
const DATA_PATH = '/mnt/integrations/lark-cli/data';
/** The broker sidecar's own paths for the credential directories, by sandbox-side target. */
const BROKER_VOLUMES: ReadonlyArray<readonly [target: string, volume: string, sidecarPath: string]> = [
  [CONFIG_PATH, 'lark-cli-config', '/var/lark/config'],
  [LOCKS_PATH, 'lark-cli-locks', '/var/lark/config/locks'],
  [DATA_PATH, 'lark-cli-data', '/var/lark/data'],
];

/** One entry of the provisioner's `extra_mounts` request field (host_path, container_path, read_only). */
export interface ExtraMount {
  readonly hostPath: string;
  readonly containerPath: string;
  readonly readOnly: boolean;
}

export type ExtraMountTarget = 'acpWorkspace' | 'customSkills' | 'integrationSkills' | 'larkConfig' | 'larkLocks' | 'larkData' | 'larkRuntime';

/**
 * The extra mounts deer-flow's Gateway sends the provisioner, one per target the provisioner
 * accepts (its ALLOWED_EXTRA_MOUNT_PATHS), with the host paths and read-only flags the Gateway
 * computes for a user and thread.
 */
export function extraMountsFor(user: string, thread: string): Readonly<Record<ExtraMountTarget, ExtraMount>> {
  const lark = `${BASE}/users/${user}/integrations/lark-cli`;
  return {
    acpWorkspace: { hostPath: `${BASE}/users/${user}/threads/${thread}/acp-workspace`, containerPath: '/mnt/acp-workspace', readOnly: true },
    customSkills: { hostPath: `${BASE}/users/${user}/skills_view/custom`, containerPath: '/mnt/skills/custom', readOnly: true },
    integrationSkills: { hostPath: `${BASE}/users/${user}/skills_view/integrations`, containerPath: '/mnt/skills/integrations', readOnly: true },
    larkConfig: { hostPath: `${lark}/config`, containerPath: CONFIG_PATH, readOnly: true },
    larkLocks: { hostPath: `${lark}/config/locks`, containerPath: LOCKS_PATH, readOnly: false },
    larkData: { hostPath: `${lark}/data`, containerPath: DATA_PATH, readOnly: false },
    larkRuntime: { hostPath: `${BASE}/integrations/lark-cli/sandbox-cli`, containerPath: RUNTIME_PATH, readOnly: true },
  };
}

/** PVC mode: the provisioner's SKILLS_PVC_NAME, USERDATA_PVC_NAME and SKILLS_PVC_SUBPATH_TEMPLATE. */
export interface PvcMode {
  readonly skillsClaim?: string;
  readonly userDataClaim?: string;
  readonly skillsSubPathTemplate?: string;
}

export interface SandboxRequest {
  readonly sandboxId: string;
  readonly threadId?: string;
  readonly userId?: string;
  /** Accepted by the provisioner and ignored when it builds the Pod (the legacy volume is always there). */
  readonly includeLegacySkills?: boolean;
  readonly extraMounts?: readonly ExtraMount[];
  /** provision_lark_cli_runtime with LARK_CLI_INIT_IMAGE set (Pattern A). */
  readonly larkRuntime?: boolean;
  /** provision_lark_cli_broker with LARK_CLI_BROKER_IMAGE set (Pattern B; wins over Pattern A). */
  readonly larkBroker?: boolean;
  /** The provisioner's DEERFLOW_LARK_BROKER_DENY_SUBCOMMANDS, passed on to the broker sidecar when not empty. */
  readonly larkBrokerDenySubcommands?: string;
  readonly pvc?: PvcMode;
  /**
   * The provisioner's DEER_FLOW_HOST_BASE_DIR (default BASE): where its skills hostPaths live and
   * what its PVC subPaths of extra mounts are taken relative to. THREADS_HOST_PATH is separate.
   */
  readonly hostBaseDir?: string;
}

/** The part of the host path below the base, as the provisioner turns it into a PVC subPath. */
function pvcSubPath(hostPath: string, base: string): string {
  if (!hostPath.startsWith(`${base}/`)) throw new Error(`${hostPath} is outside ${base}`);
  return `deer-flow/${hostPath.slice(base.length + 1)}`;
}

function mountOf(name: string, mountPath: string, readOnly: boolean, subPath?: string): V1VolumeMount {
  return { name, mountPath, readOnly, ...(subPath === undefined ? {} : { subPath }) };
}

function hostOrClaim(name: string, hostPath: string, readOnly: boolean, claim: string | undefined): V1Volume {
  return claim === undefined
    ? { name, hostPath: { path: hostPath, type: readOnly ? 'Directory' : 'DirectoryOrCreate' } }
    : { name, persistentVolumeClaim: { claimName: claim } };
}

/** The sandbox Pod the provisioner creates for this request. */
export function deerFlowSandboxPod(request: SandboxRequest): V1Pod {
  const thread = request.threadId ?? request.sandboxId;
  const user = request.userId ?? 'default';
  const pvc = request.pvc ?? {};
  const broker = request.larkBroker === true;
  const runtime = request.larkRuntime === true;
  const all = request.extraMounts ?? [];
  // The lark-cli targets that the init container or the broker sidecar provide instead.
  const dropped = broker ? [RUNTIME_PATH, CONFIG_PATH, LOCKS_PATH, DATA_PATH] : runtime ? [RUNTIME_PATH] : [];
  const extras = all.filter((mount) => !dropped.includes(mount.containerPath));
  const userDataClaim = pvc.userDataClaim;
  const base = request.hostBaseDir ?? BASE;

  const volumes: V1Volume[] = [];
  const mounts: V1VolumeMount[] = [];
  if (pvc.skillsClaim !== undefined) {
    volumes.push({ name: 'skills', persistentVolumeClaim: { claimName: pvc.skillsClaim, readOnly: true } });
    const subPath = pvc.skillsSubPathTemplate?.replaceAll('{user_id}', user).replaceAll('{thread_id}', thread);
    mounts.push(mountOf('skills', '/mnt/skills', true, subPath));
  } else {
    for (const [name, path] of [
      ['skills-public', `${base}/skills_view/public`],
      ['skills-custom', `${base}/users/${user}/skills_view/custom`],
      ['skills-legacy', `${base}/users/${user}/skills_view/legacy`],
    ] as const) {
      volumes.push({ name, hostPath: { path, type: 'Directory' } });
    }
    mounts.push(
      mountOf('skills-public', '/mnt/skills/public', true),
      mountOf('skills-custom', '/mnt/skills/custom', true),
      mountOf('skills-legacy', '/mnt/skills/legacy', true),
    );
  }
  volumes.push(
    userDataClaim === undefined
      ? { name: 'user-data', hostPath: { path: `${THREADS}/${thread}/user-data`, type: 'DirectoryOrCreate' } }
      : { name: 'user-data', persistentVolumeClaim: { claimName: userDataClaim } },
  );
  mounts.push(mountOf('user-data', '/mnt/user-data', false, userDataClaim === undefined ? undefined : `deer-flow/users/${user}/threads/${thread}/user-data`));
  extras.forEach((mount, index) => {
    volumes.push(hostOrClaim(`extra-${index}`, mount.hostPath, mount.readOnly, userDataClaim));
    mounts.push(mountOf(`extra-${index}`, mount.containerPath, mount.readOnly, userDataClaim === undefined ? undefined : pvcSubPath(mount.hostPath, base)));
  });
  if (runtime || broker) {
    volumes.push({ name: 'lark-cli-runtime', emptyDir: {} });
    mounts.push(mountOf('lark-cli-runtime', RUNTIME_PATH, true));
  }

  const sidecars: V1Container[] = [];
  if (broker) {
    const sidecarMounts: V1VolumeMount[] = [];
    for (const [target, volume, sidecarPath] of BROKER_VOLUMES) {
      const mount = all.find((m) => m.containerPath === target);
      if (mount === undefined) continue;
      volumes.push(hostOrClaim(volume, mount.hostPath, mount.readOnly, userDataClaim));
      sidecarMounts.push(mountOf(volume, sidecarPath, mount.readOnly, userDataClaim === undefined ? undefined : pvcSubPath(mount.hostPath, base)));
    }
    sidecars.push({
      name: 'lark-cli-broker',
      image: LARK_BROKER_IMAGE,
      imagePullPolicy: 'IfNotPresent',
      args: ['serve'],
      env: [
        { name: 'LARKSUITE_CLI_CONFIG_DIR', value: '/var/lark/config' },
        { name: 'LARKSUITE_CLI_DATA_DIR', value: '/var/lark/data' },
        ...(request.larkBrokerDenySubcommands ? [{ name: 'DEERFLOW_LARK_BROKER_DENY_SUBCOMMANDS', value: request.larkBrokerDenySubcommands }] : []),
      ],
      volumeMounts: sidecarMounts,
      securityContext: { privileged: false, allowPrivilegeEscalation: false },
    });
  }
  const secure = { privileged: false, allowPrivilegeEscalation: false };
  const runtimeMount = mountOf('lark-cli-runtime', RUNTIME_PATH, false);
  const runtimeEnv = [{ name: 'LARK_CLI_RUNTIME_DEST', value: RUNTIME_PATH }];
  const initContainers: V1Container[] = broker
    ? [{ name: 'lark-cli-shim-init', image: LARK_BROKER_IMAGE, imagePullPolicy: 'IfNotPresent', args: ['install-shim', RUNTIME_PATH], env: runtimeEnv, volumeMounts: [runtimeMount], securityContext: secure }]
    : runtime
      ? [{ name: 'lark-cli-init', image: LARK_INIT_IMAGE, imagePullPolicy: 'IfNotPresent', env: runtimeEnv, volumeMounts: [runtimeMount], securityContext: secure }]
      : [];

  const probe = { httpGet: { path: '/v1/sandbox', port: 8080 }, timeoutSeconds: 3, failureThreshold: 3 };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `sandbox-${request.sandboxId}`,
      labels: {
        app: 'deer-flow-sandbox',
        'sandbox-id': request.sandboxId,
        'app.kubernetes.io/name': 'deer-flow',
        'app.kubernetes.io/component': 'sandbox',
      },
    },
    spec: {
      containers: [
        {
          name: 'sandbox',
          image: SANDBOX_IMAGE,
          imagePullPolicy: 'IfNotPresent',
          ...(broker ? { env: [{ name: 'DEERFLOW_LARK_BROKER_URL', value: 'http://127.0.0.1:8788' }] } : {}),
          ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
          readinessProbe: { ...probe, initialDelaySeconds: 5, periodSeconds: 5 },
          livenessProbe: { ...probe, initialDelaySeconds: 10, periodSeconds: 10 },
          resources: {
            requests: { cpu: '100m', memory: '256Mi', 'ephemeral-storage': '500Mi' },
            limits: { cpu: '1000m', memory: '1Gi', 'ephemeral-storage': '500Mi' },
          },
          volumeMounts: mounts,
          securityContext: { privileged: false, allowPrivilegeEscalation: true },
        },
        ...sidecars,
      ],
      ...(initContainers.length > 0 ? { initContainers } : {}),
      volumes,
      restartPolicy: 'Always',
    },
  };
}
