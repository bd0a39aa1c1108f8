import { expect } from 'chai';
import { decidingHostPathEntry, fillPlaceholders, notCoveredNote, type Fillings, type RequestFacts } from '../../src/policy/match.js';
import { loadPolicyFile, parsePolicy } from '../../src/policy/load.js';
import { problemsOf } from '../helpers/policies.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';


function compiled(allowedHostPaths: ReadonlyArray<{ pathPrefix: string; readOnly?: boolean }>, extra: Record<string, unknown> = {}): CompiledPolicy {
  return parsePolicy(JSON.stringify({ allowedHostPaths, ...extra }), 'p.json');
}

const TRUSTED = { trustedProvisioners: ['provisioner', 'group:deer-flow-provisioners'] };

function fillingsFor(policy: CompiledPolicy, facts: Partial<RequestFacts> = {}): Fillings {
  return fillPlaceholders(policy, { namespace: 'team-a', requester: { username: 'alice', groups: [] }, sandboxUser: undefined, ...facts });
}

function decides(policy: CompiledPolicy, path: string, facts: Partial<RequestFacts> = {}): string | undefined {
  const entry = decidingHostPathEntry(policy.requestable, policy.requestablePatterns, path, fillingsFor(policy, facts));
  return entry === undefined ? undefined : `${entry.pathPrefix}${entry.readOnly ? ' (ro)' : ''}`;
}

describe('policy/patterns', () => {
  describe('syntax', () => {
    it('accepts "*" and the three placeholders as whole segments, and the two new keys', () => {
      const policy = parsePolicy(
        [
          'allowedHostPaths:',
          '  - pathPrefix: /srv/tenants/{namespace}/',
          '  - {pathPrefix: "/.deer-flow/users/*/skills_view", readOnly: true}',
          'builtinHostPaths:',
          '  - pathPrefix: /home/{user}/cache',
          '  - pathPrefix: /.deer-flow/users/{sandboxUser}',
          'trustedProvisioners: [provisioner, "group:deer-flow-provisioners"]',
          'sandboxUserAnnotation: deer-flow.io/user',
        ].join('\n'),
        'p.yaml',
      );
      expect(policy.requestable).to.deep.equal([]);
      expect(policy.requestablePatterns.map((entry) => entry.pathPrefix)).to.deep.equal(['/.deer-flow/users/*/skills_view', '/srv/tenants/{namespace}']);
      expect(policy.carriablePatterns.map((entry) => entry.pathPrefix)).to.deep.equal([
        '/.deer-flow/users/*/skills_view',
        '/srv/tenants/{namespace}',
        // Three segments each: literal "users" beats {user} at the second.
        '/.deer-flow/users/{sandboxUser}',
        '/home/{user}/cache',
      ]);
      expect(policy.requestablePatterns[1]?.segments).to.deep.equal([
        { kind: 'literal', text: 'srv' },
        { kind: 'literal', text: 'tenants' },
        { kind: 'placeholder', name: 'namespace' },
      ]);
      expect([...policy.trustedProvisioners]).to.deep.equal(['provisioner', 'group:deer-flow-provisioners']);
      expect(policy.sandboxUserAnnotation).to.equal('deer-flow.io/user');
    });

    it('leaves a literal policy exactly as it was: no pattern lists, the default sandbox-user annotation, nobody trusted', () => {
      const policy = compiled([{ pathPrefix: '/srv/a' }]);
      expect(policy.spec).to.not.have.any.keys('trustedProvisioners', 'sandboxUserAnnotation');
      expect(policy.requestablePatterns).to.deep.equal([]);
      expect(policy.carriablePatterns).to.deep.equal([]);
      expect(policy.sandboxUserAnnotation).to.equal('mountgate.io/sandbox-user');
      expect([...policy.trustedProvisioners]).to.deep.equal([]);
    });

    const invalid: Array<[string, string, string[]]> = [
      ['"*" inside a segment', 'allowedHostPaths: [{pathPrefix: "/srv/a*"}]', [
        'allowedHostPaths[0].pathPrefix has a segment "a*" that mixes text with "*", "{" or "}" (only "*", {namespace}, {user}, {sandboxUser} may stand in a segment, alone)',
      ]],
      ['a placeholder with text around it', 'builtinHostPaths: [{pathPrefix: "/srv/{user}-data"}]', [
        'builtinHostPaths[0].pathPrefix has a segment "{user}-data" that mixes text with "*", "{" or "}" (only "*", {namespace}, {user}, {sandboxUser} may stand in a segment, alone)',
      ]],
      ['two placeholders in one segment', 'allowedHostPaths: [{pathPrefix: "/srv/{namespace}{user}"}]', [
        'allowedHostPaths[0].pathPrefix has a segment "{namespace}{user}" that mixes text with "*", "{" or "}" (only "*", {namespace}, {user}, {sandboxUser} may stand in a segment, alone)',
      ]],
      ['an unknown placeholder', 'allowedHostPaths: [{pathPrefix: "/srv/{username}"}]', [
        'allowedHostPaths[0].pathPrefix has an unknown placeholder "{username}" (known: "*", {namespace}, {user}, {sandboxUser})',
      ]],
      ['"**"', 'allowedHostPaths: [{pathPrefix: "/srv/**"}]', [
        'allowedHostPaths[0].pathPrefix has a segment "**" that mixes text with "*", "{" or "}" (only "*", {namespace}, {user}, {sandboxUser} may stand in a segment, alone)',
      ]],
      ['a leading "*"', 'allowedHostPaths: [{pathPrefix: "/*/data"}]', [
        'allowedHostPaths[0].pathPrefix must start with a literal segment ("/*" would reach into every top-level directory of the node)',
      ]],
      ['a leading placeholder', 'builtinHostPaths: [{pathPrefix: "/{namespace}"}]', [
        'builtinHostPaths[0].pathPrefix must start with a literal segment ("/{namespace}" would reach into every top-level directory of the node)',
      ]],
      ['trustedProvisioners that is not a list', 'trustedProvisioners: alice', ['trustedProvisioners must be a list']],
      ['an empty trusted provisioner', 'trustedProvisioners: [""]', ['trustedProvisioners[0] must not be empty']],
      ['an invalid sandboxUserAnnotation', 'sandboxUserAnnotation: "sandbox user"', [
        'sandboxUserAnnotation must be a valid annotation key such as mountgate.io/sandbox-user',
      ]],
    ];
    for (const [name, text, problems] of invalid) {
      it(`refuses ${name}, naming the field`, () => expect(problemsOf(text)).to.deep.equal(problems));
    }
  });

  describe('filling the placeholders', () => {
    const policy = compiled([], TRUSTED);
    const rows: Array<[string, Partial<RequestFacts>, Fillings]> = [
      ['from the request and a trusted provisioner (by name)', { requester: { username: 'provisioner' }, sandboxUser: 'u3' }, {
        namespace: { ok: true, value: 'team-a' },
        user: { ok: true, value: 'provisioner' },
        sandboxUser: { ok: true, value: 'u3' },
      }],
      ['a trusted provisioner by group', { requester: { username: 'carol', groups: ['deer-flow-provisioners'] }, sandboxUser: 'U_3-x' }, {
        namespace: { ok: true, value: 'team-a' },
        user: { ok: true, value: 'carol' },
        sandboxUser: { ok: true, value: 'U_3-x' },
      }],
      ['an untrusted requester: the annotation is ignored', { requester: { username: 'bob', groups: ['other'] }, sandboxUser: 'u3' }, {
        namespace: { ok: true, value: 'team-a' },
        user: { ok: true, value: 'bob' },
        sandboxUser: { ok: false, why: 'user "bob" is not in trustedProvisioners' },
      }],
      ['an anonymous request', { namespace: undefined, requester: undefined, sandboxUser: 'u3' }, {
        namespace: { ok: false, why: 'the request has no namespace' },
        user: { ok: false, why: 'the request has no username' },
        sandboxUser: { ok: false, why: 'an anonymous user is not in trustedProvisioners' },
      }],
      ['a service account (":" is not allowed) and no annotation', { requester: { username: 'system:serviceaccount:df:sa', groups: ['deer-flow-provisioners'] } }, {
        namespace: { ok: true, value: 'team-a' },
        user: { ok: false, why: 'the username "system:serviceaccount:df:sa" is not a valid value (letters, digits, "_" and "-", 1 to 64 characters)' },
        sandboxUser: { ok: false, why: 'the Pod has no mountgate.io/sandbox-user annotation' },
      }],
      ['an untrusted username with a quote and a line break is shown as JSON', { requester: { username: 'CN="x"\nO=y' } }, {
        namespace: { ok: true, value: 'team-a' },
        user: { ok: false, why: 'the username "CN=\\"x\\"\\nO=y" is not a valid value (letters, digits, "_" and "-", 1 to 64 characters)' },
        sandboxUser: { ok: false, why: 'user "CN=\\"x\\"\\nO=y" is not in trustedProvisioners' },
      }],
      ['an untrusted username longer than 80 characters is cut', { requester: { username: 'u'.repeat(300) } }, {
        namespace: { ok: true, value: 'team-a' },
        user: { ok: false, why: `the username "${'u'.repeat(80)}"... is not a valid value (letters, digits, "_" and "-", 1 to 64 characters)` },
        sandboxUser: { ok: false, why: `user "${'u'.repeat(80)}"... is not in trustedProvisioners` },
      }],
      ['an empty username is no username, and an empty namespace is not a valid one', { namespace: '', requester: { username: '' } }, {
        namespace: { ok: false, why: 'the namespace "" is not a valid value (letters, digits, "_" and "-", 1 to 64 characters)' },
        user: { ok: false, why: 'the request has no username' },
        sandboxUser: { ok: false, why: 'an anonymous user is not in trustedProvisioners' },
      }],
    ];
    for (const [name, facts, expected] of rows) {
      it(name, () => expect(fillingsFor(policy, facts)).to.deep.equal(expected));
    }

    for (const value of ['', '.', '..', '../u3', 'u3/x', 'u 3', 'u3\n', 'ü', 'a'.repeat(65), '%2e%2e', '*', '{user}']) {
      it(`never fills with ${JSON.stringify(value.length > 10 ? `${value.slice(0, 10)}...` : value)}`, () => {
        const fillings = fillingsFor(policy, { requester: { username: 'provisioner' }, sandboxUser: value });
        expect(fillings.sandboxUser.ok).to.equal(false);
      });
    }

    it('cuts a long value short in the reason', () => {
      const fillings = fillingsFor(policy, { requester: { username: 'provisioner' }, sandboxUser: `${'x'.repeat(100)}.` });
      expect(fillings.sandboxUser).to.deep.equal({
        ok: false,
        why: `the mountgate.io/sandbox-user annotation "${'x'.repeat(80)}"... is not a valid value (letters, digits, "_" and "-", 1 to 64 characters)`,
      });
    });

    it('quotes a value of exactly 80 characters whole', () => {
      const fillings = fillingsFor(policy, { requester: { username: 'provisioner' }, sandboxUser: 'x'.repeat(80) });
      expect(fillings.sandboxUser).to.deep.equal({
        ok: false,
        why: `the mountgate.io/sandbox-user annotation "${'x'.repeat(80)}" is not a valid value (letters, digits, "_" and "-", 1 to 64 characters)`,
      });
    });

    it('fills with exactly 64 characters', () => {
      expect(fillingsFor(policy, { requester: { username: 'provisioner' }, sandboxUser: 'a'.repeat(64) }).sandboxUser).to.deep.equal({ ok: true, value: 'a'.repeat(64) });
    });
  });

  describe('the deciding entry', () => {
    // [why, entries, path, facts, the deciding entry]
    const rows: Array<[string, Array<{ pathPrefix: string; readOnly?: boolean }>, string, Partial<RequestFacts>, string | undefined]> = [
      ['"*" matches any one segment', [{ pathPrefix: '/u/*/skills' }], '/u/u3/skills/x', {}, '/u/*/skills'],
      ['"*" does not match a missing segment', [{ pathPrefix: '/u/*/skills' }], '/u/u3', {}, undefined],
      ['"*" does not match a missing last segment: the parent is not covered', [{ pathPrefix: '/u/*' }], '/u', {}, undefined],
      ['"*" is a whole segment, not a character', [{ pathPrefix: '/u/*/skills' }], '/u/a/b/skills', {}, undefined],
      ['a placeholder is compared whole', [{ pathPrefix: '/t/{namespace}' }], '/t/team-a2', {}, undefined],
      ['{namespace} fills from the request', [{ pathPrefix: '/t/{namespace}' }], '/t/team-a/data', {}, '/t/{namespace}'],
      ['{namespace} of another team does not apply', [{ pathPrefix: '/t/{namespace}' }], '/t/team-b/data', {}, undefined],
      ['{user} fills from the username', [{ pathPrefix: '/home/{user}' }], '/home/alice', {}, '/home/{user}'],
      ['{sandboxUser} from a trusted provisioner', [{ pathPrefix: '/u/{sandboxUser}' }], '/u/u3/x', { requester: { username: 'provisioner' }, sandboxUser: 'u3' }, '/u/{sandboxUser}'],
      ['{sandboxUser} from anyone else does not apply', [{ pathPrefix: '/u/{sandboxUser}' }], '/u/u3/x', { sandboxUser: 'u3' }, undefined],
      ['most segments first: a pattern beats a shorter literal', [{ pathPrefix: '/u', readOnly: true }, { pathPrefix: '/u/*' }], '/u/x/y', {}, '/u/*'],
      ['most segments first: a literal beats a shorter pattern', [{ pathPrefix: '/u/*' }, { pathPrefix: '/u/x/y', readOnly: true }], '/u/x/y/z', {}, '/u/x/y (ro)'],
      ['on a tie a literal beats "*"', [{ pathPrefix: '/u/*', readOnly: true }, { pathPrefix: '/u/x' }], '/u/x/y', {}, '/u/x'],
      ['on a tie a literal beats a placeholder', [{ pathPrefix: '/t/{namespace}', readOnly: true }, { pathPrefix: '/t/team-a' }], '/t/team-a', {}, '/t/team-a'],
      ['the first differing position decides', [{ pathPrefix: '/u/*/x' }, { pathPrefix: '/u/a/*', readOnly: true }], '/u/a/x', {}, '/u/a/* (ro)'],
      ['...whichever order the file has', [{ pathPrefix: '/u/a/*', readOnly: true }, { pathPrefix: '/u/*/x' }], '/u/a/x', {}, '/u/a/* (ro)'],
      ['"*" and a placeholder rank alike: read-only wins', [{ pathPrefix: '/t/{namespace}' }, { pathPrefix: '/t/*', readOnly: true }], '/t/team-a', {}, '/t/* (ro)'],
      ['...and the other way round', [{ pathPrefix: '/t/*' }, { pathPrefix: '/t/{namespace}', readOnly: true }], '/t/team-a', {}, '/t/{namespace} (ro)'],
      ['the same pattern twice: read-only wins', [{ pathPrefix: '/u/*' }, { pathPrefix: '/u/*', readOnly: true }], '/u/a', {}, '/u/* (ro)'],
      ['an entry that does not apply leaves the next one', [{ pathPrefix: '/u/{sandboxUser}' }, { pathPrefix: '/u', readOnly: true }], '/u/u3', { sandboxUser: 'u3' }, '/u (ro)'],
      ['literal prefixes still cover by whole segments', [{ pathPrefix: '/u/*' }, { pathPrefix: '/srv/sandbox' }], '/srv/sandbox2', {}, undefined],
    ];
    for (const [why, entries, path, facts, expected] of rows) {
      it(`${why}: ${path} -> ${expected ?? 'none'}`, () => expect(decides(compiled(entries, TRUSTED), path, facts)).to.equal(expected));
    }
  });

  describe('why no entry applies', () => {
    const policy = compiled([{ pathPrefix: '/t/{namespace}/data' }, { pathPrefix: '/u/{sandboxUser}' }, { pathPrefix: '/s/*' }, { pathPrefix: '/p/{namespace}/{user}' }], TRUSTED);
    const rows: Array<[string, Partial<RequestFacts>, string]> = [
      ['/t/team-b/data/x', {}, ' ("/t/{namespace}/data" has {namespace} = "team-a" for this request)'],
      ['/t/team-b/other', {}, ''],
      ['/u/u3', { sandboxUser: 'u3' }, ' ("/u/{sandboxUser}" does not apply: {sandboxUser} is not filled, as user "alice" is not in trustedProvisioners)'],
      ['/u/u3', { requester: { username: 'provisioner' } }, ' ("/u/{sandboxUser}" does not apply: {sandboxUser} is not filled, as the Pod has no mountgate.io/sandbox-user annotation)'],
      ['/elsewhere', {}, ''],
      ['/p/team-a/bob', {}, ' ("/p/{namespace}/{user}" has {user} = "alice" for this request)'],
    ];
    for (const [path, facts, note] of rows) {
      it(`${path}: ${JSON.stringify(note)}`, () => expect(notCoveredNote(policy.requestablePatterns, path, fillingsFor(policy, facts))).to.equal(note));
    }
  });
});

describe('examples/deer-flow-per-user-policy.yaml', () => {
  it('loads, with the per-user entries as patterns in deciding order', async () => {
    const { policy } = await loadPolicyFile('examples/deer-flow-per-user-policy.yaml');
    expect(policy.requestable.map((entry) => entry.pathPrefix)).to.deep.equal(['/srv/datasets', '/srv/models']);
    expect(policy.carriablePatterns.map((entry) => `${entry.pathPrefix}${entry.readOnly ? ' (ro)' : ''}`)).to.deep.equal([
      '/.deer-flow/users/*/integrations/lark-cli/config/locks',
      // Six segments each: literal where acp-workspace's entry has "*" (fifth), then read-only first.
      '/.deer-flow/users/*/integrations/lark-cli/config (ro)',
      '/.deer-flow/users/*/integrations/lark-cli/data',
      '/.deer-flow/users/*/threads/*/acp-workspace (ro)',
      '/.deer-flow/users/*/skills_view (ro)',
      '/srv/users/{sandboxUser}',
    ]);
    expect([...policy.trustedProvisioners]).to.deep.equal(['system:serviceaccount:deer-flow:deer-flow-deer-flow-provisioner']);
  });

  it('keeps the read-only-ness deer-flow gives each directory under a user', async () => {
    const { policy } = await loadPolicyFile('examples/deer-flow-per-user-policy.yaml');
    const decided = (path: string): string | undefined => {
      const entry = decidingHostPathEntry(policy.carriable, policy.carriablePatterns, path, fillingsFor(policy));
      return entry === undefined ? undefined : `${entry.pathPrefix}${entry.readOnly ? ' (ro)' : ''}`;
    };
    expect(decided('/.deer-flow/users/u3/skills_view/custom')).to.equal('/.deer-flow/users/*/skills_view (ro)');
    expect(decided('/.deer-flow/users/u3/threads/t1/acp-workspace')).to.equal('/.deer-flow/users/*/threads/*/acp-workspace (ro)');
    expect(decided('/.deer-flow/users/u3/integrations/lark-cli/config')).to.equal('/.deer-flow/users/*/integrations/lark-cli/config (ro)');
    expect(decided('/.deer-flow/users/u3/integrations/lark-cli/config/locks')).to.equal('/.deer-flow/users/*/integrations/lark-cli/config/locks');
    expect(decided('/.deer-flow/users/u3/integrations/lark-cli/data')).to.equal('/.deer-flow/users/*/integrations/lark-cli/data');
    expect(decided('/.deer-flow/users/u3')).to.equal(undefined);
    expect(decided('/.deer-flow/users/u3/threads/t1/other')).to.equal(undefined);
  });
});
