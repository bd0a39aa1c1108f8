/**
 * Placeholders through a real API server. A second mountgate runs the per-user deer-flow example
 * (plus a per-namespace tree, /srv/tenants/{namespace}) behind webhooks that select only this file's
 * namespaces; the API server fills namespace and user, the provisioner's annotation names the
 * sandbox user, and mountgate believes it only from the trusted group deer-flow-provisioners. Each
 * user's directories under /.deer-flow/users/* keep the read-only-ness the example gives them.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { RbacAuthorizationV1Api, type V1Pod } from '@kubernetes/client-node';
import { stringify as stringifyYaml } from 'yaml';
import { parsePolicy } from '../../src/policy/load.js';
import { freePort, REPO_ROOT, TEST_USERS } from './controlplane.js';
import { apiError, deletePod, grantPodAccess, ignoreNotFound, sandboxPod, uniqueName, waitForWebhooks } from './env.js';
import { container, injectedMount, injectedVolume, normalizeMounts } from './expect.js';
import { e2e } from './hooks.js';
import { MountgateProcess } from './mountgate-process.js';
import { Cleanups } from './processes.js';
import { webhookConfigurations } from './webhooks.js';

const EXAMPLE = path.join(REPO_ROOT, 'examples', 'deer-flow-per-user-policy.yaml');
const SANDBOX_USER = 'mountgate.io/sandbox-user';
const SELECTED_LABEL = 'mountgate.io/e2e-tenants';
const CONFIG_NAME = 'mountgate-e2e-tenants';
const A = 'metadata.annotations[mountgate.io/mounts]';

interface Tenants {
  readonly mountgate: MountgateProcess;
  readonly teamA: string;
  readonly teamB: string;
  readonly deerFlow: string;
  readonly mutateWebhook: string;
  readonly validateWebhook: string;
}

/**
 * The example, with /srv/tenants/{namespace} and /srv/sandbox added, the built-in /skills of
 * env.sandboxPod, anyone allowed to ask, and the e2e provisioners' group trusted.
 */
async function tenantsPolicy(dir: string): Promise<string> {
  const { spec } = parsePolicy(await readFile(EXAMPLE, 'utf8'), EXAMPLE);
  const file = path.join(dir, 'policy.yaml');
  await writeFile(
    file,
    stringifyYaml({
      ...spec,
      // /srv/sandbox: where waitForWebhooks' probe asks, so that both webhooks see it.
      allowedHostPaths: [...spec.allowedHostPaths, { pathPrefix: '/srv/tenants/{namespace}' }, { pathPrefix: '/srv/sandbox' }],
      builtinHostPaths: [...spec.builtinHostPaths, { pathPrefix: '/skills', readOnly: true }],
      requesters: [],
      trustedProvisioners: ['group:deer-flow-provisioners'],
    }),
  );
  return file;
}

function withSandboxUser(pod: V1Pod, user: string): V1Pod {
  if (pod.metadata === undefined) throw new Error('the Pod has no metadata');
  pod.metadata.annotations = { ...pod.metadata.annotations, [SANDBOX_USER]: user };
  return pod;
}

describe('e2e: placeholders (per-namespace and per-user host paths)', function () {
  let tenants: Tenants | undefined;
  const cleanups = new Cleanups('tenants tear-down');

  const t = (): Tenants => {
    if (tenants === undefined) throw new Error('the tenants webhooks are not set up');
    return tenants;
  };
  const denied = (webhook: string, reason: string): string => `admission webhook "${webhook}" denied the request: mountgate denied the Pod: ${reason}`;
  /** The code and message of a refused create (the Status reason is the webhook's business, tested elsewhere). */
  const refusal = async (call: Promise<unknown>): Promise<{ code: number; message: string }> => {
    const { code, message } = await apiError(call);
    return { code, message };
  };

  before(async function () {
    this.timeout(180_000);
    const { cp, core, admissionApi, tls, dir } = e2e();
    const own = await mkdtemp(path.join(dir, 'tenants-'));
    cleanups.push(() => rm(own, { recursive: true, force: true }));
    const mountgate = new MountgateProcess({ dir: own, policy: await tenantsPolicy(own), tls, port: await freePort(), metricsPort: await freePort() });
    await mountgate.start();
    cleanups.push(() => mountgate.stop());

    const run = uniqueName('run');
    const [teamA, teamB, deerFlow] = [uniqueName('team-a'), uniqueName('team-b'), uniqueName('deer-flow')];
    const rbac = cp.admin.makeApiClient(RbacAuthorizationV1Api);
    for (const name of [teamA, teamB, deerFlow]) {
      await core.createNamespace({ body: { metadata: { name, labels: { [SELECTED_LABEL]: run } } } });
      cleanups.push(() => ignoreNotFound(core.deleteNamespace({ name })));
      await grantPodAccess(rbac, name);
    }

    // The same webhooks as the shared environment's, pointed at this mountgate, selecting these namespaces only.
    const rendered = await webhookConfigurations({ url: mountgate.url, caBundle: tls.caPem.toString('base64'), dir: own });
    const namespaceSelector = { matchLabels: { [SELECTED_LABEL]: run } };
    cleanups.push(async () => {
      await ignoreNotFound(admissionApi.deleteMutatingWebhookConfiguration({ name: CONFIG_NAME }));
      await ignoreNotFound(admissionApi.deleteValidatingWebhookConfiguration({ name: CONFIG_NAME }));
    });
    await admissionApi.createMutatingWebhookConfiguration({
      body: { ...rendered.mutating, metadata: { name: CONFIG_NAME }, webhooks: rendered.mutating.webhooks?.map((w) => ({ ...w, namespaceSelector })) },
    });
    await admissionApi.createValidatingWebhookConfiguration({
      body: { ...rendered.validating, metadata: { name: CONFIG_NAME }, webhooks: rendered.validating.webhooks?.map((w) => ({ ...w, namespaceSelector })) },
    });
    await waitForWebhooks(core, teamA, mountgate);
    tenants = { mountgate, teamA, teamB, deerFlow, mutateWebhook: rendered.mutateWebhookName, validateWebhook: rendered.validateWebhookName };
  });

  after(async function () {
    this.timeout(60_000);
    await cleanups.run();
  });

  describe('{namespace}', () => {
    it("admits a Pod in team-a to team-a's tree", async () => {
      const { core } = e2e();
      const { teamA } = t();
      const name = uniqueName('own-tree');
      const hostPath = `/srv/tenants/${teamA}/data`;
      try {
        const created = await core.createNamespacedPod({ namespace: teamA, body: sandboxPod(name, [{ hostPath, mountPath: '/mnt/data' }]) });
        expect(created.spec?.volumes?.slice(2)).to.deep.equal([injectedVolume(hostPath, 'DirectoryOrCreate')]);
        expect(normalizeMounts(container(created, 'sandbox').volumeMounts).slice(2)).to.deep.equal([injectedMount(hostPath, '/mnt/data', false)]);
      } finally {
        await deletePod(core, teamA, name);
      }
    });

    it("refuses team-b's tree to a Pod in team-a, whoever asks (the admin, a trusted provisioner)", async () => {
      const { core } = e2e();
      const { teamA, teamB, mutateWebhook } = t();
      const hostPath = `/srv/tenants/${teamB}/data`;
      const reason = denied(mutateWebhook, `${A}[0].hostPath: "${hostPath}" is not under any allowed host path ("/srv/tenants/{namespace}" has {namespace} = "${teamA}" for this request)`);
      for (const client of [core, e2e().coreAs(TEST_USERS.carol)]) {
        const pod = sandboxPod(uniqueName('other-tree'), [{ hostPath, mountPath: '/mnt/data' }]);
        expect(await refusal(client.createNamespacedPod({ namespace: teamA, body: pod }))).to.deep.equal({ code: 403, message: reason });
      }
    });
  });

  describe('{sandboxUser}', () => {
    const workspace = (user: string): string => `/srv/users/${user}`;

    it("confines the trusted provisioner's Pod to the sandbox user's tree", async () => {
      const { deerFlow, mutateWebhook } = t();
      const carol = e2e().coreAs(TEST_USERS.carol);
      const name = uniqueName('u3');
      try {
        const created = await carol.createNamespacedPod({
          namespace: deerFlow,
          body: withSandboxUser(sandboxPod(name, [{ host_path: `${workspace('u3')}/t1`, container_path: '/mnt/workspace' }]), 'u3'),
        });
        expect(created.spec?.volumes?.slice(2)).to.deep.equal([injectedVolume(`${workspace('u3')}/t1`, 'DirectoryOrCreate')]);

        const other = withSandboxUser(sandboxPod(uniqueName('u4'), [{ host_path: workspace('u4'), container_path: '/mnt/workspace' }]), 'u3');
        expect(await refusal(carol.createNamespacedPod({ namespace: deerFlow, body: other }))).to.deep.equal({
          code: 403,
          message: denied(mutateWebhook, `${A}[0].host_path: "${workspace('u4')}" is not under any allowed host path ("/srv/users/{sandboxUser}" has {sandboxUser} = "u3" for this request)`),
        });
      } finally {
        await deletePod(e2e().core, deerFlow, name);
      }
    });

    it('ignores the annotation from a requester that is not trusted', async () => {
      const { deerFlow, mutateWebhook } = t();
      const pod = withSandboxUser(sandboxPod(uniqueName('bob'), [{ host_path: workspace('u3'), container_path: '/mnt/workspace' }]), 'u3');
      expect(await refusal(e2e().coreAs(TEST_USERS.bob).createNamespacedPod({ namespace: deerFlow, body: pod }))).to.deep.equal({
        code: 403,
        message: denied(mutateWebhook, `${A}[0].host_path: "${workspace('u3')}" is not under any allowed host path ("/srv/users/{sandboxUser}" does not apply: {sandboxUser} is not filled, as user "bob" is not in trustedProvisioners)`),
      });
    });

  });

  describe('"*"', () => {
    it("admits any user's skills_view as a built-in volume mounted read-only, and refuses it read-write", async () => {
      const { deerFlow, validateWebhook } = t();
      const skills = '/.deer-flow/users/u7/skills_view/custom';
      const podFor = (name: string, readOnly: boolean): V1Pod => {
        const pod = sandboxPod(name);
        const volume = pod.spec?.volumes?.[1];
        const mount = pod.spec?.containers[0]?.volumeMounts?.[1];
        if (volume?.hostPath === undefined || mount === undefined) throw new Error('sandboxPod has no second hostPath volume and mount');
        volume.hostPath.path = skills;
        // Directory either way: a DirectoryOrCreate volume in a read-only path is refused for that too (rule host-path-volume-creates).
        volume.hostPath.type = 'Directory';
        mount.readOnly = readOnly;
        return pod;
      };
      const name = uniqueName('skills');
      try {
        const created = await e2e().coreAs(TEST_USERS.bob).createNamespacedPod({ namespace: deerFlow, body: podFor(name, true) });
        expect(created.spec?.volumes?.[1]?.hostPath?.path).to.equal(skills);
        expect(await refusal(e2e().coreAs(TEST_USERS.bob).createNamespacedPod({ namespace: deerFlow, body: podFor(uniqueName('skills'), false) }))).to.deep.equal({
          code: 403,
          message: denied(validateWebhook, `spec.containers[0].volumeMounts[1]: container "sandbox" mounts "${skills}" read-write, but "/.deer-flow/users/*/skills_view" is read-only`),
        });
      } finally {
        await deletePod(e2e().core, deerFlow, name);
      }
    });
  });
});
