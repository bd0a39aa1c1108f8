/**
 * The bodies the deer-flow provisioner tool sends as deer-flow's Gateway would
 * (test/e2e/tools/deer-flow/gateway.ts): which mounts are forwarded, in which order, with which
 * host paths, and what the lark-cli options and the base change.
 */
import { expect } from 'chai';
import { extraMountsFor } from '../../e2e/deer-flow-pods.js';
import { CHART_GATEWAY_BASE, forwardedExtraMounts, gatewayBody, gatewayCollectedMounts, toWire } from '../../e2e/tools/deer-flow/gateway.js';

const X = extraMountsFor('u3', 't-4c1e');
const call = { sandboxId: 'sb-1', user: 'u3', thread: 't-4c1e' };

describe('deer-flow provisioner tool: the Gateway payload', () => {
  it("forwards the seven targets the provisioner accepts, in the Gateway's order, with the model's host paths and flags", () => {
    const body = gatewayBody(call);
    expect(body.extra_mounts).to.deep.equal(
      toWire([X.acpWorkspace, X.customSkills, X.integrationSkills, X.larkConfig, X.larkLocks, X.larkData, X.larkRuntime]),
    );
  });

  it("fills the request's other fields as _provisioner_create does", () => {
    const body = gatewayBody({ ...call, legacySkills: true });
    expect(body).to.include({
      sandbox_id: 'sb-1',
      thread_id: 't-4c1e',
      user_id: 'u3',
      include_legacy_skills: true,
      provision_lark_cli_runtime: false,
      provision_lark_cli_broker: false,
    });
  });

  it('never forwards the mounts the provisioner builds itself (user-data, public and legacy skills)', () => {
    const targets = (gatewayBody(call).extra_mounts ?? []).map((m) => m.container_path);
    for (const own of ['/mnt/user-data/workspace', '/mnt/user-data/uploads', '/mnt/user-data/outputs', '/mnt/skills/public', '/mnt/skills/legacy']) {
      expect(targets).not.to.include(own);
    }
    expect(gatewayCollectedMounts('u3', 't-4c1e').map((m) => m.containerPath)).to.include('/mnt/skills/legacy');
  });

  for (const option of [{ larkRuntime: true }, { larkBroker: true }, { larkRuntime: true, larkBroker: true }]) {
    it(`drops only the runtime folder with ${JSON.stringify(option)}`, () => {
      const targets = (gatewayBody({ ...call, ...option }).extra_mounts ?? []).map((m) => m.container_path);
      expect(targets).to.have.length(6);
      expect(targets).not.to.include('/mnt/integrations/lark-cli/runtime');
      expect(targets).to.include('/mnt/integrations/lark-cli/config');
    });
  }

  it('leaves /mnt/skills/custom out when asked, and nothing else', () => {
    const targets = (gatewayBody({ ...call, withoutCustomSkills: true }).extra_mounts ?? []).map((m) => m.container_path);
    expect(targets).to.have.length(6);
    expect(targets).not.to.include('/mnt/skills/custom');
  });

  it("computes every host path under the Gateway's own base", () => {
    const paths = (gatewayBody({ ...call, base: CHART_GATEWAY_BASE }).extra_mounts ?? []).map((m) => m.host_path);
    expect(paths).to.have.length(7);
    for (const p of paths) expect(p.startsWith(`${CHART_GATEWAY_BASE}/`), p).to.equal(true);
    expect(paths[0]).to.equal(`${CHART_GATEWAY_BASE}/users/u3/threads/t-4c1e/acp-workspace`);
  });

  it('forwards nothing from nothing, and nothing the provisioner would refuse', () => {
    expect(forwardedExtraMounts([], false, false)).to.deep.equal([]);
    expect(forwardedExtraMounts([{ hostPath: '/.deer-flow/x', containerPath: '/mnt/elsewhere', readOnly: true }], false, false)).to.deep.equal([]);
  });
});
