import { expect } from 'chai';
import { parse } from 'yaml';
import { celString, celStringList } from '../../src/backstop/cel.js';
import {
  BackstopError,
  DEFAULT_BACKSTOP_OPTIONS,
  backstop,
  backstopPrefixes,
  bindingNamespaceSelector,
  type BackstopOptions,
} from '../../src/backstop/policy.js';
import { policyOf } from '../helpers/policies.js';

/** Every CEL expression of the policy, with where it sits. */
function expressions(options: BackstopOptions = DEFAULT_BACKSTOP_OPTIONS): Array<[string, string]> {
  const spec = backstop(policyOf(), options).policy.spec;
  const found: Array<[string, string]> = [];
  for (const v of spec?.variables ?? []) found.push([`variables.${v.name}`, v.expression]);
  (spec?.validations ?? []).forEach((v, i) => {
    found.push([`validations[${i}].expression`, v.expression]);
    if (v.messageExpression !== undefined) found.push([`validations[${i}].messageExpression`, v.messageExpression]);
  });
  return found;
}

describe('backstop: the generated ValidatingAdmissionPolicy', () => {
  describe('prefixes', () => {
    const rows: Array<{ name: string; policy: Record<string, unknown>; readOnly: string[]; writable: string[] }> = [
      {
        name: 'allowed then built-in, split by readOnly',
        policy: {},
        readOnly: ['/srv/models', '/skills'],
        writable: ['/srv/sandbox', '/srv/models/scratch', '/.deer-flow/threads'],
      },
      {
        name: 'a prefix in both lists: read-only wins, listed once',
        policy: { allowedHostPaths: [{ pathPrefix: '/data' }, { pathPrefix: '/data' }], builtinHostPaths: [{ pathPrefix: '/data', readOnly: true }] },
        readOnly: ['/data'],
        writable: [],
      },
      {
        name: 'a trailing "/" of a prefix is trimmed (by the policy schema)',
        policy: { allowedHostPaths: [{ pathPrefix: '/data/' }], builtinHostPaths: [] },
        readOnly: [],
        writable: ['/data'],
      },
      { name: 'an empty policy: nothing is allowed', policy: { allowedHostPaths: [], builtinHostPaths: [] }, readOnly: [], writable: [] },
    ];
    for (const row of rows) {
      it(row.name, () => {
        expect(backstopPrefixes(policyOf(row.policy))).to.deep.equal({ readOnly: row.readOnly, writable: row.writable });
      });
    }

    it('refuses a prefix with "*" or a placeholder, which its CEL would read as a literal, naming the field', () => {
      const policy = policyOf({ allowedHostPaths: [{ pathPrefix: '/srv/a' }, { pathPrefix: '/srv/users/{sandboxUser}' }] });
      expect(() => backstop(policy)).to.throw(BackstopError, 'allowedHostPaths[1].pathPrefix "/srv/users/{sandboxUser}" has "*" or a placeholder, which the backstop cannot enforce yet');
    });

    it('refuses a prefix CEL cannot hold, naming the field', () => {
      const policy = policyOf({ builtinHostPaths: [{ pathPrefix: '/x\uD800' }] });
      expect(() => backstop(policy)).to.throw(BackstopError, 'builtinHostPaths[0].pathPrefix contains a lone UTF-16 surrogate');
    });
  });

  describe('CEL string literals', () => {
    const rows: Array<[string, string, string]> = [
      ['plain', '/srv/sandbox', '"/srv/sandbox"'],
      ['quotes and backslashes', `/a'b"c\\d`, `"/a'b\\"c\\\\d"`],
      ['what Go escapes for HTML (as Helm toJson)', '/a<b>&c', '"/a\\u003cb\\u003e\\u0026c"'],
      ['line and paragraph separators', '/a\u2028\u2029', '"/a\\u2028\\u2029"'],
      ['control characters', '/a\n\u0001', '"/a\\n\\u0001"'],
      ['non-ASCII as is', '/données/😀', '"/données/😀"'],
    ];
    for (const [name, value, literal] of rows) {
      it(name, () => expect(celString(value)).to.equal(literal));
    }
    it('a list', () => expect(celStringList(['/a', '/b'])).to.equal('["/a", "/b"]'));
    it('an empty list', () => expect(celStringList([])).to.equal('[]'));
  });

  describe('objects', () => {
    const objects = backstop(policyOf());

    it('a policy and a binding of admissionregistration.k8s.io/v1 with the same name', () => {
      expect(objects.policy).to.include({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy' });
      expect(objects.binding).to.include({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding' });
      expect(objects.policy.metadata?.name).to.equal('mountgate-backstop');
      expect(objects.binding.spec?.policyName).to.equal('mountgate-backstop');
    });

    it('judges Pod CREATE and the pods/ephemeralcontainers UPDATE, nothing else', () => {
      expect(objects.policy.spec?.matchConstraints?.resourceRules).to.deep.equal([
        { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] },
        { apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['pods/ephemeralcontainers'] },
      ]);
    });

    it('fails closed and has no parameters', () => {
      expect(objects.policy.spec?.failurePolicy).to.equal('Fail');
      expect(objects.policy.spec?.paramKind).to.equal(undefined);
      expect(objects.binding.spec?.paramRef).to.equal(undefined);
    });

    it('denies with reason Forbidden, like mountgate', () => {
      expect(objects.policy.spec?.validations?.map((v) => v.reason)).to.deep.equal(['Forbidden', 'Forbidden']);
      expect(objects.binding.spec?.validationActions).to.deep.equal(['Deny']);
    });

    it('holds the policy in two literal lists, longest prefix decided in CEL', () => {
      const variables = objects.policy.spec?.variables ?? [];
      expect(variables.slice(0, 2)).to.deep.equal([
        { name: 'readOnlyPrefixes', expression: '["/srv/models", "/skills"]' },
        { name: 'writablePrefixes', expression: '["/srv/sandbox", "/srv/models/scratch", "/.deer-flow/threads"]' },
      ]);
    });

    it('by default selects the namespaces labelled mountgate.io/enabled=true, never kube-system', () => {
      expect(objects.binding.spec?.matchResources?.namespaceSelector).to.deep.equal({
        matchLabels: { 'mountgate.io/enabled': 'true' },
        matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] }],
      });
    });

    it('prints as plain YAML: no anchors or aliases between the two objects', () => {
      const text = JSON.stringify(objects);
      expect(parse(text)).to.deep.equal(JSON.parse(text));
      expect(objects.policy.metadata).not.to.equal(objects.binding.metadata);
    });
  });

  describe('binding namespaces', () => {
    const rows: Array<{ name: string; selector: Record<string, unknown>; excluded: string[]; expected: unknown }> = [
      {
        name: 'every namespace but the excluded ones',
        selector: {},
        excluded: ['mountgate'],
        expected: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'mountgate'] }] },
      },
      {
        name: 'expressions of the selector are kept, kube-system listed once',
        selector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] },
        excluded: ['kube-system'],
        expected: {
          matchExpressions: [
            { key: 'team', operator: 'Exists' },
            { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] },
          ],
        },
      },
    ];
    for (const row of rows) {
      it(row.name, () => expect(bindingNamespaceSelector(row.selector, row.excluded)).to.deep.equal(row.expected));
    }
  });

  describe('the CEL (what the API server itself checks is in test/e2e/backstop.test.ts)', () => {
    // Features newer than Kubernetes 1.29's CEL environment, or parameters: a 1.30 API server would refuse them.
    const forbidden: Array<[string, RegExp]> = [
      ['params', /\bparams\b/],
      ['lists extension (1.34)', /\.(slice|flatten|sortBy|distinct|reverse|first|last)\(|\blists\.range\(/],
      ['sets extension', /\bsets\./],
      ['two-variable comprehensions (1.32)', /\.(all|exists|existsOne|exists_one|transformList|transformMap|transformMapEntry)\(\w+, \w+,/],
      ['IP and CIDR (1.30)', /\b(ip|cidr|isIP|isCIDR)\(/],
      ['format library (1.31)', /\.format\(|\bformat\./],
      ['semver (1.33)', /\bsemver\(|isSemver\(/],
      ['authorizer', /\bauthorizer\b/],
      ['cel.bind (not in the Kubernetes environment)', /\bcel\.bind\(/],
    ];
    for (const [name, pattern] of forbidden) {
      it(`uses no ${name}`, () => {
        for (const [where, expression] of expressions()) expect(expression, where).not.to.match(pattern);
      });
    }

    it('reads the object only through ?. (a missing field is never an error)', () => {
      for (const [where, expression] of expressions()) {
        expect(expression, where).not.to.match(/\bobject\.(?!\?)/);
        // Containers (c), mounts (m) and raw volumes (x) come straight from the object.
        expect(expression, where).not.to.match(/\b[cmx]\.(?!\?)\w/);
      }
    });

    it('makes each message cheap when its rule holds', () => {
      const messages = expressions().filter(([where]) => where.endsWith('messageExpression'));
      expect(messages).to.have.length(2);
      for (const [where, expression] of messages) expect(expression, where).to.match(/^variables\.\w+\.size\(\) == 0 \? '' : /);
    });

    it('is the same text for every policy but the two literal lists', () => {
      const other = backstop(policyOf({ allowedHostPaths: [{ pathPrefix: '/x' }], builtinHostPaths: [] })).policy.spec;
      const mine = backstop(policyOf()).policy.spec;
      expect(other?.variables?.slice(2)).to.deep.equal(mine?.variables?.slice(2));
      expect(other?.validations).to.deep.equal(mine?.validations);
    });
  });
});
