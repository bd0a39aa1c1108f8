/**
 * The deer-flow provisioner tool's settings and its reading of a request for the model
 * (test/e2e/tools/deer-flow/settings.ts): the provisioner's defaults, its tidying of paths, the
 * env that changes the Pod, and the settings themselves (each request with its expectation).
 */
import { expect } from 'chai';
import { LARK_BROKER_IMAGE, LARK_INIT_IMAGE, deerFlowSandboxPod } from '../../e2e/deer-flow-pods.js';
import { SETTINGS, modelRequestFor, normpath, sandboxIdFor, settingEnv } from '../../e2e/tools/deer-flow/settings.js';
import { needsModel } from '../../e2e/tools/deer-flow/verdict.js';

/** The provisioner's env that deer-flow's chart renders at f1f4af99b. */
const CHART_ENV = {
  PYTHONDONTWRITEBYTECODE: '1',
  K8S_NAMESPACE: 'deer-flow',
  SANDBOX_IMAGE: 'enterprise-public-cn-beijing.cr.volces.com/vefaas-public/all-in-one-sandbox:latest',
  SANDBOX_SERVICE_TYPE: 'ClusterIP',
  USERDATA_PVC_NAME: 'deer-flow-deer-flow-home',
  SANDBOX_CONTAINER_PORT: '8080',
};

describe('deer-flow provisioner tool: settings and the model request', () => {
  it("takes the provisioner's defaults for what the body leaves out (thread = sandbox, user default)", () => {
    expect(modelRequestFor({ sandbox_id: 'sb-1', thread_id: null }, {})).to.deep.equal({
      sandboxId: 'sb-1',
      includeLegacySkills: false,
      extraMounts: [],
      larkRuntime: false,
      larkBroker: false,
    });
  });

  it('tells the model the extra mounts in the canonical form the provisioner writes, read_only false when absent', () => {
    const request = modelRequestFor(
      { sandbox_id: 'sb-1', extra_mounts: [{ host_path: '/.deer-flow/users/u3//data/', container_path: '/mnt/integrations/lark-cli/data/' }] },
      {},
    );
    expect(request.extraMounts).to.deep.equal([{ hostPath: '/.deer-flow/users/u3/data', containerPath: '/mnt/integrations/lark-cli/data', readOnly: false }]);
  });

  it('normalizes as posixpath.normpath does for absolute paths', () => {
    expect(normpath('/a//b/')).to.equal('/a/b');
    expect(normpath('/a/./b/../c')).to.equal('/a/c');
    expect(normpath('/')).to.equal('/');
  });

  it('turns the lark-cli options on only when their image is set', () => {
    const body = { sandbox_id: 'sb-1', provision_lark_cli_runtime: true, provision_lark_cli_broker: true };
    expect(modelRequestFor(body, {})).to.include({ larkRuntime: false, larkBroker: false });
    expect(modelRequestFor(body, { LARK_CLI_INIT_IMAGE: LARK_INIT_IMAGE })).to.include({ larkRuntime: true, larkBroker: false });
    expect(modelRequestFor(body, { LARK_CLI_BROKER_IMAGE: LARK_BROKER_IMAGE, LARK_CLI_INIT_IMAGE: '' })).to.include({ larkRuntime: false, larkBroker: true });
    expect(modelRequestFor({ sandbox_id: 'sb-1' }, { LARK_CLI_INIT_IMAGE: LARK_INIT_IMAGE })).to.include({ larkRuntime: false });
  });

  it('reads the claims, the subPath template, the base and the broker deny list from the env', () => {
    const request = modelRequestFor(
      { sandbox_id: 'sb-1' },
      { SKILLS_PVC_NAME: 's', USERDATA_PVC_NAME: 'h', SKILLS_PVC_SUBPATH_TEMPLATE: 'users/{user_id}', DEER_FLOW_HOST_BASE_DIR: '/app/backend/.deer-flow/', DEERFLOW_LARK_BROKER_DENY_SUBCOMMANDS: 'config' },
    );
    expect(request.pvc).to.deep.equal({ skillsClaim: 's', userDataClaim: 'h', skillsSubPathTemplate: 'users/{user_id}' });
    expect(request.hostBaseDir).to.equal('/app/backend/.deer-flow');
    expect(request.larkBrokerDenySubcommands).to.equal('config');
    expect(modelRequestFor({ sandbox_id: 'sb-1' }, { SKILLS_PVC_NAME: '', USERDATA_PVC_NAME: '' })).not.to.have.property('pvc');
  });

  it("builds the model's skills hostPaths and claim subPaths from the provisioner's base", () => {
    const base = '/app/backend/.deer-flow';
    const hostPathMode = deerFlowSandboxPod({ sandboxId: 'sb-1', userId: 'u3', hostBaseDir: base });
    expect(hostPathMode.spec?.volumes?.map((v) => v.hostPath?.path)).to.deep.equal([
      `${base}/skills_view/public`,
      `${base}/users/u3/skills_view/custom`,
      `${base}/users/u3/skills_view/legacy`,
      '/.deer-flow/threads/sb-1/user-data',
    ]);
    const claims = deerFlowSandboxPod({
      sandboxId: 'sb-1',
      userId: 'u3',
      hostBaseDir: base,
      pvc: { userDataClaim: 'h' },
      extraMounts: [{ hostPath: `${base}/users/u3/threads/t/acp-workspace`, containerPath: '/mnt/acp-workspace', readOnly: true }],
    });
    expect(claims.spec?.containers[0]?.volumeMounts?.find((m) => m.name === 'extra-0')?.subPath).to.equal('deer-flow/users/u3/threads/t/acp-workspace');
  });

  it("changes the chart's env as a setting says, without touching the chart's", () => {
    const chart = { A: '1', B: '2' };
    expect(settingEnv(chart, { A: null, C: '3', B: '4' })).to.deep.equal({ B: '4', C: '3' });
    expect(chart).to.deep.equal({ A: '1', B: '2' });
  });

  it('gives every request of a run its own sandbox id, a DNS label also as the Service name', () => {
    const ids: string[] = [];
    for (const setting of SETTINGS) for (const request of setting.requests) ids.push(sandboxIdFor(ids.length + 1, setting.id, request.id));
    expect(new Set(ids).size).to.equal(ids.length);
    for (const id of ids) expect(`sandbox-${id}-svc`).to.match(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/);
    expect(sandboxIdFor(3, 'pvc-skills-bad-template', 'gateway-no-custom')).to.equal('3-pvcskillsbad-gatewaynocusto');
  });

  it("keeps the scratch driver's settings and requests, each with its expectation", () => {
    const listed = SETTINGS.map((s) => `${s.id}: ${s.requests.map((r) => `${r.id}=${r.expected.outcome === 'created' ? 'created' : r.expected.status}`).join(' ')}`);
    expect(listed).to.deep.equal([
      'chart-exact: gateway=401',
      'hostpath: plain=created gateway=500 gateway-no-custom=created runtime-no-image=created custom-alone=500 untidy=created duplicate=400 outside-base=400',
      'lark-a: gateway-runtime=created every-extra=created gateway=500',
      'lark-b: gateway-broker=created broker-config-only=created broker-every-extra=created',
      'lark-b-deny: gateway-broker=created',
      'pvc-home: gateway=500 gateway-no-custom=created gateway-chart-base=400',
      'chart-base: gateway=500 gateway-no-custom=500',
      'chart-base-skills: gateway=created',
      'pvc-both: gateway=created gateway-broker=created',
      'pvc-skills-subpath: gateway=created',
      'pvc-skills-bad-template: plain=500',
    ]);
    expect(SETTINGS.filter((s) => !s.apiKey).map((s) => s.id)).to.deep.equal(['chart-exact']);
  });

  it('can build the model for every request whose expectation needs it, under its setting and the chart env', () => {
    for (const setting of SETTINGS) {
      const env = settingEnv(CHART_ENV, setting.env);
      for (const request of setting.requests.filter((r) => needsModel(r.expected))) {
        expect(() => deerFlowSandboxPod(modelRequestFor(request.body('sb-1'), env)), `${setting.id}/${request.id}`).not.to.throw();
      }
    }
  });
});
