/**
 * agent-sandbox v1.0.1 (sigs.k8s.io/agent-sandbox) as a real caller: its controller creates the
 * Pods of Sandboxes, SandboxClaims and warm pools, mountgate judges them (agent-sandbox-env.ts).
 * No kubelet runs here: where the controller waits for a running Pod (a warm Pod it may adopt), the
 * test writes the Pod's status as a kubelet would.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import {
  AGENT_SANDBOX_VERSION,
  API_VERSION,
  CORE_GROUP,
  EXTENSIONS_GROUP,
  startAgentSandbox,
  waitUntil,
  type AgentSandboxEnv,
} from './agent-sandbox-env.js';
import { sleep } from './controlplane.js';
import { ANNOTATION, ignoreNotFound, isNotFound, uniqueName } from './env.js';
import { injectedMount, injectedVolume, normalizeMounts, volumeName } from './expect.js';
import { e2e } from './hooks.js';
import { servedWith } from './served-policy.js';

interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}
interface Mount {
  readonly hostPath: string;
  readonly mountPath: string;
  readonly readOnly?: boolean;
}

const MODELS: Mount = { hostPath: '/srv/agents/models/llama', mountPath: '/models' };
const CONTAINER = { name: 'agent', image: 'registry.example/agent:1' };
const execFileAsync = promisify(execFile);
const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const FIELD = `metadata.annotations[${ANNOTATION}]`;
const denied = (webhook: string): string => `admission webhook "${webhook}" denied the request: mountgate denied the Pod: `;

/** What mountgate adds for these mounts: the volumes, and the agent container's mounts. */
function injected(mounts: readonly Mount[]): { volumes: unknown[]; volumeMounts: unknown[] } {
  return {
    volumes: mounts.map((m) => injectedVolume(m.hostPath, m.readOnly === false ? 'DirectoryOrCreate' : 'Directory')),
    volumeMounts: mounts.map((m) => injectedMount(m.hostPath, m.mountPath, m.readOnly !== false)),
  };
}

/** The mountgate volumes and the agent container's mountgate mounts of a stored Pod. */
function mountgateParts(pod: V1Pod): { volumes: unknown[]; volumeMounts: unknown[] } {
  const ours = (name: string): boolean => name.startsWith('mountgate-');
  return {
    volumes: (pod.spec?.volumes ?? []).filter((v) => ours(v.name)),
    volumeMounts: normalizeMounts(pod.spec?.containers.find((c) => c.name === CONTAINER.name)?.volumeMounts).filter((m) => ours(m.name)),
  };
}

/** mountgate's decision lines so far about the Pod called `pod`, by verdict. */
function mountgateDecisions(logFile: string, pod: string): { allowed: number; denied: number } {
  const counts = { allowed: 0, denied: 0 };
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry: unknown = JSON.parse(line);
    if (typeof entry !== 'object' || entry === null || !('pod' in entry) || entry.pod !== pod || !('verdict' in entry)) continue;
    if (entry.verdict === 'allowed') counts.allowed++;
    if (entry.verdict === 'denied') counts.denied++;
  }
  return counts;
}

function podTemplate(annotations: Record<string, string>): Record<string, unknown> {
  return { metadata: { annotations }, spec: { containers: [CONTAINER] } };
}

function conditionsOf(object: unknown): Condition[] {
  const status = typeof object === 'object' && object !== null && 'status' in object ? object.status : undefined;
  const conditions = typeof status === 'object' && status !== null && 'conditions' in status ? status.conditions : undefined;
  return Array.isArray(conditions) ? (conditions as Condition[]) : [];
}

describe(`e2e: agent-sandbox ${AGENT_SANDBOX_VERSION}, a second real caller`, function () {
  this.timeout(300_000);
  let as: AgentSandboxEnv | undefined;

  const env = (): AgentSandboxEnv => {
    if (as === undefined) throw new Error('agent-sandbox is not set up');
    return as;
  };
  const create = async (group: string, plural: string, body: Record<string, unknown>): Promise<void> => {
    const { custom, namespace } = env();
    await custom.createNamespacedCustomObject({ group, version: API_VERSION, namespace, plural, body });
  };
  const read = (group: string, plural: string, name: string): Promise<unknown> =>
    env().custom.getNamespacedCustomObject({ group, version: API_VERSION, namespace: env().namespace, plural, name });
  const readyOf = async (group: string, plural: string, name: string): Promise<Condition | undefined> =>
    conditionsOf(await read(group, plural, name)).find((c) => c.type === 'Ready');
  const pod = async (name: string): Promise<V1Pod | undefined> => {
    const { core, namespace } = env();
    try {
      return await core.readNamespacedPod({ namespace, name });
    } catch (error) {
      if (await isNotFound(Promise.reject(error))) return undefined;
      throw error;
    }
  };
  const logTail = (): string => {
    let log = '';
    try {
      log = readFileSync(env().controllerLog, 'utf8');
    } catch {
      log = '(no log)';
    }
    return `\ncontroller log:\n${log.trimEnd().split('\n').slice(-15).join('\n')}`;
  };
  /** The Ready condition of an object once its message says what mountgate said. */
  /** `by` is a webhook's name, or the backstop's as `{ backstop: NAME }`. */
  const refusal = async (group: string, plural: string, name: string, by: string | { readonly backstop: string }): Promise<Condition> => {
    const marker = typeof by === 'string' ? `admission webhook "${by}" denied the request` : `ValidatingAdmissionPolicy '${by.backstop}' with binding '${by.backstop}' denied request`;
    let last: Condition | undefined;
    return waitUntil(`${plural}/${name} Ready=False naming ${typeof by === 'string' ? by : by.backstop}`, 60_000, async () => {
      last = await readyOf(group, plural, name);
      return last?.status === 'False' && last.message?.includes(marker) === true ? last : undefined;
    }, () => `; last Ready: ${JSON.stringify(last)}${logTail()}`);
  };
  const annotationOf = (p: V1Pod | undefined): string | undefined => p?.metadata?.annotations?.[ANNOTATION];

  before(async function () {
    // The first run builds the controller from the Go module proxy (minutes on 2 cores).
    this.timeout(45 * 60_000);
    as = await startAgentSandbox(e2e());
  });

  after(async function () {
    this.timeout(120_000);
    const stopping = as;
    as = undefined;
    if (stopping !== undefined) await stopping.stop();
  });

  describe('Sandbox', () => {
    const name = uniqueName('sb');

    it("a Sandbox's Pod gets its mounts and is left alone for 30 s", async () => {
      const value = JSON.stringify([MODELS]);
      await create(CORE_GROUP, 'sandboxes', { apiVersion: `${CORE_GROUP}/${API_VERSION}`, kind: 'Sandbox', metadata: { name }, spec: { podTemplate: podTemplate({ [ANNOTATION]: value }) } });
      const created = await waitUntil(`Pod ${name}`, 60_000, () => pod(name), logTail);
      expect(annotationOf(created)).to.equal(value);
      expect(mountgateParts(created)).to.deep.equal(injected([MODELS]));

      const denied = (): Promise<number> => env().mountgate.metric('mountgate_admission_requests_total', { result: 'denied' });
      const deniedBefore = await denied();
      await sleep(30_000);
      const later = await pod(name);
      expect(later?.metadata?.uid, 'the same Pod').to.equal(created.metadata?.uid);
      expect(later?.spec).to.deep.equal(created.spec);
      expect(annotationOf(later)).to.equal(value);
      expect(await denied(), 'nothing the controller did in 30 s was refused').to.equal(deniedBefore);
      expect((await readyOf(CORE_GROUP, 'sandboxes', name))?.reason).to.not.equal('ReconcilerError');
    });

    it('a Pod deleted by hand comes back with its mounts', async () => {
      const { core, namespace } = env();
      const before = await pod(name);
      await core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 });
      const back = await waitUntil(`Pod ${name} recreated`, 60_000, async () => {
        const p = await pod(name);
        return p !== undefined && p.metadata?.uid !== before?.metadata?.uid ? p : undefined;
      }, logTail);
      expect(mountgateParts(back)).to.deep.equal(injected([MODELS]));
    });

    it("editing a Sandbox's mounts fails visibly in its Ready condition; the Pod keeps the annotation it was created with", async () => {
      const { custom, namespace } = env();
      const created = await pod(name);
      const edited = JSON.stringify([{ hostPath: '/srv/agents/workspaces/other', mountPath: '/work' }]);
      // The Sandbox controller copies the edited annotation onto the Pod with a metadata patch.
      await custom.patchNamespacedCustomObject(
        { group: CORE_GROUP, version: API_VERSION, namespace, plural: 'sandboxes', name, body: { spec: { podTemplate: { metadata: { annotations: { [ANNOTATION]: edited } } } } } },
        MERGE,
      );
      const ready = await refusal(CORE_GROUP, 'sandboxes', name, 'annotations.validate.mountgate.io');
      expect(ready.reason).to.equal('ReconcilerError');
      const other = '/srv/agents/workspaces/other';
      expect(ready.message).to.equal(
        `Error seen: failed to patch pod: ${denied('annotations.validate.mountgate.io')}` +
          `${FIELD}: was changed by an update, but host mounts are fixed when a Pod is created: create a new Pod that carries the new value instead; ` +
          `spec.volumes[0]: volume "${volumeName(MODELS.hostPath)}" does not match what this request adds; ` +
          `spec.volumes: requested mount is missing: volume "${volumeName(other)}" for ${other} (mutation skipped or altered); ` +
          `spec.containers[0].volumeMounts[0]: mount of "${volumeName(MODELS.hostPath)}" at "/models" does not match what this request adds; ` +
          'spec.containers[0].volumeMounts: requested mount is missing: "/work" in container "agent" (mutation skipped or altered)',
      );
      const after = await pod(name);
      expect(annotationOf(after)).to.equal(annotationOf(created));
      expect(after?.spec).to.deep.equal(created?.spec);
    });

    it('after the edit, deleting the Pod (a cold start) gives the Sandbox a Pod with the new mounts', async () => {
      const { core, namespace } = env();
      const before = await pod(name);
      await core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 });
      const workspace: Mount = { hostPath: '/srv/agents/workspaces/other', mountPath: '/work', readOnly: false };
      const back = await waitUntil(`Pod ${name} recreated`, 60_000, async () => {
        const p = await pod(name);
        return p !== undefined && p.metadata?.uid !== before?.metadata?.uid ? p : undefined;
      }, logTail);
      expect(annotationOf(back)).to.equal(JSON.stringify([{ hostPath: workspace.hostPath, mountPath: workspace.mountPath }]));
      expect(mountgateParts(back)).to.deep.equal(injected([workspace]));
      await waitUntil(`Sandbox ${name} no longer in error`, 30_000, async () =>
        (await readyOf(CORE_GROUP, 'sandboxes', name))?.reason === 'ReconcilerError' ? undefined : true,
      );
    });

    const refused = uniqueName('sb-etc');

    it("a disallowed mount leaves no Pod and mountgate's message in the Sandbox's Ready condition", async () => {
      await create(CORE_GROUP, 'sandboxes', {
        apiVersion: `${CORE_GROUP}/${API_VERSION}`,
        kind: 'Sandbox',
        metadata: { name: refused },
        spec: { podTemplate: podTemplate({ [ANNOTATION]: JSON.stringify([{ hostPath: '/etc', mountPath: '/host-etc' }]) }) },
      });
      const ready = await refusal(CORE_GROUP, 'sandboxes', refused, env().mutateWebhook);
      expect(ready.reason).to.equal('ReconcilerError');
      const message = `Error seen: ${denied(env().mutateWebhook)}${FIELD}[0].hostPath: "/etc" is not under any allowed host path`;
      expect(ready.message).to.equal(message);
      expect(await pod(refused)).to.equal(undefined);
      // Where a user looks: kubectl describe prints the condition's message whole.
      const { cp } = e2e();
      const { stdout } = await execFileAsync(cp.kubectl, ['--kubeconfig', cp.kubeconfigPath, 'describe', 'sandbox', refused, '--namespace', env().namespace], { timeout: 60_000 });
      expect(stdout).to.match(new RegExp(`\\n {4}Message: +${escapeRegExp(message)}\\n`));
      expect(stdout).to.match(/\n {4}Reason: +ReconcilerError\n {4}Status: +False\n {4}Type: +Ready\n/);
    });

    it('fixing the refused Sandbox is enough: the controller retries and its Pod gets the mounts', async () => {
      const { custom, namespace } = env();
      await custom.patchNamespacedCustomObject(
        { group: CORE_GROUP, version: API_VERSION, namespace, plural: 'sandboxes', name: refused, body: { spec: { podTemplate: { metadata: { annotations: { [ANNOTATION]: JSON.stringify([MODELS]) } } } } } },
        MERGE,
      );
      const created = await waitUntil(`Pod ${refused}`, 90_000, () => pod(refused), logTail);
      expect(mountgateParts(created)).to.deep.equal(injected([MODELS]));
    });

    it('a hostPath volume written into the podTemplate by hand is refused (handWrittenHostPaths: builtin), though its path is allowed: by the backstop, which the API server runs before /validate', async () => {
      const handWritten = uniqueName('sb-hand');
      const workspace = '/srv/agents/workspaces/by-hand';
      await create(CORE_GROUP, 'sandboxes', {
        apiVersion: `${CORE_GROUP}/${API_VERSION}`,
        kind: 'Sandbox',
        metadata: { name: handWritten },
        spec: {
          podTemplate: {
            spec: {
              containers: [{ ...CONTAINER, volumeMounts: [{ name: 'work', mountPath: '/work' }] }],
              volumes: [{ name: 'work', hostPath: { path: workspace } }],
            },
          },
        },
      });
      const { backstop } = env();
      const ready = await refusal(CORE_GROUP, 'sandboxes', handWritten, { backstop });
      expect(ready.reason).to.equal('ReconcilerError');
      // /validate's words (test/e2e/validate.test.ts has its own refusal), after the field and the volume's name.
      expect(ready.message).to.equal(
        `Error seen: pods "${handWritten}" is forbidden: ValidatingAdmissionPolicy '${backstop}' with binding '${backstop}' denied request: ` +
          `spec.volumes[0].hostPath.path (volume "work"): "${workspace}" is not under any built-in host path ` +
          '(with handWrittenHostPaths: builtin, allowed host paths come only through the annotation)',
      );
      expect(await pod(handWritten)).to.equal(undefined);
    });
  });

  describe('Sandbox shapes: claim templates, suspension, native sidecars', () => {
    const sandbox = (name: string, spec: Record<string, unknown>): Promise<void> =>
      create(CORE_GROUP, 'sandboxes', { apiVersion: `${CORE_GROUP}/${API_VERSION}`, kind: 'Sandbox', metadata: { name }, spec });
    const claimTemplate = (name: string): Record<string, unknown> => ({
      metadata: { name },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    const models = JSON.stringify([MODELS]);
    /** A refused Sandbox is retried by the controller until it goes: each refusal row removes its own. */
    const refusedSandbox = async (name: string, spec: Record<string, unknown>, webhook: string, message: string): Promise<void> => {
      await sandbox(name, spec);
      try {
        const ready = await refusal(CORE_GROUP, 'sandboxes', name, webhook);
        expect(ready.message).to.equal(`Error seen: ${denied(webhook)}${message}`);
        expect(await pod(name)).to.equal(undefined);
      } finally {
        const { custom, namespace } = env();
        await ignoreNotFound(custom.deleteNamespacedCustomObject({ group: CORE_GROUP, version: API_VERSION, namespace, plural: 'sandboxes', name }));
      }
    };

    it("volumeClaimTemplates: the claim's volume and its mount stay beside mountgate's", async () => {
      const name = uniqueName('sb-pvc');
      await sandbox(name, {
        podTemplate: { metadata: { annotations: { [ANNOTATION]: models } }, spec: { containers: [{ ...CONTAINER, volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] }] } },
        volumeClaimTemplates: [claimTemplate('scratch')],
      });
      const created = await waitUntil(`Pod ${name}`, 60_000, () => pod(name), logTail);
      expect(mountgateParts(created)).to.deep.equal(injected([MODELS]));
      expect(created.spec?.volumes?.find((v) => v.name === 'scratch')?.persistentVolumeClaim).to.deep.equal({ claimName: `scratch-${name}` });
      expect(normalizeMounts(created.spec?.containers[0]?.volumeMounts).map((m) => m.mountPath)).to.deep.equal(['/scratch', MODELS.mountPath]);
      const { core, namespace } = env();
      expect((await core.readNamespacedPersistentVolumeClaim({ namespace, name: `scratch-${name}` })).metadata?.name).to.equal(`scratch-${name}`);
    });

    it('a claim template whose name begins with "mountgate-" is refused, naming the volume and why, and leaves no Pod', async () => {
      await refusedSandbox(
        uniqueName('sb-pvc-named'),
        { podTemplate: podTemplate({ [ANNOTATION]: models }), volumeClaimTemplates: [claimTemplate('mountgate-cache')] },
        env().mutateWebhook,
        `spec.volumes[0]: volume "mountgate-cache" does not match what this request adds (it is not a hostPath volume: names that begin with "mountgate-" are mountgate's, so rename it)`,
      );
    });

    it('a claim mounted where the annotation asks for a mount is refused, naming the entry', async () => {
      await refusedSandbox(
        uniqueName('sb-pvc-clash'),
        {
          podTemplate: { metadata: { annotations: { [ANNOTATION]: models } }, spec: { containers: [{ ...CONTAINER, volumeMounts: [{ name: 'cache', mountPath: MODELS.mountPath }] }] } },
          volumeClaimTemplates: [claimTemplate('cache')],
        },
        env().mutateWebhook,
        `${FIELD}[0].mountPath: "${MODELS.mountPath}" is inside "${MODELS.mountPath}", already mounted in container "agent"`,
      );
    });

    it('Suspended, then Running: the Pod goes, and comes back with its mounts', async () => {
      const name = uniqueName('sb-suspend');
      const { custom, namespace } = env();
      await sandbox(name, { podTemplate: podTemplate({ [ANNOTATION]: models }) });
      const first = await waitUntil(`Pod ${name}`, 60_000, () => pod(name), logTail);
      const setMode = (operatingMode: string): Promise<unknown> =>
        custom.patchNamespacedCustomObject({ group: CORE_GROUP, version: API_VERSION, namespace, plural: 'sandboxes', name, body: { spec: { operatingMode } } }, MERGE);
      await setMode('Suspended');
      await waitUntil(`Pod ${name} gone`, 60_000, async () => ((await pod(name)) === undefined ? true : undefined), logTail);
      await waitUntil(`Sandbox ${name} Suspended=True`, 60_000, async () =>
        conditionsOf(await read(CORE_GROUP, 'sandboxes', name)).some((c) => c.type === 'Suspended' && c.status === 'True') ? true : undefined,
      logTail);
      await setMode('Running');
      const resumed = await waitUntil(`Pod ${name} resumed`, 60_000, () => pod(name), logTail);
      expect(resumed.metadata?.uid).to.not.equal(first.metadata?.uid);
      expect(annotationOf(resumed)).to.equal(models);
      expect(mountgateParts(resumed)).to.deep.equal(injected([MODELS]));
    });

    it('a native sidecar (an init container with restartPolicy: Always) gets none of the mounts; the Pod is admitted', async () => {
      const name = uniqueName('sb-sidecar');
      const sidecar = { name: 'proxy', image: 'registry.example/proxy:1', restartPolicy: 'Always' };
      await sandbox(name, { podTemplate: { metadata: { annotations: { [ANNOTATION]: models } }, spec: { initContainers: [sidecar], containers: [CONTAINER] } } });
      const created = await waitUntil(`Pod ${name}`, 60_000, () => pod(name), logTail);
      expect(mountgateParts(created)).to.deep.equal(injected([MODELS]));
      expect(created.spec?.initContainers?.map((c) => [c.name, c.restartPolicy, c.volumeMounts])).to.deep.equal([['proxy', 'Always', undefined]]);
    });

    it("a native sidecar that mounts mountgate's volume by hand is refused by /mutate (handWrittenHostPaths: builtin)", async () => {
      const sidecar = { name: 'proxy', image: 'registry.example/proxy:1', restartPolicy: 'Always', volumeMounts: [{ name: volumeName(MODELS.hostPath), mountPath: '/models', readOnly: true }] };
      await refusedSandbox(
        uniqueName('sb-sidecar-hand'),
        { podTemplate: { metadata: { annotations: { [ANNOTATION]: models } }, spec: { initContainers: [sidecar], containers: [CONTAINER] } } },
        env().mutateWebhook,
        `spec.initContainers[0].volumeMounts[0]: mount of "${volumeName(MODELS.hostPath)}" at "/models" ` +
          'is in container "proxy", which the annotation does not mount into (with handWrittenHostPaths: builtin, its volumes go only into the target containers)',
      );
    });
  });

  describe('SandboxTemplate, SandboxWarmPool, SandboxClaim', () => {
    const shared = uniqueName('shared');
    const perClaim = uniqueName('per-claim');

    const template = (name: string, annotations: Record<string, string>): Record<string, unknown> => ({
      apiVersion: `${EXTENSIONS_GROUP}/${API_VERSION}`,
      kind: 'SandboxTemplate',
      metadata: { name },
      spec: { podTemplate: podTemplate(annotations), envVarsInjectionPolicy: 'Allowed' },
    });
    const claim = (name: string, pool: string, spec: Record<string, unknown> = {}): Record<string, unknown> => ({
      apiVersion: `${EXTENSIONS_GROUP}/${API_VERSION}`,
      kind: 'SandboxClaim',
      metadata: { name },
      spec: { warmPoolRef: { name: pool }, ...spec },
    });
    /** The pool's one warm Sandbox, its Pod given an IP as a kubelet would, once the controller has seen the IP. */
    const warmSandbox = async (pool: string): Promise<string> => {
      const { core, custom, namespace } = env();
      const name = await waitUntil(`a warm Sandbox of ${pool}`, 60_000, async () => {
        const list = (await custom.listNamespacedCustomObject({ group: CORE_GROUP, version: API_VERSION, namespace, plural: 'sandboxes' })) as {
          items: Array<{ metadata: { name: string; ownerReferences?: Array<{ kind: string; name: string }> } }>;
        };
        return list.items.find((s) => s.metadata.ownerReferences?.some((o) => o.kind === 'SandboxWarmPool' && o.name === pool))?.metadata.name;
      }, logTail);
      await waitUntil(`warm Pod ${name}`, 60_000, () => pod(name), logTail);
      const now = new Date().toISOString();
      await core.patchNamespacedPodStatus(
        {
          namespace,
          name,
          body: {
            status: {
              phase: 'Running',
              hostIP: '127.0.0.1',
              podIP: '10.244.0.17',
              podIPs: [{ ip: '10.244.0.17' }],
              startTime: now,
              conditions: [
                { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
                { type: 'Initialized', status: 'True', lastTransitionTime: now },
                { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
                { type: 'Ready', status: 'True', lastTransitionTime: now },
              ],
            },
          },
        },
        MERGE,
      );
      await waitUntil(`Sandbox ${name} reporting the Pod IP`, 60_000, async () => {
        const sandbox = (await read(CORE_GROUP, 'sandboxes', name)) as { status?: { podIPs?: string[] } };
        return (sandbox.status?.podIPs ?? []).length > 0 ? true : undefined;
      }, logTail);
      return name;
    };
    const claimedSandbox = (name: string): Promise<string> =>
      waitUntil(`claim ${name} bound to a Sandbox`, 60_000, async () => {
        const c = (await read(EXTENSIONS_GROUP, 'sandboxclaims', name)) as { status?: { sandbox?: { name?: string } } };
        const bound = c.status?.sandbox?.name;
        return bound === undefined || bound === '' ? undefined : bound;
      }, logTail);

    before(async () => {
      await create(EXTENSIONS_GROUP, 'sandboxtemplates', template(shared, { [ANNOTATION]: JSON.stringify([MODELS]) }));
      await create(EXTENSIONS_GROUP, 'sandboxtemplates', template(perClaim, {}));
      for (const name of [shared, perClaim]) {
        await create(EXTENSIONS_GROUP, 'sandboxwarmpools', {
          apiVersion: `${EXTENSIONS_GROUP}/${API_VERSION}`,
          kind: 'SandboxWarmPool',
          metadata: { name },
          spec: { replicas: 1, sandboxTemplateRef: { name } },
        });
      }
    });

    it("a warm-pool adoption keeps the template's shared mounts (the warm Pod was created with them)", async () => {
      const warm = await warmSandbox(shared);
      const name = uniqueName('claim-shared');
      await create(EXTENSIONS_GROUP, 'sandboxclaims', claim(name, shared));
      expect(await claimedSandbox(name)).to.equal(warm);
      const adopted = await pod(warm);
      expect(annotationOf(adopted)).to.equal(JSON.stringify([MODELS]));
      expect(mountgateParts(adopted ?? {})).to.deep.equal(injected([MODELS]));
      await sleep(3_000);
      expect((await readyOf(EXTENSIONS_GROUP, 'sandboxclaims', name))?.reason).to.not.equal('ReconcilerError');
    });

    it('a cold-start claim gets its per-claim mounts', async () => {
      const name = uniqueName('claim-cold');
      const workspace: Mount = { hostPath: `/srv/agents/workspaces/${name}`, mountPath: '/workspace', readOnly: false };
      const value = JSON.stringify([workspace]);
      // env forces a cold start: the claim gets a Sandbox (and a Pod) of its own, created with its annotation.
      await create(EXTENSIONS_GROUP, 'sandboxclaims', claim(name, perClaim, { env: [{ name: 'TASK', value: 'e2e' }], additionalPodMetadata: { annotations: { [ANNOTATION]: value } } }));
      const sandbox = await claimedSandbox(name);
      const created = await waitUntil(`Pod ${sandbox}`, 60_000, () => pod(sandbox), logTail);
      expect(annotationOf(created)).to.equal(value);
      expect(mountgateParts(created)).to.deep.equal(injected([workspace]));
    });

    it("a warm-pool adoption that asks for mounts is refused visibly in the claim's Ready condition, and leaves no lying annotation", async () => {
      const warm = await warmSandbox(perClaim);
      const name = uniqueName('claim-warm');
      const workspace = `/srv/agents/workspaces/${name}`;
      const value = JSON.stringify([{ hostPath: workspace, mountPath: '/workspace', readOnly: false }]);
      // No env and no volumeClaimTemplates: the claim adopts the warm Sandbox, and the controller patches the Pod's metadata.
      await create(EXTENSIONS_GROUP, 'sandboxclaims', claim(name, perClaim, { additionalPodMetadata: { annotations: { [ANNOTATION]: value } } }));
      expect(await claimedSandbox(name)).to.equal(warm);
      const ready = await refusal(EXTENSIONS_GROUP, 'sandboxclaims', name, 'annotations.validate.mountgate.io');
      expect(ready.reason).to.equal('ReconcilerError');
      expect(ready.message).to.equal(
        `Error seen: failed to patch pod: ${denied('annotations.validate.mountgate.io')}` +
          `${FIELD}: was added by an update, but host mounts are fixed when a Pod is created: create a new Pod that carries the annotation instead; ` +
          `spec.volumes: requested mount is missing: volume "${volumeName(workspace)}" for ${workspace} (mutation skipped or altered); ` +
          'spec.containers[0].volumeMounts: requested mount is missing: "/workspace" in container "agent" (mutation skipped or altered)',
      );
      const adopted = await pod(warm);
      expect(annotationOf(adopted), 'the warm Pod never carries an annotation its volumes do not back').to.equal(undefined);
      expect(mountgateParts(adopted ?? {})).to.deep.equal({ volumes: [], volumeMounts: [] });
    });
  });

  describe('volumeRoot: writableAncestor (its policy reloaded with it, then restored)', () => {
    servedWith(() => env().mountgate, { volumeRoot: 'writableAncestor' });
    const name = uniqueName('sb-rooted');

    it("a Sandbox's workspace is mounted from the workspaces root with a subPath, and the controller leaves the Pod alone for 30 s", async () => {
      const root = '/srv/agents/workspaces';
      const workspace: Mount = { hostPath: `${root}/${name}/work`, mountPath: '/work', readOnly: false };
      const value = JSON.stringify([workspace, MODELS]);
      await create(CORE_GROUP, 'sandboxes', { apiVersion: `${CORE_GROUP}/${API_VERSION}`, kind: 'Sandbox', metadata: { name }, spec: { podTemplate: podTemplate({ [ANNOTATION]: value }) } });
      try {
        const created = await waitUntil(`Pod ${name}`, 60_000, () => pod(name), logTail);
        expect(mountgateParts(created)).to.deep.equal({
          volumes: [injectedVolume(root, 'DirectoryOrCreate'), injectedVolume(MODELS.hostPath, 'Directory')],
          volumeMounts: [{ name: volumeName(root), mountPath: '/work', subPath: `${name}/work` }, injectedMount(MODELS.hostPath, MODELS.mountPath, true)],
        });
        // Other objects of this suite are still being retried and refused: only this Pod's decisions count.
        const denials = (): number => mountgateDecisions(env().mountgate.logFile, name).denied;
        // The log is read as it is written: the Pod's own admission must be found in it, or no refusal could be either.
        expect(mountgateDecisions(env().mountgate.logFile, name).allowed, "mountgate's log has the Pod's admission").to.be.at.least(2);
        const deniedBefore = denials();
        await sleep(30_000);
        const later = await pod(name);
        expect(later?.metadata?.uid, 'the same Pod').to.equal(created.metadata?.uid);
        expect(later?.spec).to.deep.equal(created.spec);
        expect(denials(), 'nothing the controller did to the Pod in 30 s was refused').to.equal(deniedBefore);
        expect((await readyOf(CORE_GROUP, 'sandboxes', name))?.reason).to.not.equal('ReconcilerError');
      } finally {
        const { custom, namespace } = env();
        await ignoreNotFound(custom.deleteNamespacedCustomObject({ group: CORE_GROUP, version: API_VERSION, namespace, plural: 'sandboxes', name }));
      }
    });
  });
});
