/**
 * The chart's backstop (templates/backstop.yaml): rendered on Kubernetes 1.30+ unless turned off,
 * the same ValidatingAdmissionPolicy as `mountgate backstop` prints for the same policy, bound to
 * the namespaces the validating webhook selects.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { V1ValidatingAdmissionPolicy } from '@kubernetes/client-node';
import { backstop } from '../../src/backstop/policy.js';
import { parsePolicy } from '../../src/policy/load.js';
import { FULLNAME, HELM_DEFAULT_KUBE_VERSION, REPO_ROOT, all, get, kindOf, one, render, template, webhookOf, type Obj } from './helm.js';

const KUBE_1_30 = ['--kube-version', '1.30.0'];
const PER_USER_EXAMPLE = parse(readFileSync(path.join(REPO_ROOT, 'examples', 'deer-flow-per-user-policy.yaml'), 'utf8')) as Record<string, unknown>;
const BACKSTOP = `${FULLNAME}-backstop`;

function backstopKinds(docs: readonly Obj[]): string[] {
  return docs.map(kindOf).filter((kind) => kind.startsWith('ValidatingAdmissionPolicy'));
}

describe('chart: the backstop ValidatingAdmissionPolicy', function () {
  const when: Array<{ name: string; args: string[]; values?: Record<string, unknown>; rendered: boolean }> = [
    { name: `helm template's default (Kubernetes ${HELM_DEFAULT_KUBE_VERSION})`, args: [], rendered: true },
    { name: 'Kubernetes 1.30', args: KUBE_1_30, rendered: true },
    { name: 'Kubernetes 1.34', args: ['--kube-version', '1.34.12'], rendered: true },
    { name: 'a 1.30 pre-release (as some providers report)', args: ['--kube-version', '1.30.2-eks-1234'], rendered: true },
    { name: 'Kubernetes 1.29 (no ValidatingAdmissionPolicy v1)', args: ['--kube-version', '1.29.9'], rendered: false },
    { name: 'turned off on 1.30', args: KUBE_1_30, values: { backstop: { enabled: false } }, rendered: false },
  ];
  for (const row of when) {
    it(`${row.rendered ? 'is rendered' : 'is not rendered'}: ${row.name}`, function () {
      const docs = render({ extraArgs: row.args, ...(row.values === undefined ? {} : { values: row.values }) });
      expect(backstopKinds(docs)).to.deep.equal(row.rendered ? ['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'] : []);
    });
  }

  // Policies whose prefixes test the literals: duplicates across lists, trailing slashes, and
  // characters CEL, YAML and JSON each escape differently.
  const policies: Array<{ name: string; policy: Record<string, unknown> }> = [
    { name: 'the empty default policy', policy: {} },
    {
      name: 'nested, duplicated and trailing-slash prefixes',
      policy: {
        allowedHostPaths: [{ pathPrefix: '/srv/sandbox/' }, { pathPrefix: '/srv/models', readOnly: true }, { pathPrefix: '/srv/models/scratch' }, { pathPrefix: '/srv/sandbox' }],
        builtinHostPaths: [{ pathPrefix: '/skills', readOnly: true }, { pathPrefix: '/srv/sandbox', readOnly: true }, { pathPrefix: '/.deer-flow/threads' }],
      },
    },
    {
      // A path cannot hold a backslash (canonicalPath); a requester's name can, as in the next row.
      name: 'quotes, <&>, printf verbs and non-ASCII',
      policy: { allowedHostPaths: [{ pathPrefix: `/srv/we ird'"<&>` }, { pathPrefix: '/données/😀', readOnly: true }, { pathPrefix: '/a%s$b' }] },
    },
    {
      name: 'patterns: "*", every placeholder, a pattern and a literal of one rank, trusted provisioners (one with a backslash and quotes) and the annotation key',
      policy: {
        allowedHostPaths: [
          { pathPrefix: '/srv/users/{sandboxUser}/' },
          { pathPrefix: '/srv/tenants/{namespace}/{user}', readOnly: true },
          { pathPrefix: '/srv/tenants/{namespace}/shared' },
          { pathPrefix: '/srv/users/{sandboxUser}' },
        ],
        builtinHostPaths: [
          { pathPrefix: '/.deer-flow/users/*/threads/*/acp-workspace', readOnly: true },
          { pathPrefix: '/.deer-flow/users/*/skills_view', readOnly: true },
          { pathPrefix: `/x/*/we ird'"<&>/😀` },
          { pathPrefix: '/x/a/b/c' },
        ],
        trustedProvisioners: ['system:serviceaccount:deer-flow:provisioner', 'group:sandbox-<provisioners>', `CORP\\provisioner "'one'"`],
        sandboxUserAnnotation: 'example.com/sandbox-user',
      },
    },
    { name: 'the per-user deer-flow example', policy: PER_USER_EXAMPLE },
    { name: 'handWrittenHostPaths: builtin', policy: { allowedHostPaths: [{ pathPrefix: '/srv/sandbox' }], builtinHostPaths: [{ pathPrefix: '/skills', readOnly: true }], handWrittenHostPaths: 'builtin' } },
    {
      // Built-in keys each once, one also among allowedHostPaths (one entry, still a built-in key), and one CEL and JSON must escape.
      name: 'handWrittenHostPaths: builtin, with repeated and odd built-in entries',
      policy: {
        allowedHostPaths: [{ pathPrefix: '/srv/sandbox' }, { pathPrefix: '/skills', readOnly: true }],
        builtinHostPaths: [
          { pathPrefix: '/skills', readOnly: true },
          { pathPrefix: '/.deer-flow/users/{sandboxUser}/skills_view', readOnly: true },
          { pathPrefix: '/skills', readOnly: true },
          { pathPrefix: '/skills' },
          { pathPrefix: `/x/*/we ird'"<&>/😀` },
        ],
        handWrittenHostPaths: 'builtin',
      },
    },
    { name: 'handWrittenHostPaths: builtin, no built-in entries', policy: { allowedHostPaths: [{ pathPrefix: '/srv/sandbox' }], builtinHostPaths: [], handWrittenHostPaths: 'builtin' } },
    // The one setting under which mountgate's own volumes may be created in a read-only path.
    { name: 'hostPathType: DirectoryOrCreate', policy: { allowedHostPaths: [{ pathPrefix: '/srv/models', readOnly: true }], hostPathType: 'DirectoryOrCreate' } },
    { name: 'podSecurity: privileged', policy: { allowedHostPaths: [{ pathPrefix: '/srv/sandbox' }], podSecurity: 'privileged' } },
    { name: 'podSecurity: baseline, written out', policy: { allowedHostPaths: [{ pathPrefix: '/srv/sandbox' }], podSecurity: 'baseline' } },
    { name: 'hostPathType: Directory', policy: { allowedHostPaths: [{ pathPrefix: '/srv/models', readOnly: true }], hostPathType: 'Directory' } },
  ];
  // The API server compiles no CEL expression over 100,000 code points: the chart, as `mountgate backstop`, refuses a policy that makes one.
  const tenants = (count: number, tail = 'projects'): Array<{ pathPrefix: string; readOnly: boolean }> =>
    Array.from({ length: count }, (_, i) => ({ pathPrefix: `/srv/tenants/team-${i}/${tail}`, readOnly: i % 3 === 0 }));
  policies.push(
    { name: '700 entries, within the API server\'s limit for one CEL expression', policy: { allowedHostPaths: tenants(700) } },
    { name: '600 entries of emoji, within the limit in code points though not in bytes', policy: { allowedHostPaths: tenants(600, '😀'.repeat(30)) } },
  );
  const tooLong: Array<{ name: string; policy: Record<string, unknown>; expect: string }> = [
    {
      name: '1300 entries',
      policy: { allowedHostPaths: tenants(650), builtinHostPaths: tenants(650, 'shared') },
      expect: "policy.allowedHostPaths and builtinHostPaths make the backstop's CEL variable policyEntries 106",
    },
    {
      name: '2000 trusted provisioners',
      policy: { trustedProvisioners: Array.from({ length: 2000 }, (_, i) => `system:serviceaccount:sandboxes-${i}:provisioner`) },
      expect: "policy.trustedProvisioners make the backstop's CEL variable trustedProvisioners 1",
    },
  ];
  for (const row of tooLong) {
    it(`refuses, as mountgate backstop does, a policy too long for one CEL expression: ${row.name}`, function () {
      const res = template({ extraArgs: KUBE_1_30, values: { policy: row.policy } });
      expect(res.status, 'helm template must fail').to.not.equal(0);
      expect(res.stderr).to.include(row.expect);
      expect(() => backstop(parsePolicy(JSON.stringify(row.policy), 'values.policy'))).to.throw(row.expect.replace(/^policy\./, ''));
    });
  }

  for (const row of policies) {
    it(`is what mountgate backstop prints for ${row.name}`, function () {
      const docs = render({ extraArgs: KUBE_1_30, values: { policy: row.policy } });
      const expected = backstop(parsePolicy(JSON.stringify(row.policy), 'values.policy'));
      const policy = one(docs, 'ValidatingAdmissionPolicy', BACKSTOP) as V1ValidatingAdmissionPolicy;
      expect(policy.spec).to.deep.equal(expected.policy.spec);
    });
  }

  it('binds to the namespaces the validating webhook selects (never kube-system or its own namespace), denying', function () {
    const rows: Array<Record<string, unknown>> = [
      {},
      { webhook: { namespaceSelector: { matchLabels: { team: 'sandbox' } }, excludeNamespaces: ['tools'] } },
      { webhook: { validating: { namespaceSelector: { matchExpressions: [{ key: 'sandbox', operator: 'Exists' }] } } } },
    ];
    for (const values of rows) {
      const docs = render({ extraArgs: KUBE_1_30, values });
      const binding = one(docs, 'ValidatingAdmissionPolicyBinding', BACKSTOP);
      const validating = webhookOf(one(docs, 'ValidatingWebhookConfiguration'));
      expect(get(binding, 'spec.policyName')).to.equal(BACKSTOP);
      expect(get(binding, 'spec.validationActions')).to.deep.equal(['Deny']);
      expect(get(binding, 'spec.matchResources.namespaceSelector'), JSON.stringify(values)).to.deep.equal(get(validating, 'namespaceSelector'));
      const excluded = get(binding, 'spec.matchResources.namespaceSelector.matchExpressions');
      expect(JSON.stringify(excluded)).to.contain('"kube-system","mountgate-system"');
    }
  });

  it('takes validationActions from the values', function () {
    const docs = render({ extraArgs: KUBE_1_30, values: { backstop: { validationActions: ['Audit', 'Warn'] } } });
    expect(get(one(docs, 'ValidatingAdmissionPolicyBinding', BACKSTOP), 'spec.validationActions')).to.deep.equal(['Audit', 'Warn']);
    expect(all(docs, 'ValidatingAdmissionPolicy')).to.have.length(1);
  });

  const refused: Array<{ name: string; values: Record<string, unknown>; expect: string }> = [
    { name: 'Deny with Warn', values: { backstop: { validationActions: ['Deny', 'Warn'] } }, expect: '/backstop/validationActions' },
    { name: 'an unknown action', values: { backstop: { validationActions: ['deny'] } }, expect: '/backstop/validationActions/0' },
    { name: 'no action', values: { backstop: { validationActions: [] } }, expect: '/backstop/validationActions' },
    { name: 'an unknown key', values: { backstop: { mode: 'strict' } }, expect: "additional properties 'mode' not allowed" },
  ];
  for (const row of refused) {
    it(`the schema refuses ${row.name}`, function () {
      const res = template({ extraArgs: KUBE_1_30, values: row.values });
      expect(res.status, 'helm template must fail').to.not.equal(0);
      expect(res.stderr).to.include(row.expect);
    });
  }
});
