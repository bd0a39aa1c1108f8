/**
 * The shipped deer-flow profile through the real API server: examples/deer-flow-policy.yaml served
 * by a mountgate of its own, behind webhook configurations rendered from the chart with
 * examples/deer-flow-values.yaml (only the namespace name and the test's URL and CA differ).
 *
 * Every sandbox Pod deer-flow's provisioner builds (deer-flow-pods.ts), created as the
 * provisioner's ServiceAccount, is admitted and stored exactly as sent; users' requests for
 * deer-flow's own targets, for deer-flow's host tree or outside the allow-list are refused with the
 * rule named; Pods of the shared namespace cannot dodge /validate by their labels.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { CoreV1Api, RbacAuthorizationV1Api, type V1Pod, type V1VolumeMount } from '@kubernetes/client-node';
import { TEST_USERS, impersonating, type TestUser } from './controlplane.js';
import { serveDeerFlowProfile } from './deer-flow-mountgate.js';
import { deerFlowSandboxPod, extraMountsFor, type ExtraMount, type SandboxRequest } from './deer-flow-pods.js';
import { ANNOTATION, apiError, deletePod, isNotFound, uniqueName } from './env.js';
import { container, injectedMount, injectedVolume, normalizeMounts, plain, volumeName } from './expect.js';
import { e2e } from './hooks.js';
import { servedWith } from './served-policy.js';
import type { MountgateProcess } from './mountgate-process.js';
import { Cleanups } from './processes.js';
import { findHelm, type WebhookConfigurations } from './webhooks.js';

/** The provisioner's identity under deer-flow's chart (release and namespace "deer-flow"), as in the values. */
const PROVISIONER: TestUser = { name: 'system:serviceaccount:deer-flow:deer-flow-deer-flow-provisioner', groups: [] };
const USER = 'u3';
const THREAD = 't-4c1e';
const X = extraMountsFor(USER, THREAD);
const A = `metadata.annotations[${ANNOTATION}]`;
const DENIED = 'mountgate denied the Pod: ';
const denied = (webhook: string, reason: string): string => `admission webhook "${webhook}" denied the request: ${DENIED}${reason}`;

interface DeerFlow {
  readonly namespace: string;
  readonly webhooks: WebhookConfigurations;
  /** The API as deer-flow's provisioner. */
  readonly provisioner: CoreV1Api;
  /** The mountgate judging the namespace, on a copy of the shipped policy (a test may change it and restore it). */
  readonly mountgate: MountgateProcess;
  readonly tearDown: () => Promise<void>;
}

/** A mountgate on the shipped profile, the chart's webhooks for one shared namespace, and RBAC like deer-flow's. */
async function setUpDeerFlow(): Promise<DeerFlow> {
  const env = e2e();
  const helm = await findHelm();
  if (helm === undefined) throw new Error('the deer-flow profile is tested through the chart: helm is needed (scripts/install-helm.sh)');
  const cleanups = new Cleanups('deer-flow tear-down');
  const tearDown = (): Promise<void> => cleanups.run();
  try {
    const dir = await mkdtemp(path.join(tmpdir(), 'mountgate-e2e-deer-flow-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));

    // deer-flow's namespace: the sandboxes next to deer-flow's other workloads, Pod Security
    // "privileged" (hostPath needs it) as docs/deer-flow.md describes.
    const namespace = uniqueName('mg-e2e-deer-flow');
    await env.core.createNamespace({ body: { metadata: { name: namespace, labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } } });
    cleanups.push(async () => {
      await env.core.deleteNamespace({ name: namespace });
    });
    // The provisioner's Role in deer-flow's chart; alice may create Pods too (a second user of the namespace).
    const rbac = env.cp.admin.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: 'deer-flow-provisioner' },
        rules: [{ apiGroups: [''], resources: ['pods', 'pods/log', 'services'], verbs: ['get', 'list', 'watch', 'create', 'delete'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'deer-flow-provisioner' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'deer-flow-provisioner' },
        subjects: [
          { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: PROVISIONER.name },
          { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: TEST_USERS.alice.name },
        ],
      },
    });

    const provisioner = impersonating(env.cp.kubeconfigPath, PROVISIONER).makeApiClient(CoreV1Api);
    const { mountgate, webhooks } = await serveDeerFlowProfile({
      cleanups,
      dir,
      helm,
      tls: env.tls,
      kubeconfigPath: env.cp.kubeconfigPath,
      admission: env.admissionApi,
      provisioner,
      namespace,
      release: 'mountgate-e2e-deer-flow',
      helmArgs: ['--set-json', `webhook.namespaceSelector=${JSON.stringify({ matchLabels: { 'kubernetes.io/metadata.name': namespace } })}`],
    });
    return { namespace, webhooks, provisioner, mountgate, tearDown };
  } catch (error) {
    return await cleanups.abandon('deer-flow set-up', error);
  }
}

/** Mounts compared on what they mean: name, target, read-only (false and absent alike), subPath. */
function mountsOf(mounts: readonly V1VolumeMount[] | undefined): unknown[] {
  return normalizeMounts(mounts).map((m) => ({ name: m.name, mountPath: m.mountPath, readOnly: m.readOnly === true, subPath: m.subPath }));
}

/** What mountgate may change: volumes and every container's mounts. */
function mountShape(pod: V1Pod): unknown {
  const spec = plain(pod.spec);
  return {
    volumes: spec?.volumes ?? [],
    containers: (spec?.containers ?? []).map((c) => ({ name: c.name, mounts: mountsOf(c.volumeMounts) })),
    initContainers: (spec?.initContainers ?? []).map((c) => ({ name: c.name, mounts: mountsOf(c.volumeMounts) })),
  };
}

/** The sandbox Pod for a request, named `name` (which starts with "sandbox-", as the provisioner's names do). */
function named(name: string, request: Omit<SandboxRequest, 'sandboxId'>): V1Pod {
  return deerFlowSandboxPod({ ...request, sandboxId: name.replace(/^sandbox-/, '') });
}

function withAnnotation(pod: V1Pod, value: unknown): V1Pod {
  return { ...pod, metadata: { ...pod.metadata, annotations: { [ANNOTATION]: JSON.stringify(value) } } };
}

const PVC = { skillsClaim: 'deer-flow-skills', userDataClaim: 'deer-flow-home' };
const ALL_EXTRAS: readonly ExtraMount[] = [X.acpWorkspace, X.integrationSkills, X.larkConfig, X.larkLocks, X.larkData, X.larkRuntime];
/** What deer-flow's Gateway forwards on every create, in its order: /mnt/skills/custom included. */
const GATEWAY_EXTRAS: readonly ExtraMount[] = [X.acpWorkspace, X.customSkills, X.integrationSkills, X.larkConfig, X.larkLocks, X.larkData, X.larkRuntime];

/** A sandbox Pod with every extra mount, whose annotation forwards a user's workspace and a model (the change docs/deer-flow.md describes). */
function withUserMounts(prefix: string): V1Pod {
  return withAnnotation(deerFlowSandboxPod({ sandboxId: uniqueName(prefix), userId: USER, threadId: THREAD, extraMounts: ALL_EXTRAS }), [
    { host_path: `/srv/sandbox/${USER}/work`, container_path: '/mnt/work', read_only: false },
    { host_path: '/srv/models/qwen', container_path: '/mnt/models' },
  ]);
}
const LARK: readonly ExtraMount[] = [X.larkConfig, X.larkLocks, X.larkData, X.larkRuntime];

/** Every sandbox Pod the provisioner builds, by the request that makes it. */
const admitted: ReadonlyArray<{ readonly title: string; readonly request: Omit<SandboxRequest, 'sandboxId'> }> = [
  { title: 'hostPath mode, default user, no extra mounts', request: {} },
  { title: 'hostPath mode, include_legacy_skills false', request: { userId: USER, threadId: THREAD, includeLegacySkills: false } },
  { title: 'hostPath mode, include_legacy_skills true', request: { userId: USER, threadId: THREAD, includeLegacySkills: true } },
  { title: 'extra mount /mnt/acp-workspace (read-only)', request: { userId: USER, threadId: THREAD, extraMounts: [X.acpWorkspace] } },
  { title: 'extra mount /mnt/skills/integrations (read-only)', request: { userId: USER, threadId: THREAD, extraMounts: [X.integrationSkills] } },
  { title: 'extra mount /mnt/integrations/lark-cli/config (read-only)', request: { userId: USER, threadId: THREAD, extraMounts: [X.larkConfig] } },
  { title: 'extra mount /mnt/integrations/lark-cli/config/locks (read-write)', request: { userId: USER, threadId: THREAD, extraMounts: [X.larkConfig, X.larkLocks] } },
  { title: 'extra mount /mnt/integrations/lark-cli/data (read-write)', request: { userId: USER, threadId: THREAD, extraMounts: [X.larkData] } },
  { title: 'extra mount /mnt/integrations/lark-cli/runtime (read-only)', request: { userId: USER, threadId: THREAD, extraMounts: [X.larkRuntime] } },
  { title: 'every extra mount at once', request: { userId: USER, threadId: THREAD, extraMounts: ALL_EXTRAS } },
  { title: 'Lark Pattern A: init container and emptyDir runtime', request: { userId: USER, threadId: THREAD, extraMounts: ALL_EXTRAS, larkRuntime: true } },
  { title: 'Lark Pattern B: shim init container and broker sidecar holding the credentials', request: { userId: USER, threadId: THREAD, extraMounts: ALL_EXTRAS, larkBroker: true } },
  { title: 'Lark Pattern B with only the config mount', request: { userId: USER, threadId: THREAD, extraMounts: [X.larkConfig], larkBroker: true } },
  {
    title: "Lark Pattern B with the broker's subcommand denylist",
    request: { userId: USER, threadId: THREAD, extraMounts: [X.larkConfig, X.larkData], larkBroker: true, larkBrokerDenySubcommands: 'config,auth login' },
  },
  { title: 'PVC mode (skills and user data)', request: { userId: USER, threadId: THREAD, pvc: PVC } },
  { title: 'PVC mode with a skills subPath template', request: { userId: USER, threadId: THREAD, pvc: { ...PVC, skillsSubPathTemplate: 'users/{user_id}/skills' } } },
  { title: 'PVC mode with every extra mount and the broker', request: { userId: USER, threadId: THREAD, pvc: PVC, extraMounts: ALL_EXTRAS, larkBroker: true } },
  { title: 'skills PVC, user data on hostPath', request: { userId: USER, threadId: THREAD, pvc: { skillsClaim: PVC.skillsClaim }, extraMounts: LARK } },
  // deer-flow's Helm chart by default: persistence.home.enabled sets USERDATA_PVC_NAME, skills.existingClaim is empty.
  { title: 'user data PVC, skills on hostPath (deer-flow\'s chart default)', request: { userId: USER, threadId: THREAD, pvc: { userDataClaim: PVC.userDataClaim }, extraMounts: [X.acpWorkspace] } },
];

describe('e2e: the deer-flow profile (examples/deer-flow-policy.yaml and examples/deer-flow-values.yaml)', function () {
  let df: DeerFlow | undefined;
  const deerFlow = (): DeerFlow => {
    if (df === undefined) throw new Error('the deer-flow environment is not set up');
    return df;
  };

  before(async function () {
    this.timeout(120_000);
    df = await setUpDeerFlow();
  });
  after(async function () {
    this.timeout(120_000);
    await df?.tearDown();
  });

  it('renders the values file as the documentation says: mutation by objectSelector, validation of every Pod', () => {
    const { webhooks, namespace } = deerFlow();
    const mutating = webhooks.mutating.webhooks?.[0];
    const validating = webhooks.validating.webhooks?.[0];
    expect(mutating?.objectSelector).to.deep.equal({ matchLabels: { app: 'deer-flow-sandbox' } });
    expect(validating?.objectSelector).to.deep.equal({});
    for (const hook of [mutating, validating]) expect(hook?.namespaceSelector?.matchLabels).to.deep.equal({ 'kubernetes.io/metadata.name': namespace });
  });

  for (const [index, row] of admitted.entries()) {
    it(`admits, unchanged, the sandbox Pod of: ${row.title}`, async () => {
      const { namespace, provisioner } = deerFlow();
      const sent = deerFlowSandboxPod({ ...row.request, sandboxId: uniqueName(`df${index}`) });
      const name = sent.metadata?.name ?? '';
      try {
        const stored = await provisioner.createNamespacedPod({ namespace, body: sent });
        expect(mountShape(stored)).to.deep.equal(mountShape(sent));
        expect(stored.metadata?.annotations ?? {}).to.deep.equal({});
      } finally {
        await deletePod(e2e().core, namespace, name);
      }
    });
  }

  // The Gateway sends /mnt/skills/custom with every create; without a skills claim it collides with the built-in mount.
  const duplicates: ReadonlyArray<{ readonly title: string; readonly request: Omit<SandboxRequest, 'sandboxId'>; readonly index: number }> = [
    { title: 'the extra mount at /mnt/skills/custom alone', request: { userId: USER, threadId: THREAD, extraMounts: [X.customSkills] }, index: 4 },
    { title: "the Gateway's whole payload, hostPath mode", request: { userId: USER, threadId: THREAD, extraMounts: GATEWAY_EXTRAS }, index: 5 },
    { title: "the Gateway's whole payload, user data PVC (deer-flow's chart default)", request: { userId: USER, threadId: THREAD, pvc: { userDataClaim: PVC.userDataClaim }, extraMounts: GATEWAY_EXTRAS }, index: 5 },
  ];
  for (const [index, row] of duplicates.entries()) {
    it(`refuses nothing of its own for ${row.title}: the API server refuses the provisioner's duplicate mountPath`, async () => {
      const { namespace, provisioner } = deerFlow();
      const sent = deerFlowSandboxPod({ ...row.request, sandboxId: uniqueName(`dfdup${index}`) });
      const status = await apiError(provisioner.createNamespacedPod({ namespace, body: sent }));
      expect({ code: status.code, message: status.message }).to.deep.equal({
        code: 422,
        message: `Pod "${sent.metadata?.name ?? ''}" is invalid: spec.containers[0].volumeMounts[${row.index}].mountPath: Invalid value: "/mnt/skills/custom": must be unique`,
      });
    });
  }

  it("injects a user's mount that the provisioner forwards in the annotation (the change docs/deer-flow.md describes)", async () => {
    const { namespace, provisioner } = deerFlow();
    const sent = withUserMounts('dfuser');
    const name = sent.metadata?.name ?? '';
    try {
      const stored = await provisioner.createNamespacedPod({ namespace, body: sent });
      const expectedVolumes = [...(sent.spec?.volumes ?? []), injectedVolume(`/srv/sandbox/${USER}/work`, 'DirectoryOrCreate'), injectedVolume('/srv/models/qwen', 'Directory')];
      expect(plain(stored.spec?.volumes)).to.deep.equal(expectedVolumes);
      expect(mountsOf(container(stored, 'sandbox').volumeMounts)).to.deep.equal(
        mountsOf([...(container(sent, 'sandbox').volumeMounts ?? []), injectedMount(`/srv/sandbox/${USER}/work`, '/mnt/work', false), injectedMount('/srv/models/qwen', '/mnt/models', true)]),
      );
    } finally {
      await deletePod(e2e().core, namespace, name);
    }
  });

  describe('with volumeRoot: writableAncestor (the served policy reloaded with it, then restored)', () => {
    servedWith(() => deerFlow().mountgate, { volumeRoot: 'writableAncestor' });

    it("mounts a user's workspace from /srv/sandbox with a subPath; the rest of deer-flow's Pod is stored as sent", async () => {
      const { namespace, provisioner } = deerFlow();
      const sent = withUserMounts('dfroot');
      const name = sent.metadata?.name ?? '';
      try {
        const stored = await provisioner.createNamespacedPod({ namespace, body: sent });
        expect(plain(stored.spec?.volumes)).to.deep.equal([...(sent.spec?.volumes ?? []), injectedVolume('/srv/sandbox', 'DirectoryOrCreate'), injectedVolume('/srv/models/qwen', 'Directory')]);
        expect(mountsOf(container(stored, 'sandbox').volumeMounts)).to.deep.equal(
          mountsOf([
            ...(container(sent, 'sandbox').volumeMounts ?? []),
            { name: volumeName('/srv/sandbox'), mountPath: '/mnt/work', subPath: `${USER}/work` },
            injectedMount('/srv/models/qwen', '/mnt/models', true),
          ]),
        );
      } finally {
        await deletePod(e2e().core, namespace, name);
      }
    });
  });

  const refusedRequests: ReadonlyArray<{ readonly title: string; readonly mounts: unknown; readonly as?: TestUser; readonly reason: string }> = [
    { title: 'a target under /mnt/skills', mounts: [{ host_path: '/srv/sandbox/u3', container_path: '/mnt/skills/mine' }], reason: `${A}[0].container_path: "/mnt/skills/mine" is inside the reserved path "/mnt/skills"` },
    { title: 'the target /mnt/user-data', mounts: [{ host_path: '/srv/sandbox/u3', container_path: '/mnt/user-data' }], reason: `${A}[0].container_path: "/mnt/user-data" is inside the reserved path "/mnt/user-data"` },
    { title: 'a target under /mnt/acp-workspace', mounts: [{ host_path: '/srv/sandbox/u3', container_path: '/mnt/acp-workspace/out' }], reason: `${A}[0].container_path: "/mnt/acp-workspace/out" is inside the reserved path "/mnt/acp-workspace"` },
    { title: 'a target under /mnt/integrations', mounts: [{ host_path: '/srv/sandbox/u3', container_path: '/mnt/integrations/lark-cli/data' }], reason: `${A}[0].container_path: "/mnt/integrations/lark-cli/data" is inside the reserved path "/mnt/integrations"` },
    { title: "deer-flow's host tree (another user's data)", mounts: [{ host_path: '/.deer-flow/users/u4', container_path: '/mnt/other' }], reason: `${A}[0].host_path: "/.deer-flow/users/u4" is not under any allowed host path` },
    { title: "deer-flow's own state root", mounts: [{ host_path: '/.deer-flow', container_path: '/mnt/state', read_only: true }], reason: `${A}[0].host_path: "/.deer-flow" is not under any allowed host path` },
    { title: 'a host path outside the allow-list', mounts: [{ host_path: '/etc', container_path: '/mnt/etc', read_only: true }], reason: `${A}[0].host_path: "/etc" is not under any allowed host path` },
    { title: 'a read-write mount of a read-only prefix', mounts: [{ host_path: '/srv/models/qwen', container_path: '/mnt/models', read_only: false }], reason: `${A}[0].read_only: "/srv/models/qwen" is under the read-only prefix "/srv/models" and must be mounted read-only` },
    { title: 'a request by anyone but the provisioner', as: TEST_USERS.alice, mounts: [{ host_path: '/srv/sandbox/u3', container_path: '/mnt/work' }], reason: 'request.userInfo: user "alice" may not request host mounts (not in requesters)' },
  ];

  for (const row of refusedRequests) {
    it(`refuses a user's request for ${row.title}, naming the rule`, async () => {
      const env = e2e();
      const { namespace, provisioner, webhooks } = deerFlow();
      const sent = withAnnotation(deerFlowSandboxPod({ sandboxId: uniqueName('dfno'), userId: USER, threadId: THREAD, extraMounts: ALL_EXTRAS }), row.mounts);
      const client = row.as === undefined ? provisioner : env.coreAs(TEST_USERS.alice);
      const status = await apiError(client.createNamespacedPod({ namespace, body: sent }));
      expect({ code: status.code, reason: status.reason, message: status.message }).to.deep.equal({ code: 403, reason: 'Forbidden', message: denied(webhooks.mutateWebhookName, row.reason) });
      expect(await isNotFound(env.core.readNamespacedPod({ namespace, name: sent.metadata?.name ?? '' }))).to.equal(true);
    });
  }

  /** Pods of the shared namespace that are not sandboxes, or that wrote host paths by hand. */
  const handWritten: ReadonlyArray<{ readonly title: string; readonly pod: (name: string) => V1Pod; readonly reason?: string }> = [
    {
      title: 'a Pod without the sandbox label (deer-flow\'s gateway, say) and without hostPath: admitted',
      pod: (name) => ({ metadata: { name, labels: { 'app.kubernetes.io/component': 'gateway' } }, spec: { containers: [{ name: 'gateway', image: 'deer-flow-backend' }] } }),
    },
    {
      title: 'a Pod without the sandbox label that mounts the node\'s /etc',
      pod: (name) => ({
        metadata: { name, labels: { 'app.kubernetes.io/component': 'gateway' } },
        spec: { containers: [{ name: 'gateway', image: 'deer-flow-backend', volumeMounts: [{ name: 'etc', mountPath: '/host-etc', readOnly: true }] }], volumes: [{ name: 'etc', hostPath: { path: '/etc' } }] },
      }),
      reason: 'spec.volumes[0].hostPath.path: "/etc" is not under any allowed or built-in host path',
    },
    {
      title: 'a Pod without the sandbox label that mounts deer-flow\'s state root',
      pod: (name) => ({
        metadata: { name },
        spec: { containers: [{ name: 'c', image: 'busybox', volumeMounts: [{ name: 'state', mountPath: '/state' }] }], volumes: [{ name: 'state', hostPath: { path: '/.deer-flow' } }] },
      }),
      reason: 'spec.volumes[0].hostPath.path: "/.deer-flow" is not under any allowed or built-in host path',
    },
    {
      title: "a sandbox Pod that mounts deer-flow's shared integration packages (not a provisioner mount)",
      pod: (name) => named(name, { extraMounts: [{ hostPath: '/.deer-flow/integrations/skills', containerPath: '/mnt/skills/integrations', readOnly: true }] }),
      reason: 'spec.volumes[4].hostPath.path: "/.deer-flow/integrations/skills" is not under any allowed or built-in host path',
    },
    {
      title: 'a sandbox Pod whose thread directory only shares characters with a built-in',
      pod: (name) => named(name, { extraMounts: [{ hostPath: '/.deer-flow/threads2/t1', containerPath: '/mnt/acp-workspace', readOnly: true }] }),
      reason: 'spec.volumes[4].hostPath.path: "/.deer-flow/threads2/t1" is not under any allowed or built-in host path',
    },
    {
      title: 'a Pod without the sandbox label that carries the annotation (never mutated, so the mount is missing)',
      pod: (name) => ({
        metadata: { name, annotations: { [ANNOTATION]: JSON.stringify([{ hostPath: '/srv/sandbox/u3', mountPath: '/mnt/work' }]) } },
        spec: { containers: [{ name: 'sandbox', image: 'busybox' }] },
      }),
      reason:
        `spec.volumes: requested mount is missing: volume "${volumeName('/srv/sandbox/u3')}" for /srv/sandbox/u3 (mutation skipped or altered); ` +
        'spec.containers[0].volumeMounts: requested mount is missing: "/mnt/work" in container "sandbox" (mutation skipped or altered)',
    },
    {
      title: 'a sandbox Pod whose public skills are mounted read-write',
      pod: (name) => {
        const pod = named(name, {});
        const skills = pod.spec?.containers[0]?.volumeMounts?.[0];
        if (skills !== undefined) skills.readOnly = false;
        return pod;
      },
      reason: 'spec.containers[0].volumeMounts[0]: container "sandbox" mounts "/.deer-flow/skills_view/public" read-write, but "/.deer-flow/skills_view" is read-only',
    },
    {
      title: "a sandbox Pod whose user's custom skills are mounted read-write (a \"*\" entry decides)",
      pod: (name) => {
        const pod = named(name, {});
        const custom = pod.spec?.containers[0]?.volumeMounts?.[1];
        if (custom !== undefined) custom.readOnly = false;
        return pod;
      },
      reason: 'spec.containers[0].volumeMounts[1]: container "sandbox" mounts "/.deer-flow/users/default/skills_view/custom" read-write, but "/.deer-flow/users/*/skills_view" is read-only',
    },
    {
      title: "a sandbox Pod that mounts a user's whole directory (only deer-flow's subtrees are built-ins)",
      pod: (name) => named(name, { extraMounts: [{ hostPath: `/.deer-flow/users/${USER}`, containerPath: '/mnt/acp-workspace', readOnly: true }] }),
      reason: `spec.volumes[4].hostPath.path: "/.deer-flow/users/${USER}" is not under any allowed or built-in host path`,
    },
    {
      title: "an init container that mounts the Gateway's lark-cli runtime read-write",
      pod: (name) => {
        const pod = named(name, { extraMounts: [X.larkRuntime] });
        if (pod.spec !== undefined) pod.spec.initContainers = [{ name: 'writer', image: 'busybox', volumeMounts: [{ name: 'extra-0', mountPath: '/rt' }] }];
        return pod;
      },
      reason: 'spec.initContainers[0].volumeMounts[0]: container "writer" mounts "/.deer-flow/integrations/lark-cli/sandbox-cli" read-write, but "/.deer-flow/integrations/lark-cli/sandbox-cli" is read-only',
    },
  ];

  for (const row of handWritten) {
    it(`judges every Pod of the shared namespace: ${row.title}`, async () => {
      const env = e2e();
      const { namespace, webhooks, provisioner } = deerFlow();
      const name = uniqueName('sandbox-hw');
      try {
        // As the provisioner's identity: deer-flow's Role lets it create any Pod in the namespace.
        if (row.reason === undefined) {
          await provisioner.createNamespacedPod({ namespace, body: row.pod(name) });
          return;
        }
        const status = await apiError(provisioner.createNamespacedPod({ namespace, body: row.pod(name) }));
        expect({ code: status.code, reason: status.reason, message: status.message }).to.deep.equal({ code: 403, reason: 'Forbidden', message: denied(webhooks.validateWebhookName, row.reason) });
      } finally {
        await deletePod(env.core, namespace, name);
      }
    });
  }
});
