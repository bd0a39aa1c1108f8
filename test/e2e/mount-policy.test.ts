/**
 * MountPolicy through a real API server: the chart's CRD and webhooks (rendered with
 * mountPolicies.enabled=true), two mountgate replicas with --mount-policies competing for one Lease,
 * behind webhooks that select only this file's namespaces. The cluster policy allows /srv/tenants
 * (every tenant's tree) and /srv/sandbox; a MountPolicy in team-a narrows it to team-a's tree.
 * A third mountgate that cannot reach the API server shows what an unsynced cache does.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import {
  AdmissionregistrationV1Api,
  ApiextensionsV1Api,
  CoordinationV1Api,
  CustomObjectsApi,
  type V1MutatingWebhookConfiguration,
  type V1Pod,
  type V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { waitUntil } from './agent-sandbox-env.js';
import { freePort } from './controlplane.js';
import { apiError, ignoreNotFound, uniqueName, waitForWebhooks } from './env.js';
import { injectedVolume } from './expect.js';
import { e2e } from './hooks.js';
import { httpsGetStatus, MOUNTGATE_MAIN, MountgateProcess } from './mountgate-process.js';
import { Cleanups } from './processes.js';
import { findHelm, fromChart, mountPolicyCrd, type WebhookConfigurations } from './webhooks.js';
import { MOUNT_POLICY_GROUP as GROUP, MOUNT_POLICY_RESOURCE as PLURAL, MOUNT_POLICY_VERSION as VERSION } from '../../src/policy/mount-policy.js';

const execFileAsync = promisify(execFile);

const SELECTED_LABEL = 'mountgate.io/e2e-mount-policies';
const CONFIG_NAME = 'mountgate-e2e-mount-policies';
const UNSYNCED_CONFIG_NAME = 'mountgate-e2e-mount-policies-unsynced';
const A = 'metadata.annotations[mountgate.io/mounts]';
const CLUSTER_POLICY = { allowedHostPaths: [{ pathPrefix: '/srv/tenants' }, { pathPrefix: '/srv/sandbox' }], maxMounts: 5 };

interface Mount {
  readonly hostPath: string;
  readonly mountPath: string;
  readonly readOnly?: boolean;
}

/** A Pod of one container that asks for mounts (or, with `volumes`, carries hostPath volumes of its own). */
function tenantPod(name: string, mounts?: readonly Mount[], volumes: readonly string[] = []): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...(mounts === undefined ? {} : { annotations: { 'mountgate.io/mounts': JSON.stringify(mounts) } }) },
    spec: {
      containers: [{ name: 'work', image: 'busybox:1.36', volumeMounts: volumes.map((_, i) => ({ name: `own-${i}`, mountPath: `/own/${i}`, readOnly: true })) }],
      volumes: volumes.map((hostPath, i) => ({ name: `own-${i}`, hostPath: { path: hostPath } })),
      restartPolicy: 'Never',
    },
  };
}

const TENANT_METADATA = { labels: { team: 'a' }, annotations: { 'example.com/owner': 'team-a admins' } };

interface StoredMountPolicy {
  readonly metadata: { readonly generation: number; readonly resourceVersion: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly spec?: unknown;
  readonly status?: {
    readonly observedGeneration?: number;
    readonly conditions?: ReadonlyArray<{ readonly type: string; readonly status: string; readonly reason: string; readonly message: string; readonly observedGeneration?: number }>;
    readonly effectiveAllowedHostPaths?: ReadonlyArray<{ readonly pathPrefix: string; readonly readOnly?: boolean }>;
  };
}

function asStored(value: unknown): StoredMountPolicy {
  if (typeof value !== 'object' || value === null || !('metadata' in value)) throw new Error(`not a MountPolicy: ${JSON.stringify(value)}`);
  const metadata: unknown = value.metadata;
  if (typeof metadata !== 'object' || metadata === null || !('generation' in metadata) || typeof metadata.generation !== 'number') {
    throw new Error(`a MountPolicy without metadata.generation: ${JSON.stringify(value)}`);
  }
  return value as StoredMountPolicy;
}

interface Suite {
  readonly replicas: readonly [MountgateProcess, MountgateProcess];
  readonly identities: readonly [string, string];
  /** The webhook configurations pointed at each replica. */
  readonly rendered: readonly [WebhookConfigurations, WebhookConfigurations];
  readonly teamA: string;
  readonly teamB: string;
  readonly teamC: string;
  readonly leaseNs: string;
  readonly leaseName: string;
  readonly run: string;
  readonly mutateWebhook: string;
  readonly validateWebhook: string;
  readonly mountPolicyWebhook: string;
  readonly unsynced: MountgateProcess;
  /** The cluster policy file the replicas serve. */
  readonly policy: string;
}

describe('e2e: MountPolicy (narrowing per namespace, status, Lease)', function () {
  let suite: Suite | undefined;
  const cleanups = new Cleanups('mount-policy tear-down');
  const s = (): Suite => {
    if (suite === undefined) throw new Error('the MountPolicy suite is not set up');
    return suite;
  };
  const custom = (): CustomObjectsApi => e2e().cp.admin.makeApiClient(CustomObjectsApi);
  const podDenied = (webhook: string, reason: string): string => `admission webhook "${webhook}" denied the request: mountgate denied the Pod: ${reason}`;

  /** What the API server answers to a dry-run create: "admitted", or the refusal's message. */
  const answer = async (namespace: string, pod: V1Pod): Promise<string> => {
    try {
      await e2e().core.createNamespacedPod({ namespace, body: pod, dryRun: 'All' });
      return 'admitted';
    } catch (error) {
      return (await apiError(Promise.reject(error))).message;
    }
  };
  /** The cache follows the API by watch: wait (bounded) until the answer is the wanted one, else return the last. */
  const eventually = async (namespace: string, pod: () => V1Pod, wanted: string): Promise<string> => {
    let last = '';
    for (let attempt = 0; attempt < 60; attempt++) {
      last = await answer(namespace, pod());
      if (last === wanted) return last;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return last;
  };

  const createMountPolicy = (namespace: string, name: string, spec: unknown, metadata: Record<string, unknown> = {}): Promise<unknown> =>
    custom().createNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'MountPolicy', metadata: { ...metadata, name }, spec } });
  const readMountPolicy = async (namespace: string, name: string): Promise<StoredMountPolicy> =>
    asStored(await custom().getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name }));
  const replaceSpec = async (namespace: string, name: string, spec: unknown): Promise<void> => {
    const current = await readMountPolicy(namespace, name);
    await custom().replaceNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body: { ...current, spec } });
  };
  const deleteMountPolicy = (namespace: string, name: string): Promise<void> =>
    ignoreNotFound(custom().deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name }));
  /** Waits until mountgate has written the status of the MountPolicy's current generation. */
  const readyStatus = (namespace: string, name: string): Promise<StoredMountPolicy> =>
    waitUntil(`the status of MountPolicy ${namespace}/${name}`, 20_000, async () => {
      const stored = await readMountPolicy(namespace, name);
      return stored.status?.observedGeneration === stored.metadata.generation ? stored : undefined;
    });

  before(async function () {
    this.timeout(240_000);
    const { cp, core, admissionApi, tls, dir } = e2e();
    const helm = await findHelm();
    if (helm === undefined) throw new Error('the MountPolicy suite renders the CRD and webhooks from the chart: it needs helm (scripts/install-helm.sh)');
    const own = await mkdtemp(path.join(dir, 'mount-policy-'));
    cleanups.push(() => rm(own, { recursive: true, force: true }));

    // The CRD, as the chart installs it; kept when it was there before (an existing cluster with the chart).
    const extensions = cp.admin.makeApiClient(ApiextensionsV1Api);
    const crd = await mountPolicyCrd(helm);
    const crdName = crd.metadata?.name ?? '';
    // By kubectl, as the chart's manifest: the typed client would drop the x-kubernetes-* keys of
    // every schema node it models (x-kubernetes-validations of maxMounts, the list type of
    // allowedHostPaths, x-kubernetes-preserve-unknown-fields of spec), keeping only those under items.
    const crdFile = path.join(own, 'mountpolicy-crd.json');
    await writeFile(crdFile, JSON.stringify(crd));
    try {
      await execFileAsync(cp.kubectl, ['--kubeconfig', cp.kubeconfigPath, 'create', '-f', crdFile], { timeout: 60_000 });
      cleanups.push(() => ignoreNotFound(extensions.deleteCustomResourceDefinition({ name: crdName })));
    } catch (error) {
      const stderr = typeof error === 'object' && error !== null && 'stderr' in error ? String(error.stderr) : '';
      if (!stderr.includes('AlreadyExists')) throw error;
    }
    await waitUntil('the MountPolicy CRD to be established', 30_000, async () => {
      const stored = await extensions.readCustomResourceDefinition({ name: crdName });
      return stored.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
    });

    const run = uniqueName('run');
    const [teamA, teamB, teamC, leaseNs] = [uniqueName('team-a'), uniqueName('team-b'), uniqueName('team-c'), uniqueName('mg-e2e-lease')];
    for (const [name, labels] of [
      [teamA, { [SELECTED_LABEL]: run }],
      [teamB, { [SELECTED_LABEL]: run }],
      [teamC, { [SELECTED_LABEL]: `${run}-unsynced` }],
      [leaseNs, {}],
    ] as const) {
      await core.createNamespace({ body: { metadata: { name, labels } } });
      cleanups.push(() => ignoreNotFound(core.deleteNamespace({ name })));
    }

    const policy = path.join(own, 'policy.yaml');
    await writeFile(policy, stringifyYaml(CLUSTER_POLICY));
    const leaseName = uniqueName('mountgate-status');
    const identities = ['mg-e2e-a', 'mg-e2e-b'] as const;
    // A folder per replica: each logs to its folder's mountgate.log.
    const replica = async (identity: string): Promise<MountgateProcess> =>
      new MountgateProcess({
        dir: await mkdtemp(path.join(own, `${identity}-`)),
        policy,
        tls,
        port: await freePort(),
        metricsPort: await freePort(),
        extraArgs: ['--mount-policies', '--kubeconfig', cp.kubeconfigPath, '--lease-namespace', leaseNs, '--lease-name', leaseName, '--identity', identity],
      });
    const replicas = [await replica(identities[0]), await replica(identities[1])] as const;
    for (const mountgate of replicas) {
      await mountgate.start();
      cleanups.push(() => mountgate.stop());
    }

    // A replica whose kubeconfig names a port where nothing listens: its MountPolicy cache never syncs.
    const unreachable = path.join(own, 'unreachable.kubeconfig');
    const kubeconfig: unknown = parseYaml(await readFile(cp.kubeconfigPath, 'utf8'));
    const closedPort = await freePort();
    await writeFile(unreachable, stringifyYaml(pointAt(kubeconfig, `https://127.0.0.1:${closedPort}`)), { mode: 0o600 });
    const unsynced = new MountgateProcess({
      dir: await mkdtemp(path.join(own, 'unsynced-')),
      policy,
      tls,
      port: await freePort(),
      metricsPort: await freePort(),
      extraArgs: ['--mount-policies', '--kubeconfig', unreachable, '--lease-namespace', leaseNs, '--lease-name', `${leaseName}-unsynced`, '--identity', 'mg-e2e-unsynced'],
      waitFor: '/healthz',
    });
    await unsynced.start();
    cleanups.push(() => unsynced.stop());

    const renderFor = (mountgate: MountgateProcess): Promise<WebhookConfigurations> =>
      fromChart(helm, { url: mountgate.url, caBundle: tls.caPem.toString('base64'), dir: own }, { release: 'mg-e2e-mpol', args: ['--set', 'mountPolicies.enabled=true'] });
    const rendered = [await renderFor(replicas[0]), await renderFor(replicas[1])] as const;
    const mountPolicyWebhook = rendered[0].validating.webhooks?.find((w) => w.name.startsWith('mountpolicies.'))?.name;
    if (mountPolicyWebhook === undefined) throw new Error('the chart rendered no MountPolicy webhook with mountPolicies.enabled=true');

    cleanups.push(async () => {
      for (const name of [CONFIG_NAME, UNSYNCED_CONFIG_NAME]) {
        await ignoreNotFound(admissionApi.deleteMutatingWebhookConfiguration({ name }));
        await ignoreNotFound(admissionApi.deleteValidatingWebhookConfiguration({ name }));
      }
    });
    await applyWebhooks(admissionApi, rendered[0], CONFIG_NAME, run);
    await applyWebhooks(admissionApi, await renderFor(unsynced), UNSYNCED_CONFIG_NAME, `${run}-unsynced`);
    const probe = (name: string): V1Pod => tenantPod(name, [{ hostPath: '/srv/sandbox/probe', mountPath: '/mnt/probe' }]);
    await waitForWebhooks(core, teamB, replicas[0], probe);
    // It refuses host mounts, so its probe asks for none (the annotation still sends it to /mutate).
    await waitForWebhooks(core, teamC, unsynced, (name) => tenantPod(name, []));

    suite = {
      replicas,
      identities,
      rendered,
      teamA,
      teamB,
      teamC,
      leaseNs,
      leaseName,
      run,
      mutateWebhook: rendered[0].mutateWebhookName,
      validateWebhook: rendered[0].validateWebhookName,
      mountPolicyWebhook,
      unsynced,
      policy,
    };
  });

  after(async function () {
    this.timeout(90_000);
    await cleanups.run();
  });

  // Mocha runs a suite's own tests before its nested suites: every test here sits in one, so they run in this order.
  describe('writing', () => {
    it('refuses a widening MountPolicy when it is written, naming each entry', async () => {
      const { teamA, mountPolicyWebhook } = s();
      const refused = await apiError(
        createMountPolicy(teamA, 'wide', { allowedHostPaths: [{ pathPrefix: `/srv/tenants/${teamA}` }, { pathPrefix: '/etc/ssh' }], maxMounts: 9 }),
      );
      expect(refused.code).to.equal(403);
      expect(refused.message).to.equal(
        `admission webhook "${mountPolicyWebhook}" denied the request: mountgate refused the MountPolicy: ` +
          'spec.allowedHostPaths[1].pathPrefix: "/etc/ssh" reaches outside the cluster policy (no allowedHostPaths or builtinHostPaths entry of the cluster policy covers all of it); ' +
          "spec.maxMounts: 9 is more than the cluster policy's maxMounts (5)",
      );
      expect(await isAbsent(() => readMountPolicy(teamA, 'wide'))).to.equal(true);
    });

    // As client libraries send it by default (this one included): without strict field validation,
    // so an unknown field would be pruned and the MountPolicy stored as if it had never been written.
    const misspelt: ReadonlyArray<{ name: string; fields: Record<string, unknown>; says: string }> = [
      {
        name: 'a misspelt readOnly (the entry would be stored read-write)',
        fields: { spec: { allowedHostPaths: [{ pathPrefix: '/srv/tenants/a', readonly: true }] } },
        says: 'spec.allowedHostPaths[0] has an unknown key: readonly',
      },
      {
        name: 'a misspelt allowedHostPaths (the MountPolicy would narrow nothing)',
        fields: { spec: { allowedHostPath: [{ pathPrefix: '/srv/tenants/a' }] } },
        says: 'spec has an unknown key: allowedHostPath',
      },
      {
        name: 'a misspelt spec (the MountPolicy would narrow nothing)',
        fields: { sepc: { allowedHostPaths: [] } },
        says: 'the MountPolicy has an unknown key: sepc',
      },
    ];
    for (const row of misspelt) {
      it(`refuses ${row.name} instead of storing it without the field`, async () => {
        const { teamA, mountPolicyWebhook } = s();
        const body = { apiVersion: `${GROUP}/${VERSION}`, kind: 'MountPolicy', metadata: { name: 'misspelt' }, ...row.fields };
        try {
          const refused = await apiError(custom().createNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: teamA, body }));
          expect(refused.message).to.equal(`admission webhook "${mountPolicyWebhook}" denied the request: mountgate refused the MountPolicy: ${row.says}`);
          expect(await isAbsent(() => readMountPolicy(teamA, 'misspelt'))).to.equal(true);
        } finally {
          // Stored, it would narrow team-a for the suites that follow.
          await deleteMountPolicy(teamA, 'misspelt');
        }
      });
    }
  });

  describe('a narrowing MountPolicy', () => {
    const own = (): string => `/srv/tenants/${s().teamA}`;
    const other = (): string => `/srv/tenants/${s().teamB}`;
    const asking = (hostPath: string, readOnly?: boolean) => (): V1Pod =>
      tenantPod(uniqueName('pod'), [{ hostPath, mountPath: '/mnt/data', ...(readOnly === undefined ? {} : { readOnly }) }]);

    // Pods that were there before the MountPolicy, each carrying a hostPath volume of its own: what `mountgate audit` judges.
    const earlier = ['earlier-other-tree', 'earlier-own-tree'] as const;

    before(async function () {
      this.timeout(60_000);
      const { teamA } = s();
      // Before it: team-a may mount team-b's tree, as the cluster policy allows every tenant's.
      expect(await answer(teamA, asking(`${other()}/data`)())).to.equal('admitted');
      const { core } = e2e();
      for (const [name, hostPath] of [[earlier[0], `${other()}/data`], [earlier[1], `${own()}/data`]] as const) {
        await core.createNamespacedPod({ namespace: teamA, body: tenantPod(name, undefined, [hostPath]) });
        cleanups.push(() => ignoreNotFound(core.deleteNamespacedPod({ namespace: teamA, name, gracePeriodSeconds: 0 })));
      }
      // Labels and annotations mountgate does not keep in its cache: its status write must leave them as stored.
      await createMountPolicy(teamA, 'tenant', { allowedHostPaths: [{ pathPrefix: own() }] }, TENANT_METADATA);
    });

    it('turns Ready with observedGeneration = generation and the effective list', async () => {
      const { teamA } = s();
      const stored = await readyStatus(teamA, 'tenant');
      expect(stored.status?.effectiveAllowedHostPaths).to.deep.equal([{ pathPrefix: own(), readOnly: false }]);
      expect({ labels: stored.metadata.labels, annotations: stored.metadata.annotations }, 'what the status write left of the metadata').to.deep.equal(TENANT_METADATA);
      const ready = stored.status?.conditions?.find((c) => c.type === 'Ready');
      expect(ready).to.deep.include({
        status: 'True',
        reason: 'Enforced',
        observedGeneration: stored.metadata.generation,
        message: `mountgate enforces generation ${stored.metadata.generation}: Pods of namespace ${teamA} may use host paths under "${own()}"`,
      });
    });

    it('mountgate audit judges the Pods already there by the namespace\'s MountPolicy and exits 1', async () => {
      const { teamA, policy } = s();
      const { cp } = e2e();
      await readyStatus(teamA, 'tenant');
      const run = await execFileAsync(process.execPath, [MOUNTGATE_MAIN, 'audit', '--config', policy, '--kubeconfig', cp.kubeconfigPath, '--namespace', teamA, '-o', 'json'], {
        timeout: 60_000,
      }).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (error: unknown) => ({ code: typeof error === 'object' && error !== null && 'code' in error ? error.code : -1, stdout: typeof error === 'object' && error !== null && 'stdout' in error ? String(error.stdout) : '' }),
      );
      expect(run.code, run.stdout).to.equal(1);
      expect(JSON.parse(run.stdout)).to.deep.equal({
        podsScanned: 2,
        findings: [
          {
            namespace: teamA,
            pod: earlier[0],
            violations: [
              {
                rule: 'host-path-volume-not-allowed',
                field: 'spec.volumes[0].hostPath.path',
                message: `"${other()}/data" is not under any allowed host path of MountPolicy ${teamA}/tenant`,
              },
            ],
          },
        ],
        cannotJudgeOffline: [],
      });
    });

    it("refuses team-b's tree to a Pod in team-a, naming the MountPolicy, and admits team-a's own", async () => {
      const { teamA, teamB, mutateWebhook } = s();
      const hostPath = `${other()}/data`;
      expect(await eventually(teamA, asking(hostPath), podDenied(mutateWebhook, `${A}[0].hostPath: "${hostPath}" is not under any allowed host path of MountPolicy ${teamA}/tenant`))).to.equal(
        podDenied(mutateWebhook, `${A}[0].hostPath: "${hostPath}" is not under any allowed host path of MountPolicy ${teamA}/tenant`),
      );
      const name = uniqueName('own');
      const { core } = e2e();
      try {
        const created = await core.createNamespacedPod({ namespace: teamA, body: tenantPod(name, [{ hostPath: `${own()}/data`, mountPath: '/mnt/data' }]) });
        expect(created.spec?.volumes).to.deep.equal([injectedVolume(`${own()}/data`, 'DirectoryOrCreate')]);
      } finally {
        await ignoreNotFound(core.deleteNamespacedPod({ namespace: teamA, name, gracePeriodSeconds: 0 }));
      }
      expect(await answer(teamB, asking(`${own()}/data`)()), 'team-b has no MountPolicy: the cluster policy alone').to.equal('admitted');
    });

    it('refuses a hostPath volume the Pod carries itself outside the MountPolicy (/validate)', async () => {
      const { teamA, validateWebhook } = s();
      const hostPath = '/srv/sandbox/own';
      expect(await answer(teamA, tenantPod(uniqueName('own-volume'), undefined, [hostPath]))).to.equal(
        podDenied(validateWebhook, `spec.volumes[0].hostPath.path: "${hostPath}" is not under any allowed host path of MountPolicy ${teamA}/tenant`),
      );
    });

    it('follows an update of its spec: a new generation, its status and its effect', async () => {
      const { teamA, mutateWebhook } = s();
      const before = await readMountPolicy(teamA, 'tenant');
      await replaceSpec(teamA, 'tenant', { allowedHostPaths: [{ pathPrefix: `${own()}/shared`, readOnly: true }] });
      const stored = await readyStatus(teamA, 'tenant');
      expect(stored.metadata.generation).to.equal(before.metadata.generation + 1);
      expect(stored.status?.effectiveAllowedHostPaths).to.deep.equal([{ pathPrefix: `${own()}/shared`, readOnly: true }]);
      const data = `${own()}/data`;
      const notUnder = podDenied(mutateWebhook, `${A}[0].hostPath: "${data}" is not under any allowed host path of MountPolicy ${teamA}/tenant`);
      expect(await eventually(teamA, asking(data), notUnder)).to.equal(notUnder);
      const shared = `${own()}/shared/x`;
      expect(await answer(teamA, asking(shared, false)())).to.equal(
        podDenied(mutateWebhook, `${A}[0].readOnly: "${shared}" is under the read-only prefix "${own()}/shared" of MountPolicy ${teamA}/tenant and must be mounted read-only`),
      );
      expect(await answer(teamA, asking(shared, true)())).to.equal('admitted');
    });

    it('once deleted, leaves the cluster policy alone in force', async () => {
      const { teamA } = s();
      await deleteMountPolicy(teamA, 'tenant');
      expect(await eventually(teamA, asking(`${other()}/data`), 'admitted')).to.equal('admitted');
    });
  });

  describe('two MountPolicies in one namespace', () => {
    const own = (): string => `/srv/tenants/${s().teamA}`;
    const reference = (): string => `${own()}/reference`;
    type Effective = NonNullable<StoredMountPolicy['status']>['effectiveAllowedHostPaths'];
    /** Waits (bounded) until the status says `message` for the current generation; returns what it says then. */
    const statusSaying = async (name: string, message: (generation: number) => string): Promise<{ message: string | undefined; effective: Effective }> => {
      const { teamA } = s();
      let last: StoredMountPolicy | undefined;
      const said = (stored: StoredMountPolicy): string | undefined => stored.status?.conditions?.find((c) => c.type === 'Ready')?.message;
      await waitUntil(`the status of MountPolicy ${teamA}/${name} to describe the namespace`, 20_000, async () => {
        last = await readMountPolicy(teamA, name);
        return last.status?.observedGeneration === last.metadata.generation && said(last) === message(last.metadata.generation) ? true : undefined;
      }).catch(() => undefined);
      return { message: last === undefined ? undefined : said(last), effective: last?.status?.effectiveAllowedHostPaths };
    };
    const enforces = (generation: number, allowed: string): string => `mountgate enforces generation ${generation}: Pods of namespace ${s().teamA} may use ${allowed}`;

    after(async function () {
      this.timeout(30_000);
      const { teamA } = s();
      await deleteMountPolicy(teamA, 'tenant');
      await deleteMountPolicy(teamA, 'reference');
    });

    it('gives each the namespace-wide status, naming the other; a deletion rewrites the one left', async function () {
      this.timeout(90_000);
      const { teamA, mutateWebhook } = s();
      await createMountPolicy(teamA, 'tenant', { allowedHostPaths: [{ pathPrefix: own() }] });
      await createMountPolicy(teamA, 'reference', { allowedHostPaths: [{ pathPrefix: reference(), readOnly: true }, { pathPrefix: '/srv/sandbox' }] });
      const both = [{ pathPrefix: reference(), readOnly: true }];
      const under = `host paths under "${reference()}" (read-only)`;

      const tenant = await statusSaying('tenant', (g) => `${enforces(g, under)} (with MountPolicy ${teamA}/reference)`);
      expect(tenant.message).to.equal(`${enforces(1, under)} (with MountPolicy ${teamA}/reference)`);
      expect(tenant.effective).to.deep.equal(both);
      const other = await statusSaying('reference', (g) => `${enforces(g, under)} (with MountPolicy ${teamA}/tenant)`);
      expect(other.message).to.equal(`${enforces(1, under)} (with MountPolicy ${teamA}/tenant)`);
      expect(other.effective).to.deep.equal(both);

      // What the statuses say is what Pods get.
      const data = `${own()}/data`;
      const notUnder = podDenied(mutateWebhook, `${A}[0].hostPath: "${data}" is not under any allowed host path of MountPolicy ${teamA}/reference`);
      expect(await eventually(teamA, () => tenantPod(uniqueName('pod'), [{ hostPath: data, mountPath: '/mnt/data' }]), notUnder)).to.equal(notUnder);
      expect(await answer(teamA, tenantPod(uniqueName('pod'), [{ hostPath: `${reference()}/x`, mountPath: '/mnt/data', readOnly: true }]))).to.equal('admitted');

      await deleteMountPolicy(teamA, 'reference');
      const alone = await statusSaying('tenant', (g) => enforces(g, `host paths under "${own()}"`));
      expect(alone.message).to.equal(enforces(1, `host paths under "${own()}"`));
      expect(alone.effective).to.deep.equal([{ pathPrefix: own(), readOnly: false }]);
    });
  });

  describe('an unsynced cache', () => {
    it('refuses host paths until the MountPolicies are listed, and lets Pods without host paths through', async () => {
      const { teamC, unsynced, mutateWebhook, validateWebhook } = s();
      const why = `the MountPolicies of namespace "${teamC}" (not known: mountgate has not listed the MountPolicies yet)`;
      expect(await httpsGetStatus(`${unsynced.url}/readyz`, e2e().tls.caPem)).to.equal(503);
      expect(await unsynced.metric('mountgate_mountpolicy_cache_synced', {})).to.equal(0);
      expect(await answer(teamC, tenantPod(uniqueName('asks'), [{ hostPath: '/srv/sandbox/x', mountPath: '/mnt/x' }]))).to.equal(
        podDenied(mutateWebhook, `${A}[0].hostPath: "/srv/sandbox/x" is not under any allowed host path of ${why}`),
      );
      expect(await answer(teamC, tenantPod(uniqueName('carries'), undefined, ['/srv/sandbox/y']))).to.equal(
        podDenied(validateWebhook, `spec.volumes[0].hostPath.path: "/srv/sandbox/y" is not under any allowed host path of ${why}`),
      );
      expect(await answer(teamC, tenantPod(uniqueName('plain')))).to.equal('admitted');
      expect(await answer(teamC, tenantPod(uniqueName('asks-nothing'), []))).to.equal('admitted');
    });
  });

  // Last: it stops one replica and points the webhooks at the other.
  describe('two replicas', () => {
    it('has one replica write status, the Lease holder; when it stops, the other takes over', async function () {
      this.timeout(120_000);
      const { replicas, identities, rendered, teamB, leaseNs, leaseName, run } = s();
      const { core, admissionApi, cp } = e2e();
      const held = async (): Promise<number[]> => Promise.all(replicas.map((r) => r.metric('mountgate_lease_held', {})));
      const holderIndex = await waitUntil('one replica to hold the Lease', 30_000, async () => {
        const flags = await held();
        return flags.filter((flag) => flag === 1).length === 1 ? flags.indexOf(1) : undefined;
      });
      const otherIndex = 1 - holderIndex;
      const [holder, other] = [replicas[holderIndex], replicas[otherIndex]];
      if (holder === undefined || other === undefined) throw new Error('two replicas expected');
      const leases = cp.admin.makeApiClient(CoordinationV1Api);
      expect((await leases.readNamespacedLease({ name: leaseName, namespace: leaseNs })).spec?.holderIdentity).to.equal(identities[holderIndex]);

      const writes = (mountgate: MountgateProcess): Promise<number> => mountgate.metric('mountgate_mountpolicy_status_writes_total', { result: 'success' });
      await createMountPolicy(teamB, 'tenant', { allowedHostPaths: [{ pathPrefix: `/srv/tenants/${teamB}` }] });
      await readyStatus(teamB, 'tenant');
      expect(await writes(holder), 'the holder wrote every status so far').to.be.greaterThan(0);
      expect(await writes(other), 'the other replica wrote none').to.equal(0);

      // The API server calls the replica that stays up from now on.
      const remaining = rendered[otherIndex];
      if (remaining === undefined) throw new Error('no webhooks rendered for the other replica');
      await applyWebhooks(admissionApi, remaining, CONFIG_NAME, run);
      await waitForWebhooks(core, teamB, other, (name) => tenantPod(name, [{ hostPath: `/srv/tenants/${teamB}/probe`, mountPath: '/mnt/probe' }]));

      await holder.stop();
      await waitUntil('the other replica to take the Lease over', 20_000, async () => ((await other.metric('mountgate_lease_held', {})) === 1 ? true : undefined));
      expect((await leases.readNamespacedLease({ name: leaseName, namespace: leaseNs })).spec?.holderIdentity).to.equal(identities[otherIndex]);

      await replaceSpec(teamB, 'tenant', { allowedHostPaths: [{ pathPrefix: `/srv/tenants/${teamB}/data` }] });
      const stored = await readyStatus(teamB, 'tenant');
      expect(stored.status?.effectiveAllowedHostPaths).to.deep.equal([{ pathPrefix: `/srv/tenants/${teamB}/data`, readOnly: false }]);
      expect(await writes(other), 'the new holder wrote it').to.be.greaterThan(0);
      await deleteMountPolicy(teamB, 'tenant');
    });
  });
});

/** A kubeconfig (as parsed YAML) with every cluster's server replaced. */
function pointAt(kubeconfig: unknown, server: string): unknown {
  if (typeof kubeconfig !== 'object' || kubeconfig === null || !('clusters' in kubeconfig) || !Array.isArray(kubeconfig.clusters)) {
    throw new Error('the admin kubeconfig has no clusters');
  }
  const clusters: unknown[] = kubeconfig.clusters;
  return {
    ...kubeconfig,
    clusters: clusters.map((entry) => {
      if (typeof entry !== 'object' || entry === null || !('cluster' in entry) || typeof entry.cluster !== 'object' || entry.cluster === null) return entry;
      return { ...entry, cluster: { ...entry.cluster, server } };
    }),
  };
}

/** Creates the webhook configurations `name`, every webhook selecting namespaces labelled SELECTED_LABEL=run, or replaces them. */
async function applyWebhooks(api: AdmissionregistrationV1Api, rendered: WebhookConfigurations, name: string, run: string): Promise<void> {
  const namespaceSelector = { matchLabels: { [SELECTED_LABEL]: run } };
  const mutating: V1MutatingWebhookConfiguration = { ...rendered.mutating, metadata: { name }, webhooks: rendered.mutating.webhooks?.map((w) => ({ ...w, namespaceSelector })) };
  const validating: V1ValidatingWebhookConfiguration = { ...rendered.validating, metadata: { name }, webhooks: rendered.validating.webhooks?.map((w) => ({ ...w, namespaceSelector })) };
  const existing = await api.readMutatingWebhookConfiguration({ name }).catch(() => undefined);
  if (existing === undefined) {
    await api.createMutatingWebhookConfiguration({ body: mutating });
    await api.createValidatingWebhookConfiguration({ body: validating });
    return;
  }
  await api.replaceMutatingWebhookConfiguration({ name, body: { ...mutating, metadata: { name, resourceVersion: existing.metadata?.resourceVersion } } });
  const current = await api.readValidatingWebhookConfiguration({ name });
  await api.replaceValidatingWebhookConfiguration({ name, body: { ...validating, metadata: { name, resourceVersion: current.metadata?.resourceVersion } } });
}

async function isAbsent(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return false;
  } catch (error) {
    return (await apiError(Promise.reject(error))).code === 404;
  }
}
