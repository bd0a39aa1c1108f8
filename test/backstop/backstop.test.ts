import { expect } from 'chai';
import fc from 'fast-check';
import { parse } from 'yaml';
import { celString, celStringList } from '../../src/backstop/cel.js';
import {
  BackstopError,
  DEFAULT_BACKSTOP_OPTIONS,
  backstop,
  backstopEntries,
  bindingNamespaceSelector,
  celEntries,
  celPositions,
  rankOf,
  type BackstopEntry,
  type BackstopOptions,
} from '../../src/backstop/policy.js';
import { compilePolicy } from '../../src/policy/compile.js';
import { parsePattern } from '../../src/policy/patterns.js';
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
  describe('entries', () => {
    const lit = (rank: string, prefix: string): BackstopEntry => ({ prefix, under: `${prefix}/`, segments: [], rank });
    const rows: Array<{ name: string; policy: Record<string, unknown>; entries: BackstopEntry[] }> = [
      {
        name: 'allowed then built-in, in the order of the policy, ranked by segments then read-only',
        policy: {},
        entries: [lit('9997001', '/srv/sandbox'), lit('9997000', '/srv/models'), lit('99960001', '/srv/models/scratch'), lit('999800', '/skills'), lit('9997001', '/.deer-flow/threads')],
      },
      {
        name: 'a prefix listed twice is kept once per read-only-ness',
        policy: { allowedHostPaths: [{ pathPrefix: '/data' }, { pathPrefix: '/data' }], builtinHostPaths: [{ pathPrefix: '/data', readOnly: true }] },
        entries: [lit('999801', '/data'), lit('999800', '/data')],
      },
      {
        name: 'a trailing "/" of a prefix is trimmed (by the policy schema)',
        policy: { allowedHostPaths: [{ pathPrefix: '/data/' }], builtinHostPaths: [] },
        entries: [lit('999801', '/data')],
      },
      { name: 'an empty policy: nothing is allowed', policy: { allowedHostPaths: [], builtinHostPaths: [] }, entries: [] },
      {
        name: 'patterns: segments as written, led by their literal segments, "*" and placeholders ranked after literals',
        policy: {
          allowedHostPaths: [{ pathPrefix: '/srv/users/{sandboxUser}' }, { pathPrefix: '/srv/t/{namespace}/{user}', readOnly: true }],
          builtinHostPaths: [{ pathPrefix: '/.deer-flow/users/*/threads/*/acp-workspace', readOnly: true }],
        },
        entries: [
          { prefix: '/srv/users/{sandboxUser}', under: '/srv/users/', segments: ['srv', 'users', '{sandboxUser}'], rank: '99960011' },
          { prefix: '/srv/t/{namespace}/{user}', under: '/srv/t/', segments: ['srv', 't', '{namespace}', '{user}'], rank: '999500110' },
          { prefix: '/.deer-flow/users/*/threads/*/acp-workspace', under: '/.deer-flow/users/', segments: ['.deer-flow', 'users', '*', 'threads', '*', 'acp-workspace'], rank: '99930010100' },
        ],
      },
    ];
    for (const row of rows) {
      it(row.name, () => {
        expect(backstopEntries(policyOf(row.policy))).to.deep.equal(row.entries);
      });
    }

    it('the CEL literals: entries as lists of strings, positions up to the longest pattern', () => {
      const entries = backstopEntries(policyOf({ allowedHostPaths: [{ pathPrefix: '/a/*/b', readOnly: true }, { pathPrefix: '/c' }], builtinHostPaths: [] }));
      expect(celEntries(entries)).to.equal('[["99960100", "/a/*/b", "/a/", "a", "*", "b"], ["999801", "/c", "/c/"]]');
      expect(celPositions(entries)).to.equal('[0, 1, 2]');
      expect(celPositions(backstopEntries(policyOf({})))).to.equal('[]');
    });

    it('ranks patterns in the deciding order of mountgate (compilePolicy sorts them so)', () => {
      const segment = fc.constantFrom('a', 'b', '*', '{namespace}', '{user}', '{sandboxUser}');
      const pattern = fc
        .tuple(fc.array(segment, { maxLength: 4 }), fc.constantFrom('*', '{user}'), fc.array(segment, { maxLength: 3 }), fc.boolean())
        .map(([before, special, after, readOnly]) => ({ pathPrefix: `/${['a', ...before, special, ...after].join('/')}`, readOnly }));
      fc.assert(
        fc.property(fc.array(pattern, { minLength: 1, maxLength: 8 }), (entries) => {
          const policy = policyOf({ allowedHostPaths: entries, builtinHostPaths: [] });
          const decided = policy.carriablePatterns.map((e) => `${e.pathPrefix} ${String(e.readOnly)}`);
          // A stable sort by rank, as compilePolicy's is by its comparator: the same order, ties in file order.
          const ranked = entries
            .map((e, i) => ({ e, i, rank: rankOf(parsePattern(e.pathPrefix), e.readOnly) }))
            .sort((x, y) => (x.rank < y.rank ? -1 : x.rank > y.rank ? 1 : x.i - y.i))
            .map(({ e }) => `${e.pathPrefix} ${String(e.readOnly)}`);
          expect(ranked).to.deep.equal(decided);
        }),
      );
    });

    it('refuses a prefix CEL cannot hold, naming the field', () => {
      // The policy parser refuses a lone surrogate too (canonicalPath): compiled directly, the spec reaches the backstop's own guard.
      const policy = compilePolicy({ ...policyOf().spec, builtinHostPaths: [{ pathPrefix: '/x\uD800', readOnly: false }] });
      expect(() => backstop(policy)).to.throw(BackstopError, 'builtinHostPaths[0].pathPrefix contains a lone UTF-16 surrogate');
      // A low surrogate alone too, named by its own list and index; a pair is a character like any other.
      const low = compilePolicy({ ...policyOf().spec, allowedHostPaths: [{ pathPrefix: '/a', readOnly: false }, { pathPrefix: '/\uDC00x', readOnly: false }] });
      expect(() => backstop(low)).to.throw(BackstopError, 'allowedHostPaths[1].pathPrefix contains a lone UTF-16 surrogate');
      const pair = compilePolicy({ ...policyOf().spec, allowedHostPaths: [{ pathPrefix: '/\uD83D\uDE00', readOnly: false }] });
      expect(() => backstop(pair)).to.not.throw();
    });

    // The API server compiles no CEL expression longer than 100,000 characters (code points): it refuses to store such a
    // policy (422), and `helm install` of the chart fails with it. test/e2e/backstop.test.ts holds the limit to a real one.
    const tenants = (count: number, tail = 'projects'): Array<{ pathPrefix: string; readOnly: boolean }> =>
      Array.from({ length: count }, (_, i) => ({ pathPrefix: `/srv/tenants/team-${i}/${tail}`, readOnly: i % 3 === 0 }));
    /** trustedProvisioners whose CEL list literal is exactly `length` characters long (ASCII: one character a byte). */
    const provisioners = (length: number): string[] => {
      const names = Array.from({ length: 2000 }, (_, i) => `system:serviceaccount:team-${i}:p`);
      names[0] = `${names[0] ?? ''}${'x'.repeat(length - celStringList(names).length)}`;
      expect(celStringList(names)).to.have.length(length);
      return names;
    };
    const tooLong: Array<{ name: string; spec: Record<string, unknown>; throws: string | undefined }> = [
      { name: '700 entries of some 30 characters fit', spec: { allowedHostPaths: tenants(700), builtinHostPaths: [] }, throws: undefined },
      {
        name: '1300 entries of some 30 characters do not: the entries of both lists make one expression',
        spec: { allowedHostPaths: tenants(650), builtinHostPaths: tenants(650, 'shared') },
        throws: "allowedHostPaths and builtinHostPaths make the backstop's CEL variable policyEntries 106",
      },
      {
        name: 'characters are counted as code points, not UTF-8 bytes or UTF-16 code units (an emoji: 4 bytes, 2 units, 1 character)',
        spec: { allowedHostPaths: tenants(600, '😀'.repeat(30)), builtinHostPaths: [] },
        throws: undefined,
      },
      {
        name: 'an expression of exactly 100,000 characters fits',
        spec: { trustedProvisioners: provisioners(100_000) },
        throws: undefined,
      },
      {
        name: 'an expression of 100,001 characters does not',
        spec: { trustedProvisioners: provisioners(100_001) },
        throws: "trustedProvisioners make the backstop's CEL variable trustedProvisioners 100001 characters long, over the 100000 the API server compiles in one expression",
      },
      {
        name: 'trustedProvisioners are one expression of their own',
        spec: { trustedProvisioners: Array.from({ length: 2000 }, (_, i) => `system:serviceaccount:sandboxes-${i}:provisioner`) },
        throws: "trustedProvisioners make the backstop's CEL variable trustedProvisioners 1",
      },
    ];
    for (const row of tooLong) {
      it(`the API server's limit of 100,000 characters for one CEL expression: ${row.name}`, () => {
        const policy = compilePolicy({ ...policyOf().spec, ...row.spec });
        if (row.throws === undefined) expect(() => backstop(policy)).to.not.throw();
        else expect(() => backstop(policy)).to.throw(BackstopError, row.throws);
      });
    }
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

    it('takes its name, labels, validation actions and namespaces from the options', () => {
      const options: BackstopOptions = {
        name: 'sandbox-hostpaths',
        namespaceSelector: { matchLabels: { team: 'sandbox' } },
        excludedNamespaces: ['kube-system', 'mountgate'],
        validationActions: ['Audit', 'Warn'],
        labels: { tier: 'guard' },
      };
      const made = backstop(policyOf(), options);
      expect(made.policy.metadata).to.deep.equal({ name: 'sandbox-hostpaths', labels: { tier: 'guard' } });
      expect(made.binding.metadata).to.deep.equal({ name: 'sandbox-hostpaths', labels: { tier: 'guard' } });
      expect(made.binding.spec).to.deep.equal({
        policyName: 'sandbox-hostpaths',
        validationActions: ['Audit', 'Warn'],
        matchResources: {
          namespaceSelector: { matchLabels: { team: 'sandbox' }, matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'mountgate'] }] },
        },
      });
      expect(objects.policy.metadata?.labels).to.deep.equal({ 'app.kubernetes.io/name': 'mountgate', 'app.kubernetes.io/component': 'backstop' });
    });

    it('judges Pod CREATE and the pods/ephemeralcontainers UPDATE, nothing else', () => {
      expect(objects.policy.spec?.matchConstraints?.matchPolicy).to.equal('Equivalent');
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
      expect(objects.policy.spec?.validations?.map((v) => v.reason)).to.deep.equal(['Forbidden', 'Forbidden', 'Forbidden', 'Forbidden', 'Forbidden', 'Forbidden', 'Forbidden']);
      expect(objects.binding.spec?.validationActions).to.deep.equal(['Deny']);
    });

    it('holds the policy in eight literals, the deciding entry found in CEL', () => {
      const variables = objects.policy.spec?.variables ?? [];
      expect(variables.slice(0, 8)).to.deep.equal([
        {
          name: 'policyEntries',
          expression: '[["9997001", "/srv/sandbox", "/srv/sandbox/"], ["9997000", "/srv/models", "/srv/models/"], ["99960001", "/srv/models/scratch", "/srv/models/scratch/"], ["999800", "/skills", "/skills/"], ["9997001", "/.deer-flow/threads", "/.deer-flow/threads/"]]',
        },
        { name: 'positions', expression: '[]' },
        { name: 'trustedProvisioners', expression: '[]' },
        { name: 'sandboxUserAnnotation', expression: '"mountgate.io/sandbox-user"' },
        { name: 'injectedMayCreate', expression: 'false' },
        { name: 'baseline', expression: 'true' },
        { name: 'handWrittenBuiltin', expression: 'false' },
        { name: 'builtinKeys', expression: '[]' },
      ]);
      expect(backstop(policyOf({ hostPathType: 'DirectoryOrCreate' })).policy.spec?.variables?.[4]).to.deep.equal({ name: 'injectedMayCreate', expression: 'true' });
      expect(backstop(policyOf({ podSecurity: 'privileged' })).policy.spec?.variables?.[5]).to.deep.equal({ name: 'baseline', expression: 'false' });
      // The keys of builtinHostPaths, each once: /skills twice, and read-write beside read-only, is two keys.
      const builtin = policyOf({
        handWrittenHostPaths: 'builtin',
        builtinHostPaths: [{ pathPrefix: '/skills', readOnly: true }, { pathPrefix: '/.deer-flow/threads' }, { pathPrefix: '/skills', readOnly: true }, { pathPrefix: '/skills' }],
      });
      expect(backstop(builtin).policy.spec?.variables?.slice(6, 8)).to.deep.equal([
        { name: 'handWrittenBuiltin', expression: 'true' },
        { name: 'builtinKeys', expression: '["999800 /skills", "9997001 /.deer-flow/threads", "999801 /skills"]' },
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
        expect(expression, where).not.to.match(/\b(object|oldObject|request)\.(?!\?)/);
        // String literals aside (they hold field paths for messages), a field selected without "?" is a variable, or a key
        // of the map the CEL builds for each hostPath volume; whatever comes from the object (containers, mounts, volumes,
        // ports, earlier ephemeral containers) is read through "?.". Method calls aside.
        const code = expression.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, "''");
        const plain = [...code.matchAll(/\b\w+\.(?!\?)\w+\b(?!\()/g)].map(([selection]) => selection);
        expect(plain.filter((s) => !/^variables\.\w+$|^v\.(name|raw|type|path|decides|builtin|hostPath)$/.test(s)), where).to.deep.equal([]);
        // A raw volume's hostPath only once has() has found it, and its fields through "?.".
        expect(code.match(/\bv\.hostPath\b(?!\)|\.\?)/g) ?? [], where).to.deep.equal([]);
      }
      // The map built for a volume holds its name, path and type read through "?.", not selected from the raw volume.
      const volumes = expressions().find(([where]) => where === 'variables.hostPathVolumes')?.[1] ?? '';
      expect(volumes).to.contain(".filter(v, has(v.hostPath)).map(v, {'name': string(v.?name.orValue('')), 'raw': string(v.hostPath.?path.orValue('')), 'type': string(v.hostPath.?type.orValue(''))})");
    });

    it('makes each message cheap when its rule holds', () => {
      const messages = expressions().filter(([where]) => where.endsWith('messageExpression'));
      expect(messages).to.have.length(7);
      for (const [where, expression] of messages) expect(expression, where).to.match(/^variables\.\w+\.size\(\) == 0 \? '' : /);
    });

    it('denies when a rule\'s variable lists anything, and explains with that same variable, rule by rule', () => {
      const rules = ['outside', 'writers', 'creators', 'subPathMounters', 'rootMounters', 'untrustedSandboxUser', 'baselineBreaks'];
      const validations = backstop(policyOf()).policy.spec?.validations ?? [];
      expect(validations.map((v) => v.expression)).to.deep.equal(rules.map((name) => `variables.${name}.size() == 0`));
      expect(validations.map((v) => /^variables\.(\w+)\.size\(\) == 0 \? '' : /.exec(v.messageExpression ?? '')?.[1])).to.deep.equal(rules);
      // Past its cheap test, each message reads the first of what its own variable lists.
      validations.forEach((v, i) => expect(v.messageExpression, rules[i]).to.match(new RegExp(`variables\\.${rules[i]}\\[0\\]`)));
    });

    it('refers in a variable only to variables defined before it, and in a rule only to variables defined (as the API server requires)', () => {
      const spec = backstop(policyOf()).policy.spec;
      const defined: string[] = [];
      const used = (expression: string): string[] => [...expression.matchAll(/\bvariables\.(\w+)/g)].map(([, name]) => name ?? '');
      for (const v of spec?.variables ?? []) {
        expect(used(v.expression).filter((name) => !defined.includes(name)), `variables.${v.name}`).to.deep.equal([]);
        defined.push(v.name);
      }
      for (const v of spec?.validations ?? []) expect(used(`${v.expression} ${v.messageExpression ?? ''}`).filter((name) => !defined.includes(name))).to.deep.equal([]);
    });

    it('is the same text for every policy but the eight literals', () => {
      const other = backstop(
        policyOf({
          allowedHostPaths: [{ pathPrefix: '/x/{user}/*' }],
          trustedProvisioners: ['p'],
          sandboxUserAnnotation: 'example.com/u',
          hostPathType: 'DirectoryOrCreate',
          podSecurity: 'privileged',
          handWrittenHostPaths: 'builtin',
          builtinHostPaths: [{ pathPrefix: '/b' }],
        }),
      ).policy.spec;
      const mine = backstop(policyOf()).policy.spec;
      const literals = ['policyEntries', 'positions', 'trustedProvisioners', 'sandboxUserAnnotation', 'injectedMayCreate', 'baseline', 'handWrittenBuiltin', 'builtinKeys'];
      expect(other?.variables?.slice(0, 8).map((v) => v.name)).to.deep.equal(literals);
      for (let i = 0; i < 8; i++) expect(other?.variables?.[i]).to.not.deep.equal(mine?.variables?.[i]);
      expect(other?.variables?.slice(8)).to.deep.equal(mine?.variables?.slice(8));
      expect(other?.validations).to.deep.equal(mine?.validations);
    });
  });
});
