/**
 * The annotation never lies, through a real API server: a CREATE that carries mountgate's volumes
 * without the annotation is refused, and every API call that can put the policy annotation on an
 * existing Pod (replace, JSON / merge / strategic-merge patch, server-side apply,
 * a status write, a Binding through pods/binding or the bindings resource, ephemeral containers) is
 * either refused with mountgate's reason or leaves the annotation as it was; what leaves it alone is
 * never sent to mountgate (the chart's matchCondition).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { ANNOTATION, apiError, deletePod, sandboxPod, uniqueName } from './env.js';
import { TEST_USERS } from './controlplane.js';
import { volumeName } from './expect.js';
import { e2e } from './hooks.js';
import { MOUNTGATE_MAIN } from './mountgate-process.js';

const FIELD = `metadata.annotations[${ANNOTATION}]`;
const WEBHOOK = 'annotations.validate.mountgate.io';
const PREFIX = `admission webhook "${WEBHOOK}" denied the request: mountgate denied the Pod: `;
const FIXED = 'but host mounts are fixed when a Pod is created';
const ADDED = `${FIELD}: was added by an update, ${FIXED}: create a new Pod that carries the annotation instead`;
const CHANGED = `${FIELD}: was changed by an update, ${FIXED}: create a new Pod that carries the new value instead`;
const REMOVED = `${FIELD}: was removed by an update, ${FIXED}: the Pod keeps its mounts, so it keeps the annotation (create a new Pod without it instead)`;
const BINDING = `${FIELD}: is set by a Binding, ${FIXED}: a Binding may not set it`;
const SANDBOX_USER = 'mountgate.io/sandbox-user';
const USER_FIXED = "but the Pod has hostPath volumes and a Pod's sandbox user is fixed when it is created";
const USER_CHANGED = `metadata.annotations[${SANDBOX_USER}]: was changed by an update, ${USER_FIXED}: create a new Pod that carries the new value instead`;
const USER_ADDED = `metadata.annotations[${SANDBOX_USER}]: was added by an update, ${USER_FIXED}: create a new Pod that carries the annotation instead`;
const USER_BINDING = `metadata.annotations[${SANDBOX_USER}]: is set by a Binding, but a Pod's sandbox user is fixed when it is created: a Binding may not set it`;

const patchAs = (strategy: (typeof PatchStrategy)[keyof typeof PatchStrategy]) => setHeaderOptions('Content-Type', strategy);

describe('e2e: the annotation never lies (Pod updates, status writes, Bindings)', function () {
  this.timeout(120_000);
  const created: string[] = [];
  const work = (name: string): { hostPath: string; mountPath: string } => ({ hostPath: `/srv/sandbox/${name}`, mountPath: '/mnt/work' });
  const missing = (name: string): string =>
    `spec.volumes: requested mount is missing: volume "${volumeName(`/srv/sandbox/${name}`)}" for /srv/sandbox/${name} (mutation skipped or altered); ` +
    'spec.containers[0].volumeMounts: requested mount is missing: "/mnt/work" in container "sandbox" (mutation skipped or altered)';

  /** A stored Pod: with mounts (and the annotation that asked for them), or plain. */
  const createPod = async (prefix: string, withMounts: boolean): Promise<V1Pod> => {
    const { core, enabledNs } = e2e();
    const name = uniqueName(prefix);
    created.push(name);
    return core.createNamespacedPod({ namespace: enabledNs, body: withMounts ? sandboxPod(name, [work(name)]) : sandboxPod(name) });
  };
  const nameOf = (pod: V1Pod): string => pod.metadata?.name ?? '';
  const stored = (pod: V1Pod): Promise<V1Pod> => e2e().core.readNamespacedPod({ namespace: e2e().enabledNs, name: nameOf(pod) });
  const validateCalls = (): Promise<number> => e2e().mountgate.metric('mountgate_admission_requests_total', { endpoint: 'validate' });

  after(async () => {
    const { core, enabledNs } = e2e();
    for (const name of created) await deletePod(core, enabledNs, name);
  });

  it("refuses a CREATE without the annotation that carries mountgate's volumes (written by hand)", async () => {
    const { core, enabledNs, validateWebhook } = e2e();
    const name = uniqueName('create');
    created.push(name);
    const hostPath = `/srv/sandbox/${name}`;
    const body = sandboxPod(name);
    body.spec?.volumes?.push({ name: volumeName(hostPath), hostPath: { path: hostPath, type: 'DirectoryOrCreate' } });
    body.spec?.containers[0]?.volumeMounts?.push({ name: volumeName(hostPath), mountPath: '/mnt/work' });
    expect(await apiError(core.createNamespacedPod({ namespace: enabledNs, body }))).to.deep.equal({
      code: 403,
      reason: 'Forbidden',
      message:
        `admission webhook "${validateWebhook}" denied the request: mountgate denied the Pod: ` +
        `spec.volumes[2]: volume "${volumeName(hostPath)}" mounts "${hostPath}" from the host, but no annotation asks for it`,
    });
  });

  it('refuses a replace (PUT) that adds the annotation to a Pod without its mounts', async () => {
    const { core, enabledNs } = e2e();
    const pod = await createPod('put', false);
    const name = nameOf(pod);
    const body: V1Pod = { ...pod, metadata: { ...pod.metadata, annotations: { [ANNOTATION]: JSON.stringify([work(name)]) } } };
    expect(await apiError(core.replaceNamespacedPod({ namespace: enabledNs, name, body }))).to.deep.equal({ code: 403, reason: 'Forbidden', message: `${PREFIX}${ADDED}; ${missing(name)}` });
    expect((await stored(pod)).metadata?.annotations?.[ANNOTATION]).to.equal(undefined);
  });

  it('refuses a merge patch of metadata that changes the value (to a path the Pod does not carry)', async () => {
    const { core, enabledNs } = e2e();
    const pod = await createPod('merge', true);
    const name = nameOf(pod);
    const body = { metadata: { annotations: { [ANNOTATION]: JSON.stringify([{ hostPath: '/etc', mountPath: '/mnt/work' }]) } } };
    expect(await apiError(core.patchNamespacedPod({ namespace: enabledNs, name, body }, patchAs(PatchStrategy.MergePatch)))).to.deep.equal({
      code: 403,
      reason: 'Forbidden',
      message: `${PREFIX}${CHANGED}; ${FIELD}[0].hostPath: "/etc" is not under any allowed host path`,
    });
    expect((await stored(pod)).metadata?.annotations?.[ANNOTATION]).to.equal(JSON.stringify([work(name)]));
  });

  it('refuses a JSON patch that removes the annotation from a Pod that keeps its mounts', async () => {
    const { core, enabledNs } = e2e();
    const pod = await createPod('jsonpatch', true);
    const name = nameOf(pod);
    const body = [{ op: 'remove', path: `/metadata/annotations/${ANNOTATION.replace('~', '~0').replace('/', '~1')}` }];
    expect(await apiError(core.patchNamespacedPod({ namespace: enabledNs, name, body }, patchAs(PatchStrategy.JsonPatch)))).to.deep.equal({
      code: 403,
      reason: 'Forbidden',
      message: `${PREFIX}${REMOVED}; spec.volumes[2]: volume "${volumeName(`/srv/sandbox/${name}`)}" mounts "/srv/sandbox/${name}" from the host, but no annotation asks for it`,
    });
  });

  it('refuses a strategic-merge patch and a server-side apply that add the annotation', async () => {
    const { core, enabledNs } = e2e();
    const pod = await createPod('smp', false);
    const name = nameOf(pod);
    const annotations = { [ANNOTATION]: JSON.stringify([work(name)]) };
    const expected = { code: 403, reason: 'Forbidden', message: `${PREFIX}${ADDED}; ${missing(name)}` };
    expect(await apiError(core.patchNamespacedPod({ namespace: enabledNs, name, body: { metadata: { annotations } } }, patchAs(PatchStrategy.StrategicMergePatch)))).to.deep.equal(expected);
    const apply = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: enabledNs, annotations } };
    expect(
      await apiError(core.patchNamespacedPod({ namespace: enabledNs, name, body: apply, fieldManager: 'mountgate-e2e', force: true }, patchAs(PatchStrategy.ServerSideApply))),
    ).to.deep.equal(expected);
  });

  it('refuses a status write that adds the annotation (pods/status reaches metadata too)', async () => {
    const { core, enabledNs } = e2e();
    const pod = await createPod('status', false);
    const name = nameOf(pod);
    const body = { metadata: { annotations: { [ANNOTATION]: JSON.stringify([work(name)]) } }, status: { podIP: '10.244.0.9' } };
    expect(await apiError(core.patchNamespacedPodStatus({ namespace: enabledNs, name, body }, patchAs(PatchStrategy.MergePatch)))).to.deep.equal({
      code: 403,
      reason: 'Forbidden',
      message: `${PREFIX}${ADDED}; ${missing(name)}`,
    });
  });

  it("refuses a Binding that sets the annotation (pods/binding and bindings), and lets the scheduler's Binding through unsent", async () => {
    const { core, enabledNs } = e2e();
    const pod = await createPod('binding', false);
    const name = nameOf(pod);
    const binding = (annotations?: Record<string, string>) => ({
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name, ...(annotations === undefined ? {} : { annotations }) },
      target: { apiVersion: 'v1', kind: 'Node', name: 'node-1' },
    });
    const asking = { [ANNOTATION]: JSON.stringify([work(name)]) };
    expect(await apiError(core.createNamespacedPodBinding({ namespace: enabledNs, name, body: binding(asking) }))).to.deep.equal({ code: 403, reason: 'Forbidden', message: `${PREFIX}${BINDING}` });
    expect(await apiError(core.createNamespacedBinding({ namespace: enabledNs, body: binding(asking) }))).to.deep.equal({ code: 403, reason: 'Forbidden', message: `${PREFIX}${BINDING}` });

    const calls = await validateCalls();
    await core.createNamespacedPodBinding({ namespace: enabledNs, name, body: binding() });
    const bound = await stored(pod);
    expect(bound.spec?.nodeName).to.equal('node-1');
    expect(bound.metadata?.annotations?.[ANNOTATION]).to.equal(undefined);
    expect(await validateCalls(), 'a Binding without the annotation is not sent').to.equal(calls);
  });

  it('refuses changing or adding the sandbox user of a Pod with hostPath volumes (patch, status write, Binding)', async () => {
    const { core, enabledNs } = e2e();
    const name = uniqueName('user');
    created.push(name);
    const body = sandboxPod(name, [work(name)]);
    body.metadata = { ...body.metadata, annotations: { ...body.metadata?.annotations, [SANDBOX_USER]: 'alice' } };
    const pod = await core.createNamespacedPod({ namespace: enabledNs, body });
    const to = (user: string) => ({ metadata: { annotations: { [SANDBOX_USER]: user } } });
    const refused = (message: string) => ({ code: 403, reason: 'Forbidden', message: `${PREFIX}${message}` });
    expect(await apiError(core.patchNamespacedPod({ namespace: enabledNs, name, body: to('bob') }, patchAs(PatchStrategy.MergePatch)))).to.deep.equal(refused(USER_CHANGED));
    expect(await apiError(core.patchNamespacedPodStatus({ namespace: enabledNs, name, body: to('bob') }, patchAs(PatchStrategy.MergePatch)))).to.deep.equal(refused(USER_CHANGED));
    const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name, annotations: { [SANDBOX_USER]: 'bob' } }, target: { apiVersion: 'v1', kind: 'Node', name: 'node-1' } };
    expect(await apiError(core.createNamespacedPodBinding({ namespace: enabledNs, name, body: binding }))).to.deep.equal(refused(USER_BINDING));
    expect((await stored(pod)).metadata?.annotations?.[SANDBOX_USER]).to.equal('alice');

    const bare = await createPod('useradd', true);
    expect(await apiError(core.patchNamespacedPod({ namespace: enabledNs, name: nameOf(bare), body: to('bob') }, patchAs(PatchStrategy.MergePatch)))).to.deep.equal(refused(USER_ADDED));
  });

  it('refuses creating a Pod with hostPath volumes and the sandbox user from a requester not in trustedProvisioners, at /mutate already', async () => {
    const { enabledNs, mutateWebhook, coreAs } = e2e();
    const name = uniqueName('usernew');
    const body = sandboxPod(name, [work(name)]);
    body.metadata = { ...body.metadata, annotations: { ...body.metadata?.annotations, [SANDBOX_USER]: 'alice' } };
    expect(await apiError(coreAs(TEST_USERS.alice).createNamespacedPod({ namespace: enabledNs, body }))).to.deep.equal({
      code: 403,
      reason: 'Forbidden',
      message:
        `admission webhook "${mutateWebhook}" denied the request: mountgate denied the Pod: ` +
        `metadata.annotations[${SANDBOX_USER}]: names the sandbox user of a Pod with hostPath volumes, which only trustedProvisioners may do, and user "alice" is not in trustedProvisioners`,
    });
  });

  it('admits a new sandbox user on a Pod without hostPath volumes (nothing is judged with it)', async () => {
    const { core, enabledNs } = e2e();
    const name = uniqueName('userplain');
    created.push(name);
    const body = sandboxPod(name);
    if (body.spec !== undefined) {
      body.spec.volumes = [{ name: 'skills', emptyDir: {} }, { name: 'user-data', emptyDir: {} }];
    }
    const pod = await core.createNamespacedPod({ namespace: enabledNs, body });
    const calls = await validateCalls();
    await core.patchNamespacedPod({ namespace: enabledNs, name, body: { metadata: { annotations: { [SANDBOX_USER]: 'bob' } } } }, patchAs(PatchStrategy.MergePatch));
    expect(await validateCalls(), 'the new sandbox user is judged').to.equal(calls + 1);
    expect((await stored(pod)).metadata?.annotations?.[SANDBOX_USER]).to.equal('bob');
  });

  it('keeps the annotation as it was when ephemeral containers are added (the API server ignores their metadata)', async () => {
    const { core, enabledNs } = e2e();
    const pod = await createPod('debug', true);
    const name = nameOf(pod);
    const body = {
      metadata: { annotations: { [ANNOTATION]: '[]' } },
      spec: { ephemeralContainers: [{ name: 'debugger', image: 'busybox' }] },
    };
    await core.patchNamespacedPodEphemeralcontainers({ namespace: enabledNs, name, body }, patchAs(PatchStrategy.StrategicMergePatch));
    const after = await stored(pod);
    expect(after.spec?.ephemeralContainers?.map((c) => c.name)).to.deep.equal(['debugger']);
    expect(after.metadata?.annotations?.[ANNOTATION]).to.equal(JSON.stringify([work(name)]));
  });

  it('sends nothing for an update that leaves the annotation alone, and admits a new spelling of the same mounts', async () => {
    const { core, enabledNs } = e2e();
    const pod = await createPod('label', true);
    const name = nameOf(pod);
    const calls = await validateCalls();
    await core.patchNamespacedPod({ namespace: enabledNs, name, body: { metadata: { labels: { edited: 'yes' } } } }, patchAs(PatchStrategy.MergePatch));
    await core.patchNamespacedPodStatus({ namespace: enabledNs, name, body: { status: { podIP: '10.244.0.10' } } }, patchAs(PatchStrategy.MergePatch));
    expect(await validateCalls(), 'neither update reached mountgate').to.equal(calls);

    const respelt = JSON.stringify([{ host_path: `/srv/sandbox/${name}`, container_path: '/mnt/work', read_only: false }]);
    await core.patchNamespacedPod({ namespace: enabledNs, name, body: { metadata: { annotations: { [ANNOTATION]: respelt } } } }, patchAs(PatchStrategy.MergePatch));
    expect(await validateCalls(), 'a changed value is judged').to.equal(calls + 1);
    expect((await stored(pod)).metadata?.annotations?.[ANNOTATION]).to.equal(respelt);
  });

  it('leaves no Pod whose annotation and volumes disagree (mountgate audit)', async () => {
    const { cp, core, dir, enabledNs } = e2e();
    // One Pod of its own, so that the audit has a Pod of this file to judge however the tests are selected.
    await createPod('audited', true);
    const present = (await core.listNamespacedPod({ namespace: enabledNs })).items.map((pod) => pod.metadata?.name ?? '');
    const ours = created.filter((name) => present.includes(name));
    expect(ours.length, 'Pods of this file stored in the namespace').to.be.greaterThan(0);
    const report = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        [MOUNTGATE_MAIN, 'audit', '--config', path.join(dir, 'policy.yaml'), '--kubeconfig', cp.kubeconfigPath, '--namespace', enabledNs, '-o', 'json'],
        { timeout: 60_000 },
        (error, stdout, stderr) => (error !== null && error.code !== 1 ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
      );
    });
    const parsed = JSON.parse(report) as { podsScanned: number; findings: Array<{ pod: string }> };
    // Every Pod of the namespace was judged (no Pod is created or deleted there meanwhile): an empty list means something.
    expect(parsed.podsScanned, 'Pods the audit judged').to.equal(present.length);
    expect(parsed.findings.filter((f) => created.includes(f.pod))).to.deep.equal([]);
  });
});
